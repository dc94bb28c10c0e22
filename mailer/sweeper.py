"""Run the outbox sweeper every ``OUTBOX_SWEEP_SECONDS``, in a background thread.

In the worker processes (several may run), a Redis lock lets one sweep per period. In
embedded mode the web process runs it itself, so retries happen without any worker.
"""

from __future__ import annotations

import logging

import periodique

log = logging.getLogger(__name__)


def start(app, redis=None):
    """Start the daemon thread; ``redis``, when given, elects one sweeper per period."""

    def sweep_once() -> None:
        from mailer.jobs import sweep

        count = sweep()
        if count:
            log.info("outbox: %d notification(s) queued again", count)

    return periodique.demarrer(
        app, "outbox:sweeper", app.config["OUTBOX_SWEEP_SECONDS"], sweep_once, redis=redis
    )
