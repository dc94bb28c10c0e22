"""Signing in and out. Every refusal looks the same: no account enumeration."""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import select

from extensions import db
from identites import motdepasse
from models.comptes import Utilisateur

log = logging.getLogger(__name__)
REFUS = "Identifiant ou mot de passe incorrect."


def connecter(identifiant: str, mot_de_passe: str) -> Utilisateur | None:
    """The identity when the pair is right, else None (unknown, wrong, inactive or no password
    chosen yet: the caller cannot tell which, and the time taken is the same)."""
    identifiant = (identifiant or "").strip().lower()
    utilisateur = db.session.scalar(
        select(Utilisateur).where(Utilisateur.identifiant == identifiant)
    )
    stored = utilisateur.password_hash if utilisateur is not None else None
    ok, new_hash = motdepasse.verify_secret(stored, mot_de_passe or "")
    if not ok or not utilisateur.actif:
        return None
    if new_hash:  # parameters were raised since this hash was made
        utilisateur.password_hash = new_hash
    if not utilisateur.jeton_session:
        utilisateur.jeton_session = secrets.token_hex(16)
    db.session.commit()
    return utilisateur


def deconnecter(utilisateur: Utilisateur) -> None:
    """End every session of the identity: the token in their cookies no longer matches."""
    utilisateur.jeton_session = secrets.token_hex(16)
    db.session.commit()


def charger(session_id: str) -> Utilisateur | None:
    """Flask-Login's user loader: ``<id>:<jeton_session>``."""
    user_id, _, jeton = (session_id or "").partition(":")
    if not user_id.isdigit() or not jeton:
        return None
    utilisateur = db.session.get(Utilisateur, int(user_id))
    if utilisateur is None or not utilisateur.actif:
        return None
    if not secrets.compare_digest(utilisateur.jeton_session or "", jeton):
        return None
    return utilisateur
