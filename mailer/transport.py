"""Deliver a rendered message: through Flask-Mail over SMTP, or to a folder of .eml files.

Flask-Mail opens SMTP connections without a timeout (pallets-eco/flask-mail#114): a dead
relay would block a job forever. ``TimeoutConnection`` passes ``MAIL_TIMEOUT``.
"""

from __future__ import annotations

import os
import smtplib
from pathlib import Path

from flask import current_app
from flask_mail import Connection, Message


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


class TemporaryFailure(Exception):
    """Connection refused, timeout, 4xx: worth another attempt later."""


class TimeoutConnection(Connection):
    def configure_host(self):
        timeout = current_app.config["MAIL_TIMEOUT"]
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def deliver(message: Message, file_stem: str) -> None:
    """Send ``message``; raise ``PermanentFailure`` or ``TemporaryFailure`` when it fails."""
    if not current_app.config["MAIL_SERVER"]:
        _write_file(message, file_stem)
        return
    try:
        with TimeoutConnection(current_app.extensions["mail"]) as connection:
            connection.send(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"destinataire refusé : {exc.recipients}") from exc
        raise TemporaryFailure(f"destinataire refusé temporairement : {exc.recipients}") from exc
    except smtplib.SMTPResponseException as exc:
        error = f"{exc.smtp_code} {exc.smtp_error!r}"
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(error) from exc
        raise TemporaryFailure(error) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc


def _write_file(message: Message, file_stem: str) -> None:
    folder = Path(current_app.config["MAIL_FILE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{file_stem}.eml"
    partial = folder / f".{file_stem}.eml.part"
    partial.write_bytes(message.as_bytes())
    os.replace(partial, final)  # a reader never sees half a message
