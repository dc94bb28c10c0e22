"""The outbox in embedded mode (no Redis): what a commit sends, what it never sends, and how a
send that fails is retried or given up. Mails are .eml files, or go to a loopback SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from extensions import db
from mailer import outbox
from mailer.jobs import send_notification, sweep
from models.notification import Notification, NotificationState
from models.submission import Submission
from models.types import utcnow
from tests.mailer.conftest import (
    IDENTIFIANT_CONTEXT,
    eml_files,
    free_port,
    fresh,
    notification_count,
    read_eml,
)

MESSAGE_ID = re.compile(r"^<notif-(\d+)@activite-partielle\.localhost>$")


def make_due(notification_id: int) -> None:
    """Move a retry's due time to the past, as if its delay had elapsed."""
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


# -- what a commit sends ------------------------------------------------------------------------


def test_a_committed_notification_becomes_one_eml_file_with_its_recipient_id_subject_and_parts(
    outbox_app, mail_dir
):
    with outbox_app.app_context():
        notification = outbox.notifier(
            "anne.lefevre@exemple.fr", "identifiant", IDENTIFIANT_CONTEXT
        )
        assert eml_files(mail_dir) == []  # nothing leaves before the commit
        outbox.commit()
        notification_id = notification.id

    [path] = eml_files(mail_dir)
    message = read_eml(path)
    assert message["To"] == "anne.lefevre@exemple.fr"
    assert MESSAGE_ID.match(message["Message-ID"]).group(1) == str(notification_id)
    assert message["Subject"] == "Activité partielle : votre identifiant de connexion"
    assert "Activité partielle" in message["From"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Votre identifiant de connexion est : alefevre" in text
    assert "alefevre" in html and "Boulangerie du Canal" in html
    assert "<html" in html.lower()


def test_a_sent_notification_is_marked_sent_with_its_time_and_message_id(outbox_app):
    with outbox_app.app_context():
        before = utcnow()
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        row = fresh(notification.id)
        assert row.state == NotificationState.SENT
        assert before <= row.sent_at <= utcnow()
        assert row.attempts == 1
        assert row.last_error is None and row.lease_until is None
        assert row.message_id == f"<notif-{row.id}@activite-partielle.localhost>"


def test_flask_mailer_send_test_queues_and_sends_one_test_mail(outbox_app, mail_dir):
    result = outbox_app.test_cli_runner().invoke(args=["mailer", "send-test", "x@exemple.fr"])

    assert result.exit_code == 0, result.output
    assert "x@exemple.fr" in result.output
    [path] = eml_files(mail_dir)
    message = read_eml(path)
    assert message["To"] == "x@exemple.fr"
    assert message["Subject"] == "Activité partielle : message de test"
    with outbox_app.app_context():
        [row] = db.session.query(Notification).all()
        assert (row.template, row.state) == ("test", NotificationState.SENT)


def test_flask_mailer_send_test_refuses_an_invalid_address_and_writes_nothing(outbox_app, mail_dir):
    result = outbox_app.test_cli_runner().invoke(args=["mailer", "send-test", "pas-une-adresse"])

    assert result.exit_code != 0
    assert "invalide" in result.output
    assert eml_files(mail_dir) == []
    with outbox_app.app_context():
        assert notification_count() == 0


# -- what it never sends ------------------------------------------------------------------------


def test_a_rolled_back_transaction_queues_nothing_and_leaves_no_row(outbox_app, mail_dir):
    with outbox_app.app_context():
        outbox.notifier("anne.lefevre@exemple.fr", "test")
        db.session.rollback()
        outbox.commit()  # a later commit of the same session must not send the forgotten ids

        assert notification_count() == 0
    assert eml_files(mail_dir) == []


def test_a_rolled_back_transaction_that_also_wrote_a_submission_leaves_neither(
    outbox_app, mail_dir
):
    with outbox_app.app_context():
        db.session.add(Submission(form_id="dap", form_version=1, data={"heures": 35}))
        db.session.flush()
        outbox.notifier("anne.lefevre@exemple.fr", "test")
        db.session.rollback()
        outbox.commit()

        assert notification_count() == 0
        assert db.session.query(Submission).count() == 0
    assert eml_files(mail_dir) == []


def test_the_same_idempotency_key_in_two_transactions_gives_one_row_and_one_mail(
    outbox_app, mail_dir
):
    with outbox_app.app_context():
        first = outbox.notifier("anne.lefevre@exemple.fr", "test", idempotency_key="compte-42")
        outbox.commit()
        second = outbox.notifier("anne.lefevre@exemple.fr", "test", idempotency_key="compte-42")
        outbox.commit()

        assert second.id == first.id
        assert notification_count() == 1
    assert len(eml_files(mail_dir)) == 1


def test_the_same_idempotency_key_twice_in_one_transaction_gives_one_row_and_one_mail(
    outbox_app, mail_dir
):
    with outbox_app.app_context():
        first = outbox.notifier("anne.lefevre@exemple.fr", "test", idempotency_key="compte-42")
        second = outbox.notifier("anne.lefevre@exemple.fr", "test", idempotency_key="compte-42")
        outbox.commit()

        assert second is first
        assert notification_count() == 1
    assert len(eml_files(mail_dir)) == 1


def test_running_the_send_job_twice_on_the_same_notification_sends_it_once(outbox_app, mail_dir):
    with outbox_app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        assert send_notification(notification.id).startswith("ignorée")
        assert fresh(notification.id).attempts == 1
    assert len(eml_files(mail_dir)) == 1


def test_a_notification_claimed_by_another_worker_is_not_sent_again(outbox_app, mail_dir):
    with outbox_app.app_context():
        notification = Notification(
            recipient="anne.lefevre@exemple.fr",
            template="test",
            context={},
            state=NotificationState.SENDING,
            attempts=1,
            lease_until=utcnow() + timedelta(minutes=5),
        )
        db.session.add(notification)
        db.session.commit()

        assert send_notification(notification.id).startswith("ignorée")
        assert fresh(notification.id).state == NotificationState.SENDING
    assert eml_files(mail_dir) == []


@pytest.mark.parametrize(
    "recipient",
    [
        "a@b.fr\r\nBcc: c@d.fr",
        "a@b.fr\nBcc: c@d.fr",
        "a@b.fr,c@d.fr",
        "a@b.fr; c@d.fr",
        "Anne <a@b.fr>",
        "",
    ],
)
def test_an_invalid_recipient_is_refused_before_anything_is_written(
    outbox_app, mail_dir, recipient
):
    with outbox_app.app_context():
        with pytest.raises(outbox.NotificationError):
            outbox.notifier(recipient, "test")
        outbox.commit()
        assert notification_count() == 0
    assert eml_files(mail_dir) == []


def test_an_unknown_template_is_refused_before_anything_is_written(outbox_app, mail_dir):
    with outbox_app.app_context():
        with pytest.raises(outbox.NotificationError, match="inconnu"):
            outbox.notifier("anne.lefevre@exemple.fr", "identifiant-typo", IDENTIFIANT_CONTEXT)
        outbox.commit()
        assert notification_count() == 0
    assert eml_files(mail_dir) == []


def test_a_missing_context_key_is_refused_before_anything_is_written(outbox_app, mail_dir):
    context = {k: v for k, v in IDENTIFIANT_CONTEXT.items() if k != "siret"}
    with outbox_app.app_context():
        with pytest.raises(outbox.NotificationError, match="siret"):
            outbox.notifier("anne.lefevre@exemple.fr", "identifiant", context)
        outbox.commit()
        assert notification_count() == 0
    assert eml_files(mail_dir) == []


def test_a_subject_never_carries_a_newline_even_when_its_data_does(make_app, mail_dir):
    app = make_app(
        REDIS_URL="",
        MAIL_SERVER="",
        MAIL_FILE_DIR=str(mail_dir),
        SITE_NAME="Activité\r\npartielle\nBcc: pirate@exemple.fr",
    )
    context = {
        "siret": "73282932000074",
        "denomination": "Boulangerie du Canal",
        "numero_dap": "DAP-1\r\nBcc: pirate@exemple.fr",
        "motif": "Dossier incomplet",
    }
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "dap_refusee", context)
        outbox.commit()
        assert fresh(notification.id).state == NotificationState.SENT

    [path] = eml_files(mail_dir)
    headers = path.read_bytes().replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    assert not re.search(rb"^bcc:", headers, re.IGNORECASE | re.MULTILINE)
    subject = read_eml(path)["Subject"]
    assert "\r" not in subject and "\n" not in subject
    assert subject == (
        "Activité partielle Bcc: pirate@exemple.fr : décision de refus de votre "
        "demande n° DAP-1 Bcc: pirate@exemple.fr"
    )


