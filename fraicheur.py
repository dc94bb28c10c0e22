"""Keep a per-process cache of published versions fresh with one cheap query per delay.

The form definitions (``forms.catalogue``) and the mail templates (``mailer.modeles``) are
published in the back-office and must be served by every process (gunicorn workers, the RQ
worker) within a few seconds, without a restart and without a query per request. Both keep
an immutable snapshot in memory and, at most once every ``refresh_seconds``, read a marker:
``max(id)`` and ``count(*)`` of the published rows. Published rows are only ever added (or
replaced by a new row), and ids are drawn at insert, not at commit: a publication committing
after a later one may leave ``max(id)`` unchanged, never both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select

Marque = tuple[int, int]


def marque_publiees(connection, colonne_id, condition) -> Marque:
    """The marker of the rows of ``colonne_id``'s table matching ``condition``."""
    maximum, nombre = connection.execute(
        select(func.coalesce(func.max(colonne_id), 0), func.count()).where(condition)
    ).one()
    return int(maximum), int(nombre)


class Fraicheur:
    """Calls ``recharger`` when the marker read by ``lire_marque`` moved, at most once every
    ``refresh_seconds``, from one thread at a time (the others keep the current snapshot).

    ``lire_marque`` returns None when the database cannot answer (no table yet, database
    away): the snapshot is kept and the next delay tries again. ``recharger`` returns False
    when it could not reload: the marker is not recorded, so the next check reloads again.
    """

    def __init__(
        self,
        refresh_seconds: float,
        lire_marque: Callable[[], Marque | None],
        recharger: Callable[[], bool],
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self._lire_marque = lire_marque
        self._recharger = recharger
        self._marque: Marque | None = None
        self._verifie_a = float("-inf")
        self._verrou = threading.Lock()

    def verifier(self) -> None:
        """The per-request call: a clock comparison, and one query when the delay is over."""
        if time.monotonic() - self._verifie_a >= self.refresh_seconds:
            self.rafraichir()

    def invalider(self) -> None:
        """Check the database on the next call (this process just published)."""
        self._verifie_a = float("-inf")

    def rafraichir(self) -> None:
        if not self._verrou.acquire(blocking=False):
            return
        try:
            self._verifie_a = time.monotonic()
            marque = self._lire_marque()
            if marque is None or marque == self._marque:
                return
            if self._recharger():
                self._marque = marque
        finally:
            self._verrou.release()
