"""Periodic maintenance other than the outbox: expired drafts of forms in steps are deleted.

Anonymous drafts hold what visitors typed (personal data): they must not outlive
``BROUILLONS_EXPIRATION_JOURS``. The RQ workers run the purge every
``BROUILLONS_PURGE_SECONDES`` (one of them per period, elected through Redis: ``worker.py``);
in embedded mode the web process does it itself, started on its first request.
``flask formulaires purger-brouillons`` runs it by hand.
"""

from __future__ import annotations

import logging
import threading

import periodique

log = logging.getLogger(__name__)


def purger() -> None:
    from workflows.brouillons import purger_brouillons_expires

    count = purger_brouillons_expires()
    if count:
        log.info("brouillons : %d brouillon(s) expiré(s) supprimé(s)", count)


def start(app, redis=None):
    return periodique.demarrer(
        app, "entretien:brouillons", app.config["BROUILLONS_PURGE_SECONDES"], purger, redis=redis
    )


def init_app(app) -> None:
    if app.config["REDIS_URL"] or app.testing:
        return  # workers purge (worker.py); tests purge explicitly
    started = threading.Lock()

    @app.before_request
    def _start_embedded_purge() -> None:
        if "entretien" not in app.extensions and started.acquire(blocking=False):
            app.extensions["entretien"] = start(app)
