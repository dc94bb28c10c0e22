"""A draft of a form in steps: the answers given so far, resumable until it expires.

A signed-in user finds their draft again from the form's page; an anonymous one resumes it
with a private link. Only the SHA-256 of the link's token is stored: the link is shown once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import JsonDocument, UtcDateTime, utcnow


def nouveau_jeton() -> str:
    """A private link token: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def empreinte(jeton: str) -> str:
    return hashlib.sha256(jeton.encode("utf-8")).hexdigest()


class BrouillonFormulaire(db.Model):
    __tablename__ = "brouillon_formulaire"
    __table_args__ = (
        Index("ix_brouillon_formulaire_utilisateur_form", "utilisateur_id", "form_id"),
        Index("ix_brouillon_formulaire_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(String(100))
    # The version the answers were last checked against; a newer one re-checks them.
    form_version: Mapped[int]
    data: Mapped[dict] = mapped_column(JsonDocument, default=dict)
    # The furthest page reached (the number of pages + 1 once « Vérifiez vos réponses »).
    etape: Mapped[int] = mapped_column(default=1)
    # The signed-in identity that owns it; None for an anonymous draft (private link only).
    utilisateur_id: Mapped[int | None] = mapped_column(
        ForeignKey("utilisateur.id", ondelete="CASCADE")
    )
    jeton_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:
        return f"<BrouillonFormulaire {self.id} {self.form_id} v{self.form_version}>"
