"""A form submission: the data a user sent, with the definition it was validated against."""

import secrets
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import JsonDocument, UtcDateTime, utcnow


def new_reference() -> str:
    """A public reference a user can quote to the support, hard to guess (no enumeration)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


class Submission(db.Model):
    __tablename__ = "submission"
    __table_args__ = (Index("ix_submission_form_created", "form_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(14), unique=True, default=new_reference)
    form_id: Mapped[str] = mapped_column(String(100))
    form_version: Mapped[int]
    data: Mapped[dict] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Submission {self.reference} {self.form_id} v{self.form_version}>"
