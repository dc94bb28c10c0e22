"""Security-check challenges (the image and audio code of the account request)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import UtcDateTime, utcnow


class DefiControle(db.Model):
    """One challenge: single use, short-lived. The code itself is never stored: it is derived
    from the jeton and the secret key (``portail.controle``); only its digest is kept."""

    __tablename__ = "defi_controle"

    id: Mapped[int] = mapped_column(primary_key=True)
    jeton: Mapped[str] = mapped_column(String(32), unique=True)
    reponse_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