# -- failures, retries, resend ------------------------------------------------------------------


def test_a_temporary_smtp_failure_leaves_the_notification_pending_for_a_later_attempt(smtp_app):
    app = smtp_app(free_port())  # nobody listens there: connection refused
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()

        row = fresh(notification.id)
        assert row.state == NotificationState.PENDING
        assert row.attempts == 1
        assert row.last_error
        assert row.next_attempt_at > utcnow()
        assert row.lease_until is None and row.sent_at is None


def test_a_notification_is_failed_after_the_maximum_number_of_attempts(smtp_app):
    app = smtp_app(free_port(), OUTBOX_MAX_ATTEMPTS=3)
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        for attempt in (2, 3):
            assert fresh(notification.id).state == NotificationState.PENDING
            make_due(notification.id)
            assert sweep() == 1
            assert fresh(notification.id).attempts == attempt

        row = fresh(notification.id)
        assert row.state == NotificationState.FAILED
        assert row.last_error.startswith("3 tentatives")
        make_due(notification.id)
        assert sweep() == 0  # a failed row waits for staff


def test_the_sweeper_leaves_a_retry_alone_until_it_is_due(smtp_app):
    app = smtp_app(free_port())
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        assert sweep() == 0
        assert fresh(notification.id).attempts == 1


