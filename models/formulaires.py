"""Versions of the form definitions: the shipped files and what staff publish.

A definition (``form_id``) has immutable published versions and at most one draft. The
published version with the highest number is the one served; a restored older version is
published again under a new number, so the numbers only grow and a submission's
``form_version`` always names the exact schema it was validated against.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import UtcDateTime, utcnow


class EtatVersion(enum.StrEnum):
    BROUILLON = "brouillon"
    PUBLIEE = "publiee"


class OrigineVersion(enum.StrEnum):
    FICHIER = "fichier"  # loaded from forms/schemas/ (flask forms sync)
    BACKOFFICE = "backoffice"  # published by an Administrateur


class FormVersion(db.Model):
    __tablename__ = "form_version"
    __table_args__ = (
        UniqueConstraint("form_id", "version", name="uq_form_version_form_id_version"),
        # At most one draft per definition, enforced by the database itself.
        Index(
            "uq_form_version_brouillon",
            "form_id",
            unique=True,
            sqlite_where=text("etat = 'brouillon'"),
            postgresql_where=text("etat = 'brouillon'"),
        ),
        # The per-process freshness check reads max(id) of the published rows.
        Index("ix_form_version_etat_id", "etat", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    etat: Mapped[EtatVersion] = mapped_column(
        Enum(
            EtatVersion,
            name="etat_version",
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        )
    )
    origine: Mapped[OrigineVersion] = mapped_column(
        Enum(
            OrigineVersion,
            name="origine_version",
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        )
    )
    # Plain JSON, not JSONB: PostgreSQL's jsonb reorders object keys, and the order of the
    # properties is the order of the questions.
    schema: Mapped[dict] = mapped_column(JSON)
    # sha256 of the canonical JSON: tells `flask forms sync` whether a file changed.
    empreinte: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_by: Mapped[str | None] = mapped_column(String(254))

    @property
    def title(self) -> str:
        return str(self.schema.get("title") or self.form_id)

    def __repr__(self) -> str:
        return f"<FormVersion {self.form_id} v{self.version} {self.etat.value}>"
