"""The outbox: one row per email to send, written in the transaction of the change it announces."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import JsonDocument, UtcDateTime, utcnow


class NotificationState(enum.StrEnum):
    PENDING = "pending"  # written; waiting for a worker (or for its next attempt)
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"  # accepted by the SMTP server (or written to the mail folder)
    FAILED = "failed"  # given up: permanent refusal or attempts exhausted; staff can resend

    @property
    def label(self) -> str:
        return {
            "pending": "En attente",
            "sending": "En cours d'envoi",
            "sent": "Envoyé",
            "failed": "En échec",
        }[self.value]


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_state_due", "state", "next_attempt_at"),
        Index("ix_notification_recipient_created", "recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(64))
    context: Mapped[dict] = mapped_column(JsonDocument)
    state: Mapped[NotificationState] = mapped_column(
        Enum(
            NotificationState,
            name="notification_state",
            native_enum=False,
            values_callable=lambda states: [s.value for s in states],
            length=16,
        ),
        default=NotificationState.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set once per logical email: the same event never queues two rows.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    message_id: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The published mail template version it was queued with (None: the shipped files).
    modele_version_id: Mapped[int | None] = mapped_column(ForeignKey("modele_courriel_version.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.template} → {self.recipient} {self.state}>"
