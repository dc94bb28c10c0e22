"""``pattern`` of a definition, matched by RE2 (google-re2): linear time, whatever the pattern.

Python's ``re`` backtracks: a pattern such as ``\\d*\\d*\\d*x`` takes seconds on a few hundred
characters, and staff write patterns in the back-office. RE2 refuses what it cannot run in
linear time (back-references, look-arounds) at compile time, which the safety gate reports.
RE2 also reads ``$`` as the very end of the text and ``\\d`` as ASCII digits only, which is
what a form means (reliability.md §1.10).
"""

from __future__ import annotations

from functools import lru_cache

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported in French, not logged by RE2


class MotifRefuse(ValueError):
    """RE2 cannot compile the pattern; the message says why (in English, from RE2)."""


@lru_cache(maxsize=1024)
def compiler(motif: str):
    try:
        return re2.compile(motif, _OPTIONS)
    except re2.error as exc:
        raison = exc.args[0] if exc.args else exc
        if isinstance(raison, bytes):
            raison = raison.decode("utf-8", "replace")
        raise MotifRefuse(str(raison)) from exc


def cherche(motif: str, texte: str) -> bool:
    """``re.search`` semantics (unanchored), in linear time."""
    return compiler(motif).search(texte) is not None
