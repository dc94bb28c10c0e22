"""Every state change writes one journal row, in the transaction of the change."""

from __future__ import annotations

from dataclasses import dataclass

from extensions import db
from models.audit import AuditEvent


@dataclass(frozen=True)
class Acteur:
    """Who acts: ``type`` is "usager", "agent" or "systeme"; ``label`` names them."""

    type: str
    label: str | None = None


SYSTEME = Acteur("systeme", "traitement automatique")


def journaliser(
    acteur: Acteur,
    operation: str,
    object_type: str,
    object_id,
    *,
    state_from: str | None = None,
    state_to: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_type=acteur.type,
        actor=acteur.label,
        operation=operation,
        object_type=object_type,
        object_id=str(object_id),
        state_from=state_from,
        state_to=state_to,
        details=details or {},
    )
    db.session.add(event)
    return event
