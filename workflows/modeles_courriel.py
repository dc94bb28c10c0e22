"""Mail templates edited by Administrateurs (issue #7 item 6): save a draft, publish it,
discard it, restore an older version. Each operation checks the template
(``mailer.modeles.verifier``), writes its journal row (object ``modele_courriel``, id the
template's key) and commits once; a publication is then visible to this process at once and
to every other within ``FORMS_REFRESH_SECONDS``.

Published versions are never updated: publishing inserts a new row (number: the highest so
far + 1) from the draft, which is deleted; restoring inserts a copy of an older version under
a new number. A mail queued before a publication keeps the version it was queued with.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from database import begin_write
from extensions import db
from mailer import modeles
from mailer.catalogue import TEMPLATES
from models.modeles_courriel import EtatModele, ModeleCourrielVersion
from models.types import utcnow
from workflows.journal import Acteur, journaliser

OBJET = "modele_courriel"
ModeleInvalide = modeles.ModeleInvalide


class OperationImpossible(ValueError):
    """The operation does not apply (no draft, unknown version...); the message is French."""


def _connu(modele: str) -> None:
    if modele not in TEMPLATES:
        raise OperationImpossible(f"Le courriel « {modele} » n'existe pas.")


def brouillon(modele: str) -> ModeleCourrielVersion | None:
    return db.session.scalar(
        select(ModeleCourrielVersion).where(
            ModeleCourrielVersion.modele == modele,
            ModeleCourrielVersion.etat == EtatModele.BROUILLON,
        )
    )


def publiees(modele: str) -> list[ModeleCourrielVersion]:
    """The published versions of ``modele``, newest first (the first one is current)."""
    return list(
        db.session.scalars(
            select(ModeleCourrielVersion)
            .where(
                ModeleCourrielVersion.modele == modele,
                ModeleCourrielVersion.etat == EtatModele.PUBLIEE,
            )
            .order_by(ModeleCourrielVersion.version.desc())
        )
    )


def publiee(modele: str, version: int) -> ModeleCourrielVersion | None:
    return db.session.scalar(
        select(ModeleCourrielVersion).where(
            ModeleCourrielVersion.modele == modele,
            ModeleCourrielVersion.version == version,
            ModeleCourrielVersion.etat == EtatModele.PUBLIEE,
        )
    )


def contenu_a_editer(modele: str) -> tuple[str, str, str]:
    """(subject, body, origin) the editor starts from: the draft, else the current published
    version, else the shipped files."""
    _connu(modele)
    courant = brouillon(modele)
    if courant is not None:
        return courant.sujet, courant.corps, "brouillon"
    versions = publiees(modele)
    if versions:
        return versions[0].sujet, versions[0].corps, f"version {versions[0].version}"
    sujet, corps = modeles.defaut(modele)
    return sujet, corps, "fichiers"


def enregistrer_brouillon(
    modele: str, sujet: str, corps: str, acteur: Acteur
) -> ModeleCourrielVersion:
    """Create or update the draft of ``modele``.

    :raise ModeleInvalide: the subject or the body is refused (nothing is saved).
    """
    _connu(modele)
    sujet = sujet.strip()
    corps = corps.replace("\r\n", "\n").strip("\n")
    modeles.verifier(modele, sujet, corps)
    begin_write()
    courant = brouillon(modele)
    creation = courant is None
    if creation:
        courant = ModeleCourrielVersion(
            modele=modele, etat=EtatModele.BROUILLON, created_by=acteur.label
        )
        db.session.add(courant)
    courant.sujet, courant.corps = sujet, corps
    journaliser(
        acteur,
        "enregistrer_brouillon_courriel",
        OBJET,
        modele,
        state_from=None if creation else EtatModele.BROUILLON.value,
        state_to=EtatModele.BROUILLON.value,
    )
    try:
        db.session.commit()
    except IntegrityError:  # another administrator created the draft at the same moment
        db.session.rollback()
        raise OperationImpossible(
            "Un autre administrateur vient de créer un brouillon de ce courriel : "
            "rechargez la page."
        ) from None
    return courant


def _numero_suivant(modele: str) -> int:
    plus_haut = db.session.scalar(
        select(func.max(ModeleCourrielVersion.version)).where(
            ModeleCourrielVersion.modele == modele
        )
    )
    return (plus_haut or 0) + 1


def _inserer_publiee(
    modele: str, sujet: str, corps: str, auteur: str | None, acteur: Acteur, restauree_de=None
) -> ModeleCourrielVersion:
    maintenant = utcnow()
    version = ModeleCourrielVersion(
        modele=modele,
        version=_numero_suivant(modele),
        etat=EtatModele.PUBLIEE,
        sujet=sujet,
        corps=corps,
        restauree_de=restauree_de,
        created_by=auteur,
        published_at=maintenant,
        published_by=acteur.label,
    )
    db.session.add(version)
    return version


def _valider(version: ModeleCourrielVersion) -> ModeleCourrielVersion:
    try:
        db.session.commit()
    except IntegrityError:  # two publications of the same template at the same moment
        db.session.rollback()
        raise OperationImpossible(
            "Une autre publication de ce courriel vient d'avoir lieu : rechargez la page."
        ) from None
    modeles.publications().invalider()
    return version


def publier_brouillon(modele: str, acteur: Acteur) -> ModeleCourrielVersion:
    """Publish the draft of ``modele`` as its new current version (mails queued from now on).

    :raise OperationImpossible: no draft. :raise ModeleInvalide: the draft no longer passes
    the check (the placeholders of the mail changed since it was saved).
    """
    _connu(modele)
    begin_write()
    courant = brouillon(modele)
    if courant is None:
        db.session.rollback()
        raise OperationImpossible("Ce courriel n'a pas de brouillon à publier.")
    try:
        modeles.verifier(modele, courant.sujet, courant.corps)
    except ModeleInvalide:
        db.session.rollback()
        raise
    version = _inserer_publiee(modele, courant.sujet, courant.corps, courant.created_by, acteur)
    db.session.delete(courant)
    db.session.flush()  # the draft's row goes before the new one is counted
    journaliser(
        acteur,
        "publier_modele_courriel",
        OBJET,
        modele,
        state_from=EtatModele.BROUILLON.value,
        state_to=EtatModele.PUBLIEE.value,
        details={"version": version.version},
    )
    return _valider(version)


def abandonner_brouillon(modele: str, acteur: Acteur) -> None:
    """Delete the draft of ``modele``. :raise OperationImpossible: no draft."""
    _connu(modele)
    begin_write()
    courant = brouillon(modele)
    if courant is None:
        db.session.rollback()
        raise OperationImpossible("Ce courriel n'a pas de brouillon à abandonner.")
    db.session.delete(courant)
    journaliser(
        acteur,
        "abandonner_brouillon_courriel",
        OBJET,
        modele,
        state_from=EtatModele.BROUILLON.value,
        state_to=None,
    )
    db.session.commit()


def restaurer_version(modele: str, numero: int, acteur: Acteur) -> ModeleCourrielVersion:
    """Publish a copy of the published version ``numero`` as the new current version.

    :raise OperationImpossible: no such version, or it is already the current one.
    """
    _connu(modele)
    begin_write()
    ancienne = publiee(modele, numero)
    if ancienne is None:
        db.session.rollback()
        raise OperationImpossible(f"La version {numero} de ce courriel n'existe pas.")
    versions = publiees(modele)
    if versions[0].id == ancienne.id:
        db.session.rollback()
        raise OperationImpossible(f"La version {numero} est déjà la version en vigueur.")
    try:
        modeles.verifier(modele, ancienne.sujet, ancienne.corps)
    except ModeleInvalide:
        db.session.rollback()
        raise
    version = _inserer_publiee(
        modele, ancienne.sujet, ancienne.corps, ancienne.created_by, acteur, restauree_de=numero
    )
    db.session.flush()
    journaliser(
        acteur,
        "restaurer_modele_courriel",
        OBJET,
        modele,
        state_from=EtatModele.PUBLIEE.value,
        state_to=EtatModele.PUBLIEE.value,
        details={"version": version.version, "restauree_de": numero},
    )
    return _valider(version)
