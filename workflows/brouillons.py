"""Drafts of the forms in steps: saved at each page, resumed, filed, purged when expired.

A draft belongs either to a signed-in identity (found again from the form's page) or to
nobody (anonymous: resumed with its private link, whose token is stored hashed). Every save
pushes its expiry ``BROUILLONS_EXPIRATION_JOURS`` days ahead; ``purger_brouillons_expires``
(``flask formulaires purger-brouillons``, e.g. daily from cron) deletes the expired ones and
writes one journal row.

Every operation that writes calls ``begin_write()`` first (on SQLite it takes the write lock
at BEGIN: a read transaction that writes after another connection committed would fail).

An anonymous draft becomes a signed-in identity's only at her explicit request
(``rattacher``, behind a confirmation page): a link alone never moves a draft into an
account, nor replaces the draft she already has.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, inspect, select

from database import begin_write
from extensions import db
from forms import etapes
from forms.registry import FormDefinition
from mailer import outbox
from models.audit import AuditEvent
from models.brouillon import BrouillonFormulaire, empreinte, nouveau_jeton
from models.submission import Submission
from models.types import utcnow
from workflows.formulaires import adresse_accuse, ajouter_soumission
from workflows.journal import SYSTEME, Acteur, journaliser

OBJECT_TYPE = "brouillon_formulaire"


class BrouillonIndisponible(Exception):
    """The draft is no longer there (filed, deleted, expired) or no longer anonymous."""


class BrouillonDejaDepose(BrouillonIndisponible):
    """The draft was filed meanwhile (another request got there first): nothing is filed."""


class ChoixPerime(Exception):
    """The identity's drafts changed since she was shown the choice: nothing is changed."""


def _expiration(now: datetime | None = None) -> datetime:
    days = current_app.config["BROUILLONS_EXPIRATION_JOURS"]
    return (now or utcnow()) + timedelta(days=days)


def creer_brouillon(
    definition: FormDefinition, data: dict, etape: int, utilisateur_id: int | None
) -> tuple[BrouillonFormulaire, str]:
    """A new draft and its private link token (shown once, never stored in clear); commit."""
    begin_write()
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


def _recharger(brouillon: BrouillonFormulaire) -> BrouillonFormulaire:
    """The draft as it is now, in the write transaction just begun.

    :raise BrouillonIndisponible: deleted meanwhile (filed or started again in another tab).
    """
    identite = inspect(brouillon).identity
    actuel = (
        db.session.get(BrouillonFormulaire, identite[0], populate_existing=True)
        if identite
        else None
    )
    if actuel is None:
        db.session.rollback()
        raise BrouillonIndisponible()
    return actuel


def _enregistrer(brouillon: BrouillonFormulaire, data: dict, etape: int) -> None:
    brouillon.data = data
    brouillon.etape = etape
    brouillon.updated_at = utcnow()
    brouillon.expires_at = _expiration()


def enregistrer_brouillon(brouillon: BrouillonFormulaire, data: dict, etape: int) -> None:
    """Keep the answers and the furthest page reached; push the expiry ahead; commit.

    :raise BrouillonIndisponible: the draft was deleted meanwhile.
    """
    begin_write()
    brouillon = _recharger(brouillon)
    _enregistrer(brouillon, data, etape)
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


def rattacher(
    brouillon_id: int, utilisateur_id: int, remplace_id: int | None, acteur: Acteur
) -> BrouillonFormulaire:
    """At the identity's explicit request, her anonymous draft becomes hers; journaled; commit.

    ``remplace_id`` is the draft of the same form she had when she chose (None if she had
    none): it is deleted in the same transaction. If her drafts are no longer those she was
    shown, nothing changes.

    :raise BrouillonIndisponible: the draft is gone, expired or no longer anonymous.
    :raise ChoixPerime: her drafts of this form changed since she was shown the choice.
    """
    begin_write()
    brouillon = db.session.scalar(
        select(BrouillonFormulaire)
        .where(BrouillonFormulaire.id == brouillon_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if (
        brouillon is None
        or brouillon.utilisateur_id is not None
        or brouillon.expires_at <= utcnow()
    ):
        db.session.rollback()
        raise BrouillonIndisponible()
    siens = set(
        db.session.scalars(
            select(BrouillonFormulaire.id).where(
                BrouillonFormulaire.form_id == brouillon.form_id,
                BrouillonFormulaire.utilisateur_id == utilisateur_id,
                BrouillonFormulaire.expires_at > utcnow(),
            )
        )
    )
    if siens != ({remplace_id} if remplace_id is not None else set()):
        db.session.rollback()
        raise ChoixPerime()
    if remplace_id is not None:
        db.session.execute(
            delete(BrouillonFormulaire).where(
                BrouillonFormulaire.id == remplace_id,
                BrouillonFormulaire.utilisateur_id == utilisateur_id,
            )
        )
    brouillon.utilisateur_id = utilisateur_id
    journaliser(
        acteur,
        "rattacher_brouillon",
        OBJECT_TYPE,
        brouillon.id,
        details={"form_id": brouillon.form_id, "remplace": remplace_id},
    )
    db.session.commit()
    return brouillon


def mettre_a_jour_version(definition: FormDefinition, brouillon: BrouillonFormulaire) -> int | None:
    """Re-check a draft saved under an older version against the published one; commit.

    The answers to questions the new version no longer asks are dropped. Returns the page to
    resume at (the first one with errors, else the furthest reached), or None when the draft
    was already up to date.
    """
    if brouillon.form_version == definition.version:
        return None
    begin_write()
    brouillon = _recharger(brouillon)
    if brouillon.form_version == definition.version:
        db.session.commit()  # another request re-checked it meanwhile
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
    _enregistrer(brouillon, data, atteinte)
    db.session.commit()
    return reprise


def supprimer_brouillon(brouillon_id: int) -> None:
    """« Recommencer »: delete the draft (if still there); commit."""
    begin_write()
    db.session.execute(delete(BrouillonFormulaire).where(BrouillonFormulaire.id == brouillon_id))
    db.session.commit()


def deposer_brouillon(definition: FormDefinition, brouillon_id: int, document: dict) -> Submission:
    """File the checked document and delete its draft, in one transaction; journaled.

    The deletion decides: of two requests filing one draft, only the one that deletes it
    files anything (the other waits for the first to commit, then finds nothing to delete).

    :raise BrouillonDejaDepose: the draft is no longer there; nothing is filed.
    """
    begin_write()
    supprimes = db.session.execute(
        delete(BrouillonFormulaire).where(BrouillonFormulaire.id == brouillon_id)
    ).rowcount
    if supprimes != 1:
        db.session.rollback()
        raise BrouillonDejaDepose()
    submission = ajouter_soumission(definition, document)
    journaliser(
        Acteur("usager", adresse_accuse(definition, document)),
        "deposer_brouillon",
        OBJECT_TYPE,
        brouillon_id,
        details={"form_id": definition.id, "reference": submission.reference},
    )
    outbox.commit()  # the filing, the deletion and their journal rows; then the mail
    return submission


def brouillon_depose(brouillon_id: int) -> bool:
    """Whether this draft was filed (its ``deposer_brouillon`` journal row exists)."""
    return (
        db.session.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.object_type == OBJECT_TYPE,
                AuditEvent.object_id == str(brouillon_id),
                AuditEvent.operation == "deposer_brouillon",
            )
            .limit(1)
        )
        is not None
    )


def purger_brouillons_expires(now: datetime | None = None) -> int:
    """Delete every expired draft; one journal row with the count; commit."""
    now = now or utcnow()
    begin_write()
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
