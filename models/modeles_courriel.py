"""Versions of the notification mail templates edited by staff (issue #7 item 6).

A mail template (``modele``, a key of ``mailer.catalogue.TEMPLATES``) has immutable published
versions and at most one draft. Without any published version, the shipped files of
``mailer/templates/mail/`` are used. The published version with the highest number is the
current one; restoring an older version publishes a copy of it under a new number, so the
numbers only grow. A notification records, when it is queued, the version it will be
rendered with (``Notification.modele_version_id``): a mail already queued never changes.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import UtcDateTime, utcnow


class EtatModele(enum.StrEnum):
    BROUILLON = "brouillon"
    PUBLIEE = "publiee"

    @property
    def label(self) -> str:
        return {"brouillon": "Brouillon", "publiee": "Publiée"}[self.value]


class ModeleCourrielVersion(db.Model):
    __tablename__ = "modele_courriel_version"
    __table_args__ = (
        UniqueConstraint("modele", "version", name="uq_modele_courriel_version_modele_version"),
        # At most one draft per template, enforced by the database itself.
        Index(
            "uq_modele_courriel_version_brouillon",
            "modele",
            unique=True,
            sqlite_where=text("etat = 'brouillon'"),
            postgresql_where=text("etat = 'brouillon'"),
        ),
        # The per-process freshness check reads max(id) of the published rows.
        Index("ix_modele_courriel_version_etat_id", "etat", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    modele: Mapped[str] = mapped_column(String(64))
    # Numbered at publication (1, 2, ...); None while a draft.
    version: Mapped[int | None]
    etat: Mapped[EtatModele] = mapped_column(
        Enum(
            EtatModele,
            name="etat_modele_courriel",
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        )
    )
    sujet: Mapped[str] = mapped_column(Text)
    corps: Mapped[str] = mapped_column(Text)  # plain text; the HTML part is built from it
    restauree_de: Mapped[int | None]  # the version number this one copies (a restoration)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_by: Mapped[str | None] = mapped_column(String(254))

    def __repr__(self) -> str:
        return f"<ModeleCourrielVersion {self.modele} v{self.version} {self.etat.value}>"
