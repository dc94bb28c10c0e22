"""Background jobs: queue names in one place, one app context per job.

With ``REDIS_URL`` set, jobs go to Redis and ``python worker.py`` runs them. Without it
(embedded mode, ``make run``) they run in the calling process, after the commit that
produced them, on an in-memory fakeredis queue.
"""

from __future__ import annotations

import logging

from flask import current_app, has_app_context
from rq import Queue
from rq.job import Job

QUEUES = ("notifications", "default")
log = logging.getLogger(__name__)

# Set by worker.py: the one app whose context each job gets (building an app per job is slow).
worker_app = None


class AppContextJob(Job):
    """Runs each job inside a fresh application context: the database session is torn
    down after every job instead of living across jobs (stale identity map)."""

    def perform(self):
        if has_app_context():
            return super().perform()
        global worker_app
        if worker_app is None:
            from app import create_app

            worker_app = create_app()
        with worker_app.app_context():
            from extensions import db

            # RQ forks a work horse per job: pooled connections must not cross the fork.
            db.engine.dispose(close=False)
            return super().perform()


def connection():
    """The Redis connection of the app (fakeredis in embedded mode), created once per app.

    Its socket timeouts are short: a request that queues a job must not hang on a dead Redis
    (what it queued is in the database and the sweeper re-queues it).
    """
    app = current_app._get_current_object()
    conn = app.extensions.get("redis")
    if conn is None:
        if app.config["REDIS_URL"]:
            from redis import Redis

            timeout = app.config["REDIS_TIMEOUT"]
            conn = Redis.from_url(
                app.config["REDIS_URL"],
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=None,
            )
        else:
            from fakeredis import FakeStrictRedis

            conn = FakeStrictRedis()
        app.extensions["redis"] = conn
    return conn


def worker_connection():
    """A connection for a worker: its blocking waits for jobs outlast any short timeout."""
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def embedded() -> bool:
    """True when no Redis is configured: jobs run in the calling process."""
    return not current_app.config["REDIS_URL"]


def queue(name: str = "default", connection_=None) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(
        name,
        connection=connection_ or connection(),
        job_class=AppContextJob,
        is_async=not embedded(),
    )


def enqueue_safely(name: str, func, *args, **kwargs) -> bool:
    """Queue a job whose loss is acceptable (its work can be done by hand); never raise for
    Redis. Work that must not be lost goes through a database row and a sweeper instead."""
    from redis.exceptions import RedisError

    try:
        queue(name).enqueue(func, *args, **kwargs)
    except RedisError as exc:
        log.warning("job %s not queued: %s", getattr(func, "__name__", func), exc)
        return False
    return True