def test_a_550_refusal_fails_the_notification_at_once(smtp_app, smtp_server):
    server = smtp_server()
    server.handler.refuse_rcpt = "550 unknown user"
    app = smtp_app(server.port)
    with app.app_context():
        notification = outbox.notifier("inconnu@exemple.fr", "test")
        outbox.commit()

        row = fresh(notification.id)
        assert row.state == NotificationState.FAILED
        assert row.attempts == 1
        assert "550" in row.last_error
        assert row.next_attempt_at is None
    assert server.messages == []


def test_a_mail_accepted_over_smtp_carries_the_notification_message_id(smtp_app, smtp_server):
    server = smtp_server()
    app = smtp_app(server.port)
    with app.app_context():
        notification = outbox.notifier(
            "anne.lefevre@exemple.fr", "identifiant", IDENTIFIANT_CONTEXT
        )
        outbox.commit()
        assert fresh(notification.id).state == NotificationState.SENT

    [message] = server.messages
    assert server.handler.envelopes[0][1] == ["anne.lefevre@exemple.fr"]
    assert message["Message-ID"] == f"<notif-{notification.id}@activite-partielle.localhost>"


def test_resend_sends_a_refused_notification_again(smtp_app, smtp_server):
    server = smtp_server()
    server.handler.refuse_rcpt = "550 unknown user"
    app = smtp_app(server.port)
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        assert fresh(notification.id).state == NotificationState.FAILED

        server.handler.refuse_rcpt = None  # the mailbox was created
        outbox.resend(notification.id)

        row = fresh(notification.id)
        assert row.state == NotificationState.SENT
        assert row.sent_at is not None
    assert len(server.messages) == 1


def test_resend_of_a_notification_failed_after_all_its_attempts_starts_a_new_series(smtp_app):
    app = smtp_app(free_port(), OUTBOX_MAX_ATTEMPTS=2)
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        make_due(notification.id)
        sweep()
        assert fresh(notification.id).state == NotificationState.FAILED

        outbox.resend(notification.id)  # the relay is still down: this is attempt 1 of 2

        row = fresh(notification.id)
        assert row.state == NotificationState.PENDING, row.last_error
        assert row.attempts == 1
        assert row.next_attempt_at > utcnow()


def test_resend_of_an_unknown_notification_is_refused(outbox_app):
    with outbox_app.app_context():
        with pytest.raises(outbox.NotificationError):
            outbox.resend(999_999)
