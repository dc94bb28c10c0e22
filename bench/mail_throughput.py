"""Outbox throughput (mails/s from the outbox to a local SMTP server, 1 and 2 workers) and the
cost the outbox adds to a request's transaction.

Run: ``.venv/bin/python -m bench.mail_throughput`` (see bench/README.md).

- ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``): the real Redis the workers use. The
  ``notifications`` queue is emptied before and after the run: do not run it against a Redis
  whose notifications matter.
- ``DATABASE_URL`` (default: an SQLite file in a temp dir, migrated with ``flask db upgrade``).
  With a shared database, only the rows the benchmark created are deleted at the end.

Throughput: ``python worker.py`` processes (real RQ workers: one forked work horse per job)
against an aiosmtpd server in this process that accepts everything. N notifications are
written in one transaction, then ``outbox.commit()`` queues them; the clock runs from the
commit to the N-th mail accepted by the server.

Request cost: a transaction inserting one ``Submission`` (add + commit), against the same plus
``outbox.notifier(...)`` + ``outbox.commit()`` (the insert of the notification row and the
enqueue of its job to the real Redis). No worker runs during this part; the two variants
alternate, and medians are compared.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
_STALE_KEYS = (
    "rq:queue:notifications",
    "rq:*:notifications",
    "rq:job:notif-*",
    "rq:results:notif-*",
    "rq:executions:notif-*",
    "outbox:sweeper",
)


# -- a counting SMTP server ------------------------------------------------------------------


def _aiosmtpd_controller():
    from aiosmtpd.controller import Controller

    return Controller


class CountingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.last_at = 0.0
        self.expected = 0
        self.done = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        header = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        message_id = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in header.splitlines()
                if line.lower().startswith(b"message-id:")
            ),
            "",
        )
        with self.lock:
            self.message_ids.append(message_id)
            self.last_at = time.perf_counter()
            if self.expected and len(self.message_ids) >= self.expected:
                self.done.set()
        return "250 OK"

    def reset(self, expected: int) -> None:
        with self.lock:
            self.message_ids = []
            self.expected = expected
            self.done.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- app, workers, Redis --------------------------------------------------------------------


def build_app(database_url: str, redis_url: str, smtp_port: int):
    from flask_migrate import upgrade

    import settings
    from app import create_app

    app = create_app(
        {
            "SECRET_KEY": "bench-only-secret-key",
            "SQLALCHEMY_DATABASE_URI": settings.database_uri(database_url, ""),
            "REDIS_URL": redis_url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_port,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
    return app


def clean_redis(connection) -> None:
    for pattern in _STALE_KEYS:
        keys = list(connection.scan_iter(pattern))
        if keys:
            connection.delete(*keys)


def start_worker(database_url: str, redis_url: str, smtp_port: int, log_path: Path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "SECRET_KEY": "bench-only-secret-key",
        "LOG_LEVEL": "WARNING",
    }
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [str(PYTHON if PYTHON.exists() else sys.executable), "worker.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_workers(processes) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # warm shutdown: the worker ends its job
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_workers(connection, count: int, timeout: float = 30) -> None:
    from rq import Worker

    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=connection)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} worker(s) not registered after {timeout} s")
        time.sleep(0.1)


# -- the measurements -------------------------------------------------------------------------


def throughput(app, handler, worker_count: int, n: int, args, created: list[int]) -> dict:
    from redis import Redis

    from extensions import db
    from mailer import outbox

    connection = Redis.from_url(args.redis_url)
    processes = [
        start_worker(
            args.database_url,
            args.redis_url,
            args.smtp_port,
            args.workdir / f"worker-{worker_count}-{i}.log",
        )
        for i in range(worker_count)
    ]
    try:
        baseline = len(__import__("rq").Worker.all(connection=connection))
        wait_for_workers(connection, baseline + worker_count if baseline == 0 else worker_count)
        time.sleep(1.0)  # let the workers reach their blocking dequeue
        handler.reset(n)
        with app.app_context():
            notifications = [
                outbox.notifier(f"destinataire{i}@exemple.fr", "test") for i in range(n)
            ]
            db.session.flush()
            created.extend(notification.id for notification in notifications)
            started = time.perf_counter()
            outbox.commit()
            enqueued = time.perf_counter()
        if not handler.done.wait(timeout=max(60.0, n / 2)):
            raise RuntimeError(f"only {len(handler.message_ids)}/{n} mails received")
        elapsed = handler.last_at - started
        duplicates = len(handler.message_ids) - len(set(handler.message_ids))
    finally:
        stop_workers(processes)
        connection.close()
    return {
        "workers": worker_count,
        "n": n,
        "seconds": elapsed,
        "per_second": n / elapsed,
        "enqueue_ms": (enqueued - started) * 1000,
        "duplicates": duplicates,
    }


def request_cost(app, rounds: int, warmup: int, created: list[int], submissions: list[int]):
    from extensions import db
    from mailer import outbox
    from models.submission import Submission

    def insert_only() -> None:
        submission = Submission(form_id="bench", form_version=1, data={"heures": 35})
        db.session.add(submission)
        db.session.commit()
        submissions.append(submission.id)

    def insert_and_notify() -> None:
        submission = Submission(form_id="bench", form_version=1, data={"heures": 35})
        db.session.add(submission)
        notification = outbox.notifier("anne.lefevre@exemple.fr", "test")
        outbox.commit()
        submissions.append(submission.id)
        created.append(notification.id)

    timings = {insert_only: [], insert_and_notify: []}
    with app.app_context():
        for index in range(warmup + rounds):
            for operation in (
                (insert_only, insert_and_notify) if index % 2 else (insert_and_notify, insert_only)
            ):
                started = time.perf_counter_ns()
                operation()
                elapsed = time.perf_counter_ns() - started
                if index >= warmup:
                    timings[operation].append(elapsed / 1000)

    def summary(values):
        values = sorted(values)
        return {
            "median": statistics.median(values),
            "min": values[0],
            "p90": values[int(len(values) * 0.9) - 1],
        }

    alone, notified = summary(timings[insert_only]), summary(timings[insert_and_notify])
    return {
        "alone": alone,
        "with_outbox": notified,
        "ratio": notified["median"] / alone["median"],
        "ratio_min": notified["min"] / alone["min"],
    }


def cleanup_rows(app, created: list[int], submissions: list[int]) -> None:
    from sqlalchemy import delete

    from extensions import db
    from models.notification import Notification
    from models.submission import Submission

    with app.app_context():
        for start in range(0, len(created), 500):
            db.session.execute(
                delete(Notification).where(Notification.id.in_(created[start : start + 500]))
            )
        for start in range(0, len(submissions), 500):
            db.session.execute(
                delete(Submission).where(Submission.id.in_(submissions[start : start + 500]))
            )
        db.session.commit()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="notifications per throughput run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=300,
        help="timed transactions per variant for the request cost",
    )
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args(argv)
    args.redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    args.workdir = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    args.database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(args.workdir / "bench.sqlite3")
    )
    args.smtp_port = free_port()

    from redis import Redis

    handler = CountingHandler()
    controller = _aiosmtpd_controller()(handler, hostname="127.0.0.1", port=args.smtp_port)
    controller.start()
    redis = Redis.from_url(args.redis_url)
    clean_redis(redis)
    app = build_app(args.database_url, args.redis_url, args.smtp_port)
    with app.app_context():
        from extensions import db

        backend = db.engine.dialect.name
    created: list[int] = []
    submissions: list[int] = []
    try:
        runs = [throughput(app, handler, workers, args.n, args, created) for workers in (1, 2)]
        clean_redis(redis)
        cost = request_cost(app, args.rounds, args.warmup, created, submissions)
    finally:
        clean_redis(redis)
        controller.stop()
        if os.environ.get("DATABASE_URL"):
            cleanup_rows(app, created, submissions)
        shutil.rmtree(args.workdir, ignore_errors=True)

    print(
        f"mail_throughput: {backend}, Redis {args.redis_url}, CPython "
        f"{platform.python_version()}, {os.cpu_count()} CPU"
    )
    print("| workers | mails | seconds | mails/s | enqueue of the N jobs (ms) | duplicates |")
    print("|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        print(
            f"| {run['workers']} | {run['n']} | {run['seconds']:.2f} | {run['per_second']:.0f} "
            f"| {run['enqueue_ms']:.0f} | {run['duplicates']} |"
        )
    print()
    print("| transaction | median µs | min µs | p90 µs |")
    print("|---|---:|---:|---:|")
    for label, key in (
        ("insert a Submission + commit", "alone"),
        ("… + outbox.notifier + outbox.commit (enqueue to Redis)", "with_outbox"),
    ):
        values = cost[key]
        print(f"| {label} | {values['median']:.0f} | {values['min']:.0f} | {values['p90']:.0f} |")
    print(
        f"\nratio with outbox / alone: median {cost['ratio']:.2f}×, min "
        f"{cost['ratio_min']:.2f}× ({args.rounds} rounds per variant)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
