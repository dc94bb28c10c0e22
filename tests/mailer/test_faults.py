"""The outbox under faults, end to end: real Redis, real ``python worker.py`` processes, a real
SMTP server on loopback (aiosmtpd, recording what it accepts), the real database.

Runs only on the CI's PostgreSQL/Redis leg (``REDIS_URL`` and ``DATABASE_URL`` set): the
worker processes must reach the very database the tests use. Every wait is a bounded poll.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from extensions import db
from mailer import outbox
from mailer.jobs import TAKEOVER_NOTE
from models.notification import Notification, NotificationState
from tests.mailer.conftest import ROOT, free_port

REDIS_URL = os.environ.get("REDIS_URL", "")
DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not (REDIS_URL and DATABASE_URL),
    reason="needs REDIS_URL and DATABASE_URL (the CI's PostgreSQL/Redis leg)",
)

WAIT_SECONDS = 60
PYTHON = ROOT / ".venv" / "bin" / "python"
# Keys of the notifications queue, its registries and jobs, and the locks of dead schedulers.
_STALE_KEYS = (
    "rq:queue:notifications",
    "rq:*:notifications",
    "rq:job:notif-*",
    "rq:results:notif-*",
    "rq:executions:notif-*",
    "rq:scheduler-lock:*",
    "outbox:sweeper",
)


def wait_until(predicate, what: str, timeout: float = WAIT_SECONDS, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {what}")
        time.sleep(interval)


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (from /proc: no psutil here)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found.extend(children)
        todo.extend(children)
    return found


def row(notification_id: int) -> Notification:
    db.session.rollback()  # a new transaction: see what the workers committed
    return db.session.get(Notification, notification_id, populate_existing=True)


def count_sent() -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.state == NotificationState.SENT)
    )


@pytest.fixture
def clean_redis():
    """The notifications queue of the shared Redis, emptied before and after the test."""
    from redis import Redis

    connection = Redis.from_url(REDIS_URL)

    def clean() -> None:
        for pattern in _STALE_KEYS:
            keys = list(connection.scan_iter(pattern))
            if keys:
                connection.delete(*keys)

    clean()
    yield connection
    clean()
    connection.close()


@pytest.fixture
def workers(make_app, clean_redis, tmp_path):
    """Factory: ``workers.start(smtp_port)`` runs ``python worker.py`` in its own process group.

    Depends on ``make_app`` so that the workers are killed before its teardown empties the
    tables. ``workers.logs()`` gives their output for assertion messages."""

    class Workers:
        def __init__(self) -> None:
            self.processes: list[subprocess.Popen] = []
            self.log_paths = []

        def start(self, smtp_port: int, **settings) -> subprocess.Popen:
            env = {
                **os.environ,
                "DATABASE_URL": DATABASE_URL,
                "REDIS_URL": REDIS_URL,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(smtp_port),
                "MAIL_TIMEOUT": "5",
                "OUTBOX_SWEEP_SECONDS": "1",
                "OUTBOX_LEASE_SECONDS": "3",
                "OUTBOX_RETRY_DELAYS": "1",
                "SECRET_KEY": "tests-only-secret-key",
                **{name: str(value) for name, value in settings.items()},
            }
            log_path = tmp_path / f"worker-{len(self.processes) + 1}.log"
            self.log_paths.append(log_path)
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [str(PYTHON if PYTHON.exists() else sys.executable), "worker.py"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.processes.append(process)
            return process

        def kill(self, process: subprocess.Popen) -> None:
            """SIGKILL the worker's process group and its work horse, which RQ moves to a
            process group of its own (``os.setpgrp`` after the fork): a crash of the machine
            or the container, as far as this job is concerned."""
            for pid in [process.pid, *descendants(process.pid)]:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            process.wait(timeout=10)

        def logs(self) -> str:
            return "\n".join(
                f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                for path in self.log_paths
                if path.exists()
            )

    started = Workers()
    try:
        yield started
    finally:
        for process in started.processes:
            started.kill(process)


@pytest.fixture
def redis_app(make_app):
    """Factory: the web side, queueing on the real Redis."""

    def _make(**settings):
        return make_app(REDIS_URL=REDIS_URL, **settings)

    return _make


def messages_with_id(server, notification_id: int) -> int:
    return Counter(server.message_ids())[f"<notif-{notification_id}@activite-partielle.localhost>"]


def test_a_request_made_while_redis_is_down_commits_at_once_and_its_mail_leaves_later(
    make_app, workers, smtp_server
):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    with app.app_context():
        started = time.monotonic()
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()  # must not raise: the row is committed, the sweeper will queue it
        assert time.monotonic() - started < 3
        notification_id = notification.id
        assert row(notification_id).state == NotificationState.PENDING

        server = smtp_server()
        workers.start(server.port)  # on the real Redis: its sweeper finds the pending row
        wait_until(
            lambda: row(notification_id).state == NotificationState.SENT,
            f"notification sent\n{workers.logs()}",
        )
    assert messages_with_id(server, notification_id) == 1


def test_a_mail_queued_while_smtp_is_down_is_retried_then_delivered_exactly_once(
    redis_app, workers, smtp_server
):
    server = smtp_server(start=False)  # its port is chosen, nobody listens yet
    workers.start(server.port, OUTBOX_MAX_ATTEMPTS=1000)
    app = redis_app()
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        notification_id = notification.id
        wait_until(lambda: row(notification_id).attempts >= 3, f"three attempts\n{workers.logs()}")
        failing = row(notification_id)
        assert failing.state in (NotificationState.PENDING, NotificationState.SENDING)
        assert "Connection refused" in failing.last_error

        server.start()
        wait_until(
            lambda: row(notification_id).state == NotificationState.SENT,
            f"notification sent\n{workers.logs()}",
        )
        time.sleep(2.5)  # retries already scheduled come due: none may send it again
        assert row(notification_id).state == NotificationState.SENT
    assert messages_with_id(server, notification_id) == 1


def test_a_worker_killed_mid_send_is_taken_over_with_at_most_one_duplicate(
    redis_app, workers, smtp_server
):
    server = smtp_server()
    server.block()  # DATA is held: the worker waits for the server's answer
    first = workers.start(server.port)
    app = redis_app()
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        notification_id = notification.id
        wait_until(server.handler.data_started.is_set, f"send in progress\n{workers.logs()}")
        assert row(notification_id).state == NotificationState.SENDING

        workers.kill(first)
        server.release()
        workers.start(server.port)  # its sweeper takes over once the 3 s lease has expired
        wait_until(
            lambda: row(notification_id).state == NotificationState.SENT,
            f"notification sent after the takeover\n{workers.logs()}",
        )

        taken_over = row(notification_id)
        assert taken_over.attempts >= 2
        assert taken_over.last_error == TAKEOVER_NOTE
    assert 1 <= messages_with_id(server, notification_id) <= 2


def test_the_same_notification_queued_three_times_is_mailed_once(
    redis_app, workers, smtp_server, clean_redis
):
    server = smtp_server()
    app = redis_app()
    with app.app_context():
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()  # queued once
        assert outbox.enqueue([notification.id, notification.id]) == 2  # and twice more
        notification_id = notification.id

        workers.start(server.port)
        wait_until(
            lambda: row(notification_id).state == NotificationState.SENT,
            f"notification sent\n{workers.logs()}",
        )
        wait_until(
            lambda: clean_redis.llen("rq:queue:notifications") == 0, "every queued job taken"
        )
        time.sleep(1.5)  # the last duplicate job finishes
        assert row(notification_id).attempts == 1
    assert messages_with_id(server, notification_id) == 1


def test_a_hundred_notifications_with_two_workers_give_a_hundred_distinct_mails(
    redis_app, workers, smtp_server
):
    server = smtp_server()
    workers.start(server.port)
    workers.start(server.port)
    app = redis_app()
    with app.app_context():
        notifications = [outbox.notifier(f"destinataire{n}@exemple.fr", "test") for n in range(100)]
        outbox.commit()
        expected = {f"<notif-{n.id}@activite-partielle.localhost>" for n in notifications}
        wait_until(lambda: count_sent() == 100, f"100 notifications sent\n{workers.logs()}")
        time.sleep(1)
    ids = server.message_ids()
    assert len(ids) == 100
    assert set(ids) == expected
