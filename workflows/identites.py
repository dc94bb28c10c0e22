"""Operations on identities: choosing a password through a single-use link."""

from __future__ import annotations

from sqlalchemy import select, update

from extensions import db
from identites import motdepasse
from models.comptes import JetonMotDePasse, Utilisateur
from models.types import utcnow
from workflows.journal import Acteur, journaliser


class LienInvalide(Exception):
    """The link is unknown, already used or expired (one message for all: no oracle)."""

    def __init__(self):
        super().__init__(
            "Ce lien n'est plus valide : il a déjà servi ou a expiré. Utilisez « J'ai oublié mon "
            "mot de passe » pour en recevoir un nouveau."
        )


class MotDePasseRefuse(ValueError):
    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__(" ".join(messages))


def jeton_valide(token: str) -> JetonMotDePasse:
    """:raise LienInvalide: unknown, used or expired."""
    jeton = db.session.scalar(
        select(JetonMotDePasse).where(
            JetonMotDePasse.digest == motdepasse.token_digest(token or "")
        )
    )
    if jeton is None or jeton.used_at is not None or jeton.expires_at <= utcnow():
        raise LienInvalide()
    return jeton


def choisir_mot_de_passe(token: str, mot_de_passe: str) -> Utilisateur:
    """Set the identity's password from a link; the link then stops working, and so do the
    other links of that identity.

    :raise LienInvalide: :raise MotDePasseRefuse: with the French reasons.
    """
    jeton = jeton_valide(token)
    utilisateur = db.session.get(Utilisateur, jeton.utilisateur_id)
    problems = motdepasse.check_password(
        mot_de_passe,
        identifiant=utilisateur.identifiant,
        courriel=utilisateur.courriel,
        nom=utilisateur.nom,
        prenom=utilisateur.prenom,
    )
    if problems:
        raise MotDePasseRefuse(problems)
    now = utcnow()
    used = db.session.execute(
        update(JetonMotDePasse)
        .where(JetonMotDePasse.id == jeton.id, JetonMotDePasse.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:  # the same link posted twice at once: only the first counts
        db.session.rollback()
        raise LienInvalide()
    db.session.execute(
        update(JetonMotDePasse)
        .where(JetonMotDePasse.utilisateur_id == utilisateur.id, JetonMotDePasse.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    utilisateur.password_hash = motdepasse.hash_secret(mot_de_passe)
    journaliser(
        Acteur("usager", utilisateur.identifiant),
        "choisir_mot_de_passe",
        "utilisateur",
        utilisateur.id,
        details={"par": "lien à usage unique"},
    )
    db.session.commit()
    return utilisateur
