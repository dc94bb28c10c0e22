"""Support requests ("BESOIN D'AIDE" → "Envoyer une demande d'assistance"): the ASP's queue."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.submission import new_reference
from models.types import JsonDocument, UtcDateTime, utcnow


class AssistanceState(enum.StrEnum):
    OUVERTE = "ouverte"
    REPONDUE = "repondue"
    CLOSE = "close"

    @property
    def label(self) -> str:
        return {"ouverte": "Ouverte", "repondue": "Répondue", "close": "Close"}[self.value]


class DemandeAssistance(db.Model):
    __tablename__ = "demande_assistance"
    __table_args__ = (
        Index("ix_demande_assistance_state_created", "state", "created_at"),
        # The queue's « Toutes » tab, oldest first, and its substring search (ILIKE '%…%' on
        # the three columns: trigram GIN on PostgreSQL, one index for the three; migration 0010).
        Index("ix_demande_assistance_created", "created_at"),
        Index(
            "ix_demande_assistance_recherche_trgm",
            "reference",
            "courriel",
            "siret",
            postgresql_using="gin",
            postgresql_ops={
                "reference": "gin_trgm_ops",
                "courriel": "gin_trgm_ops",
                "siret": "gin_trgm_ops",
            },
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Quoted by the user when they write again; random, so it reveals nothing.
    reference: Mapped[str] = mapped_column(String(14), unique=True, default=new_reference)
    state: Mapped[AssistanceState] = mapped_column(
        Enum(
            AssistanceState,
            name="demande_assistance_state",
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        ),
        default=AssistanceState.OUVERTE,
    )
    # The form (a low-code definition) and the version it was filed with, and the document.
    form_id: Mapped[str] = mapped_column(String(100))
    form_version: Mapped[int]
    data: Mapped[dict] = mapped_column(JsonDocument)
    # Copied out of the document for the queue's search and for the answer mail.
    courriel: Mapped[str] = mapped_column(String(254), index=True)
    siret: Mapped[str | None] = mapped_column(String(14), index=True)
    sujet: Mapped[str | None] = mapped_column(String(40))
    # The signed-in identity that filed it, if any.
    utilisateur_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
