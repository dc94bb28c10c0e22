"""The outbox API: workflow operations add notifications in their transaction; after the
commit, one job per notification is queued, carrying only its id.

Usage in an operation::

    outbox.notifier(referent.courriel, "habilitation", {...}, idempotency_key=f"habilitation-{h.id}")
    outbox.commit()   # commits the change *and* its notifications, then queues the jobs

Nothing is queued before the commit (a rolled-back change mails nobody), and nothing
committed is lost if queueing fails: the sweeper re-queues rows still pending.
"""

from __future__ import annotations

import json
import logging

from flask import current_app
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

import jobs
from extensions import db
from forms import formats
from mailer import modeles
from mailer.catalogue import TEMPLATES
from models.notification import Notification, NotificationState

log = logging.getLogger(__name__)
_PENDING_KEY = "outbox_ids"


class NotificationError(ValueError):
    """A notification that can never be sent (unknown template, bad address, missing data)."""


def notifier(
    recipient: str,
    template: str,
    context: dict | None = None,
    *,
    idempotency_key: str | None = None,
) -> Notification:
    """Add a notification to the current transaction (flushed, not committed).

    With ``idempotency_key``, a second call for the same key returns the first row.
    :raise NotificationError: unknown template, missing context key, invalid address.
    """
    context = dict(context or {})
    spec = TEMPLATES.get(template)
    if spec is None:
        raise NotificationError(f"modèle de courriel inconnu : {template!r}")
    missing = [key for key in spec.context if key not in context]
    if missing:
        raise NotificationError(f"{template} : données manquantes {missing}")
    try:
        json.dumps(context)
    except (TypeError, ValueError) as exc:
        raise NotificationError(f"{template} : données non sérialisables ({exc})") from exc
    address = formats.normalise("email", recipient or "")
    if not formats.FORMATS["email"].is_valid(address):
        # Also what makes header injection impossible: no CR, LF or comma gets this far.
        raise NotificationError(f"adresse de destinataire invalide : {recipient!r}")
    if idempotency_key is not None:
        existing = db.session.scalar(
            select(Notification).where(Notification.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return existing
    notification = Notification(
        recipient=address,
        template=template,
        context=context,
        idempotency_key=idempotency_key,
        # The version published now: a later publication never changes this mail.
        modele_version_id=modeles.version_courante(template),
    )
    try:
        with db.session.begin_nested():
            db.session.add(notification)
    except IntegrityError:
        # Another transaction queued the same key between our check and our insert.
        return db.session.scalar(
            select(Notification).where(Notification.idempotency_key == idempotency_key)
        )
    db.session.info.setdefault(_PENDING_KEY, []).append(notification.id)
    return notification


def commit() -> None:
    """Commit the session, then queue the notifications it carried."""
    db.session.commit()
    ids = db.session.info.pop(_PENDING_KEY, [])
    if ids:
        enqueue(ids)


def enqueue(ids) -> int:
    """Queue one send job per id; return how many were queued. Never raises for Redis:
    the rows are committed and the sweeper will queue them again."""
    from redis.exceptions import RedisError

    from mailer.jobs import send_notification

    queued = 0
    try:
        queue = jobs.queue("notifications")
        for notification_id in ids:
            queue.enqueue(
                send_notification,
                notification_id,
                job_id=f"notif-{notification_id}",
                job_timeout=int(current_app.config["MAIL_TIMEOUT"] * 4) + 30,
                result_ttl=3600,
                failure_ttl=30 * 24 * 3600,
            )
            queued += 1
    except RedisError as exc:
        log.warning(
            "outbox: %d notification(s) not queued (%s); the sweeper will retry",
            len(ids) - queued,
            exc,
        )
    return queued


def resend(notification_id: int) -> Notification:
    """Staff: put a failed (or sent) notification back in the queue as a new attempt series."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        raise NotificationError(f"notification {notification_id} introuvable")
    notification.state = NotificationState.PENDING
    notification.attempts = 0  # a new series: OUTBOX_MAX_ATTEMPTS applies afresh
    notification.next_attempt_at = None
    notification.lease_until = None
    db.session.info.setdefault(_PENDING_KEY, []).append(notification.id)
    commit()
    return notification


@event.listens_for(FlaskSession, "after_soft_rollback", propagate=True)
def _forget_on_rollback(session, previous_transaction) -> None:
    # A rolled-back transaction's notifications do not exist: never queue their ids.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)
