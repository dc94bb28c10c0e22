"""The send job and the sweeper. Jobs take a notification id and are idempotent: a worker
claims the row before sending, so two workers never send the same notification."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import parseaddr

from flask import current_app
from flask_mail import Message
from sqlalchemy import and_, or_, select, update

import jobs
from extensions import db
from mailer import render, transport
from models.notification import Notification, NotificationState
from models.types import utcnow

log = logging.getLogger(__name__)
TAKEOVER_NOTE = "Reprise après interruption d'un envoi : ce courriel a pu partir deux fois."


def claim(notification_id: int) -> bool:
    """Take the row for this attempt; False when it is not due or someone else holds it."""
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    row = Notification.id == notification_id
    due = and_(
        Notification.state == NotificationState.PENDING,
        or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
    )
    taken = db.session.execute(
        update(Notification)
        .where(row, due)
        .values(
            state=NotificationState.SENDING,
            attempts=Notification.attempts + 1,
            lease_until=lease,
            updated_at=now,
        )
    ).rowcount
    if not taken:
        # A worker died while sending (its lease ran out): take over, saying it may be a duplicate.
        expired = and_(
            Notification.state == NotificationState.SENDING, Notification.lease_until < now
        )
        taken = db.session.execute(
            update(Notification)
            .where(row, expired)
            .values(
                state=NotificationState.SENDING,
                attempts=Notification.attempts + 1,
                lease_until=lease,
                updated_at=now,
                last_error=TAKEOVER_NOTE,
            )
        ).rowcount
    db.session.commit()
    return taken == 1


def message_for(notification: Notification) -> Message:
    subject, text, html = render.render(
        notification.template, notification.context, notification.modele_version_id
    )
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = Message(
        subject, recipients=[notification.recipient], body=text, html=html, sender=sender
    )
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    # The same Message-ID on every attempt: a rare duplicate is recognisable as such.
    message.msgId = f"<notif-{notification.id}@{domain}>"
    return message


def send_notification(notification_id: int) -> str:
    """Send one notification if it is due; return what happened (for the job's result)."""
    if not claim(notification_id):
        return "ignorée (déjà envoyée, pas encore due ou en cours ailleurs)"
    notification = db.session.get(Notification, notification_id)
    try:
        message = message_for(notification)
    except Exception as exc:  # a template that cannot render will not render on retry either
        log.exception("outbox: notification %s cannot be rendered", notification_id)
        return _give_up(notification, f"rendu impossible : {exc}")
    try:
        transport.deliver(message, f"{notification.id:08d}-{notification.template}")
    except transport.PermanentFailure as exc:
        return _give_up(notification, str(exc))
    except transport.TemporaryFailure as exc:
        return _retry_later(notification, str(exc))
    notification.state = NotificationState.SENT
    notification.sent_at = utcnow()
    notification.message_id = message.msgId
    notification.lease_until = None
    db.session.commit()
    return "envoyée"


def _give_up(notification: Notification, error: str) -> str:
    notification.state = NotificationState.FAILED
    notification.last_error = error[:2000]
    notification.lease_until = None
    db.session.commit()
    return "en échec"


def _retry_later(notification: Notification, error: str) -> str:
    config = current_app.config
    if notification.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        return _give_up(notification, f"{config['OUTBOX_MAX_ATTEMPTS']} tentatives : {error}")
    delays = [int(d) for d in config["OUTBOX_RETRY_DELAYS"]] or [60]
    delay = delays[min(notification.attempts - 1, len(delays) - 1)]
    notification.state = NotificationState.PENDING
    notification.next_attempt_at = utcnow() + timedelta(seconds=delay)
    notification.lease_until = None
    notification.last_error = error[:2000]
    db.session.commit()
    if not jobs.embedded():
        from redis.exceptions import RedisError

        try:
            jobs.queue("notifications").enqueue_in(
                timedelta(seconds=delay),
                send_notification,
                notification.id,
                job_id=f"notif-{notification.id}-essai-{notification.attempts + 1}",
            )
        except RedisError as exc:  # the sweeper will find it due
            log.warning("outbox: retry of %s not scheduled (%s)", notification.id, exc)
    return f"nouvel essai dans {delay} s"


def due_ids(limit: int = 1000) -> list[int]:
    """Notifications the sweeper should queue again: pending for longer than a sweep period
    (their job was lost: Redis down, worker gone), due for a retry, or with an expired lease."""
    now = utcnow()
    grace = now - timedelta(seconds=current_app.config["OUTBOX_SWEEP_SECONDS"])
    pending = Notification.state == NotificationState.PENDING
    condition = or_(
        and_(pending, Notification.next_attempt_at.is_(None), Notification.created_at <= grace),
        and_(pending, Notification.next_attempt_at <= now),
        and_(Notification.state == NotificationState.SENDING, Notification.lease_until < now),
    )
    return list(
        db.session.scalars(
            select(Notification.id).where(condition).order_by(Notification.id).limit(limit)
        )
    )


def sweep() -> int:
    """Queue every notification that should be moving and is not; return how many."""
    from mailer import outbox

    ids = due_ids()
    db.session.commit()  # end the read transaction before a long enqueue loop
    if not ids:
        return 0
    return outbox.enqueue(ids)
