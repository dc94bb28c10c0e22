"""An attachment received through a file field, stored outside the web root."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import UtcDateTime, utcnow


class Upload(db.Model):
    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, unguessable: the name on disk and the value stored in the submission.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    # The user's file name, cleaned, for display and the Content-Disposition of downloads only.
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
