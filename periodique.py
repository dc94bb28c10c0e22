"""Run a maintenance task every N seconds in a daemon thread, once per period across workers.

The outbox sweeper (``mailer.sweeper``) and the purge of expired form drafts
(``entretien``) are such tasks. In the RQ workers (several may run) a Redis key set with
``NX`` and an expiry of one period elects the one process that runs the task in that period;
in embedded mode (no Redis) the web process runs it itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def demarrer(app, nom: str, periode: float, tache: Callable[[], object], redis=None):
    """Start the thread; ``tache`` runs in an app context; its errors are logged, never fatal
    (a transient database or Redis error must not end the loop). ``thread.stop`` ends it."""
    stop = threading.Event()

    def boucle() -> None:
        while not stop.wait(periode):
            try:
                if redis is not None and not redis.set(nom, "1", nx=True, ex=int(periode)):
                    continue  # another worker ran it in this period
                with app.app_context():
                    tache()
            except Exception:
                log.exception("%s : échec de la tâche périodique", nom)

    thread = threading.Thread(target=boucle, name=nom, daemon=True)
    thread.stop = stop
    thread.start()
    return thread
