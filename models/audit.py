"""The journal: who did what to which object, when, from which state to which."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import JsonDocument, UtcDateTime, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    # The journal (backoffice/vues/journal.py, newest first; migration 0010): one index per
    # filter. An object's history gives its id, and its type too except in a hand-made URL,
    # so the id leads; acteur and opération lead their own index with the date behind, so the
    # filtered list reads in order; occurred_at serves the date range and the plain list.
    __table_args__ = (
        Index("ix_audit_event_object", "object_id", "object_type"),
        Index("ix_audit_event_operation_occurred", "operation", "occurred_at"),
        Index("ix_audit_event_actor_occurred", "actor", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # "usager" (public side), "agent" (back-office), "systeme" (worker, automatic validation)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(254))
    operation: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    state_from: Mapped[str | None] = mapped_column(String(32))
    state_to: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JsonDocument, default=dict)
