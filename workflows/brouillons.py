"""Drafts of the forms in steps: saved at each page, resumed, filed, purged when expired.

A draft belongs either to a signed-in identity (found again from the form's page) or to
nobody (anonymous: resumed with its private link, whose token is stored hashed). Every save
pushes its expiry ``BROUILLONS_EXPIRATION_JOURS`` days ahead; ``purger_brouillons_expires``
(``flask formulaires purger-brouillons``, e.g. daily from cron) deletes the expired ones and
writes one journal row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from extensions import db
from forms import etapes
from forms.registry import FormDefinition
from models.brouillon import BrouillonFormulaire, empreinte, nouveau_jeton
from models.submission import Submission
from models.types import utcnow
from workflows.formulaires import deposer_soumission
from workflows.journal import SYSTEME, journaliser


def _expiration(now: datetime | None = None) -> datetime:
    days = current_app.config["BROUILLONS_EXPIRATION_JOURS"]
    return (now or utcnow()) + timedelta(days=days)


def creer_brouillon(
    definition: FormDefinition, data: dict, etape: int, utilisateur_id: int | None
) -> tuple[BrouillonFormulaire, str]:
    """A new draft and its private link token (shown once, never stored in clear); commit."""
    jeton = nouveau_jeton()
    brouillon = BrouillonFormulaire(
        form_id=definition.id,
        form_version=definition.version,
        data=data,
        etape=etape,
        utilisateur_id=utilisateur_id,
        jeton_hash=empreinte(jeton),
        expires_at=_expiration(),
    )
    db.session.add(brouillon)
    db.session.commit()
    return brouillon, jeton


def enregistrer_brouillon(brouillon: BrouillonFormulaire, data: dict, etape: int) -> None:
    """Keep the answers and the furthest page reached; push the expiry ahead; commit."""
    brouillon.data = data
    brouillon.etape = etape
    brouillon.updated_at = utcnow()
    brouillon.expires_at = _expiration()
    db.session.commit()


def brouillon_de(form_id: str, utilisateur_id: int) -> BrouillonFormulaire | None:
    """The signed-in identity's live draft of a form (the latest one)."""
    return db.session.scalar(
        select(BrouillonFormulaire)
        .where(
            BrouillonFormulaire.form_id == form_id,
            BrouillonFormulaire.utilisateur_id == utilisateur_id,
            BrouillonFormulaire.expires_at > utcnow(),
        )
        .order_by(BrouillonFormulaire.updated_at.desc())
        .limit(1)
    )


def brouillon_anonyme(form_id: str, brouillon_id) -> BrouillonFormulaire | None:
    """An anonymous live draft by id (the id comes from the signed session only)."""
    brouillon = db.session.get(BrouillonFormulaire, brouillon_id) if brouillon_id else None
    if (
        brouillon is None
        or brouillon.form_id != form_id
        or brouillon.utilisateur_id is not None
        or brouillon.expires_at <= utcnow()
    ):
        return None
    return brouillon


def brouillon_par_jeton(form_id: str, jeton: str) -> BrouillonFormulaire | None:
    """The live draft a private link designates, or None."""
    if not jeton or len(jeton) > 100:
        return None
    return db.session.scalar(
        select(BrouillonFormulaire).where(
            BrouillonFormulaire.jeton_hash == empreinte(jeton),
            BrouillonFormulaire.form_id == form_id,
            BrouillonFormulaire.expires_at > utcnow(),
        )
    )


def rattacher(brouillon: BrouillonFormulaire, utilisateur_id: int) -> None:
    """An anonymous draft resumed by a signed-in identity becomes theirs; commit."""
    brouillon.utilisateur_id = utilisateur_id
    db.session.commit()


def mettre_a_jour_version(definition: FormDefinition, brouillon: BrouillonFormulaire) -> int | None:
    """Re-check a draft saved under an older version against the published one; commit.

    The answers to questions the new version no longer asks are dropped. Returns the page to
    resume at (the first one with errors, else the furthest reached), or None when the draft
    was already up to date.
    """
    if brouillon.form_version == definition.version:
        return None
    data = etapes.conformer(definition, brouillon.data or {})
    nombre = len(etapes.etapes(definition))
    atteinte = max(min(brouillon.etape, nombre + 1), 1)
    premiere = etapes.premiere_etape_en_erreur(definition, data)
    if premiere is not None and premiere < atteinte:
        reprise = premiere
    else:
        reprise = atteinte
    brouillon.form_version = definition.version
    enregistrer_brouillon(brouillon, data, atteinte)
    return reprise


def supprimer_brouillon(brouillon: BrouillonFormulaire) -> None:
    db.session.delete(brouillon)
    db.session.commit()


def deposer_brouillon(
    definition: FormDefinition, brouillon: BrouillonFormulaire, document: dict
) -> Submission:
    """File the checked document and delete its draft, in one transaction."""
    db.session.delete(brouillon)
    return deposer_soumission(definition, document)  # commits the deletion with the filing


def purger_brouillons_expires(now: datetime | None = None) -> int:
    """Delete every expired draft; one journal row with the count; commit."""
    now = now or utcnow()
    result = db.session.execute(
        delete(BrouillonFormulaire).where(BrouillonFormulaire.expires_at <= now)
    )
    count = result.rowcount or 0
    if count:
        journaliser(
            SYSTEME,
            "purger_brouillons",
            "brouillon_formulaire",
            "*",
            details={"supprimes": count, "avant": now.isoformat()},
        )
    db.session.commit()
    return count
