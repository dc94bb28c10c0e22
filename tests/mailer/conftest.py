"""Fixtures of the mailer tests: an embedded-mode app writing .eml files, a recording SMTP
server on loopback (aiosmtpd) and small helpers to read the outbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models.notification import Notification

ROOT = Path(__file__).resolve().parents[2]

IDENTIFIANT_CONTEXT = {
    "nom": "Lefèvre",
    "prenom": "Anne-Sophie",
    "identifiant": "alefevre",
    "siret": "73282932000074",
    "denomination": "Boulangerie du Canal",
}


def _aiosmtpd_controller():
    from aiosmtpd.controller import Controller

    return Controller


def free_port() -> int:
    """A loopback port nobody listens on (bound then released: free for a short while)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """aiosmtpd handler: records every accepted message; may refuse recipients or hold DATA."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_rcpt: str | None = None  # e.g. "550 unknown user"
        self.hold = threading.Event()  # DATA waits while this is cleared (see ``block``)
        self.hold.set()
        self.data_started = threading.Event()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_started.set()
        while not self.hold.is_set():  # never block the server's event loop
            await asyncio.sleep(0.02)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 in a thread of the test process."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self._controller = None

    def start(self) -> SmtpServer:
        controller_class = _aiosmtpd_controller()
        self._controller = controller_class(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.handler.hold.set()
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        with self.handler._lock:
            return list(self.handler.messages)

    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in self.messages]

    def block(self) -> None:
        """From now on, DATA is held until ``release``: the client waits mid-send."""
        self.handler.data_started.clear()
        self.handler.hold.clear()

    def release(self) -> None:
        self.handler.hold.set()


@pytest.fixture
def smtp_server():
    """Factory: ``smtp_server()`` starts a recording server; ``smtp_server(start=False)``
    only reserves its port. Every server is stopped at the end of the test."""
    servers: list[SmtpServer] = []

    def _make(port: int | None = None, start: bool = True) -> SmtpServer:
        server = SmtpServer(port)
        servers.append(server)
        return server.start() if start else server

    yield _make
    for server in servers:
        server.stop()


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    return tmp_path / "mails"


@pytest.fixture
def outbox_app(make_app, mail_dir):
    """Embedded mode (no Redis: jobs run after the commit), mails written as .eml files."""
    return make_app(REDIS_URL="", MAIL_SERVER="", MAIL_FILE_DIR=str(mail_dir))


@pytest.fixture
def smtp_app(make_app):
    """Factory: an embedded-mode app sending through SMTP to 127.0.0.1:``port``."""

    def _make(port: int, **settings):
        return make_app(
            REDIS_URL="",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            MAIL_TIMEOUT=1,
            MAIL_SUPPRESS_SEND=False,
            **settings,
        )

    return _make


def eml_files(folder: Path) -> list[Path]:
    """The finished .eml files of the folder (never the hidden partial ones)."""
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def read_eml(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def notification_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Notification))


def fresh(notification_id: int) -> Notification:
    """The row as the database has it now (not the session's cached copy)."""
    db.session.expire_all()
    return db.session.get(Notification, notification_id)
