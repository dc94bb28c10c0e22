"""Run the outbox sweeper every ``OUTBOX_SWEEP_SECONDS``, in a background thread.

In the worker processes (several may run), a Redis lock lets one sweep per period. In
embedded mode the web process runs it itself, so retries happen without any worker.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


def start(app, redis=None) -> threading.Thread:
    """Start the daemon thread; ``redis``, when given, elects one sweeper per period."""
    period = app.config["OUTBOX_SWEEP_SECONDS"]
    stop = threading.Event()

    def loop() -> None:
        from mailer.jobs import sweep

        while not stop.wait(period):
            try:
                if redis is not None and not redis.set("outbox:sweeper", "1", nx=True, ex=period):
                    continue  # another worker swept in this period
                with app.app_context():
                    count = sweep()
                if count:
                    log.info("outbox: %d notification(s) queued again", count)
            except Exception:  # keep sweeping: a transient DB or Redis error must not end it
                log.exception("outbox: sweep failed")

    thread = threading.Thread(target=loop, name="outbox-sweeper", daemon=True)
    thread.stop = stop
    thread.start()
    return thread
