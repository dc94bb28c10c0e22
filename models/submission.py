"""A form submission: the data a user sent, with the definition it was validated against.

A submission of a standalone form (``/formulaires/<id>``) is « reçue » when filed, « traitée »
once an agent has dealt with it, and « reçue » again if reopened
(``workflows.formulaires``); every change writes a journal row (``AuditEvent``, object type
``soumission``). The back-office list (``backoffice/vues/soumissions.py``, migration 0012) has
one index per filter and sort: (form_id, state, created_at), (state, created_at) for the
dashboard's count and the list without a form, and the search text (trigram GIN on
PostgreSQL). The unique index of ``reference`` answers a search by reference.
"""

from __future__ import annotations

import enum
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from extensions import db
from models.types import JsonDocument, UtcDateTime, utcnow

MAX_TEXTE = 4000


def new_reference() -> str:
    """A public reference a user can quote to the support, hard to guess (no enumeration)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def normaliser_recherche(texte: str) -> str:
    """Lower case, without accents, spaces collapsed: how the search text is stored and how
    a search term is compared to it."""
    decompose = unicodedata.normalize("NFKD", texte)
    sans_accents = "".join(c for c in decompose if not unicodedata.combining(c))
    return " ".join(sans_accents.lower().split())


def texte_de_recherche(data: Any) -> str:
    """Every text and number of a document, normalised, at most ``MAX_TEXTE`` characters."""
    morceaux: list[str] = []

    def parcourir(valeur: Any) -> None:
        if isinstance(valeur, Mapping):
            for element in valeur.values():
                parcourir(element)
        elif isinstance(valeur, list):
            for element in valeur:
                parcourir(element)
        elif isinstance(valeur, str | int | float) and not isinstance(valeur, bool):
            morceaux.append(str(valeur))

    parcourir(data)
    return normaliser_recherche(" ".join(morceaux))[:MAX_TEXTE]


class SubmissionState(enum.StrEnum):
    RECUE = "recue"
    TRAITEE = "traitee"

    @property
    def label(self) -> str:
        return {"recue": "Reçue", "traitee": "Traitée"}[self.value]


class Submission(db.Model):
    __tablename__ = "submission"
    __table_args__ = (
        Index("ix_submission_form_created", "form_id", "created_at"),
        Index("ix_submission_form_state_created", "form_id", "state", "created_at"),
        Index("ix_submission_state_created", "state", "created_at"),
        Index(
            "ix_submission_texte_trgm",
            "texte",
            postgresql_using="gin",
            postgresql_ops={"texte": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(14), unique=True, default=new_reference)
    form_id: Mapped[str] = mapped_column(String(100))
    form_version: Mapped[int]
    data: Mapped[dict] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    state: Mapped[SubmissionState] = mapped_column(
        Enum(
            SubmissionState,
            name="submission_state",
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        ),
        default=SubmissionState.RECUE,
        server_default=SubmissionState.RECUE.value,
    )
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, onupdate=utcnow)
    # Copied from ``data`` when it is set: the back-office searches this column (indexed),
    # never the JSON document.
    texte: Mapped[str] = mapped_column(Text, server_default="")

    @validates("data")
    def _texte_de_recherche(self, key: str, data: dict) -> dict:
        self.texte = texte_de_recherche(data)
        return data

    def __repr__(self) -> str:
        return f"<Submission {self.reference} {self.form_id} v{self.form_version}>"
