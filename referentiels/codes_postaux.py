"""Postal codes and the communes they serve (BAN / Etalab « codes-postaux » data).

The data file ``referentiels/data/codes_postaux.csv.gz`` is read once per process, on first
use, into an immutable dict keyed by postal code; every lookup is then a dict access.
Rebuild it with ``referentiels/scripts/build_codes_postaux.py`` (see the LICENCE file next
to the data).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

DATA_FILE = Path(__file__).resolve().parent / "data" / "codes_postaux.csv.gz"

CODE_POSTAL_RE = re.compile(r"^[0-9]{5}$")

# Letters that NFKD does not decompose into an ASCII base letter.
_LIGATURES = str.maketrans({"Œ": "OE", "œ": "OE", "Æ": "AE", "æ": "AE", "ß": "SS"})
_SEPARATORS = re.compile(r"[-'’‘`´_./,;:()\"]+")
_SPACES = re.compile(r"\s+")
# "PARIS 1ER ARRONDISSEMENT", "MARSEILLE 2E ARRONDISSEMENT" (COG) vs "PARIS 1" (SIRENE).
_ARRONDISSEMENT = re.compile(r"^(.*\d+)\s*(?:ER|E|EME)\s+ARRONDISSEMENT$")
_ABBREVIATIONS = {"ST": "SAINT", "STE": "SAINTE"}


@dataclass(frozen=True)
class Commune:
    code_insee: str
    # La Poste style: upper-case ASCII, no accents, hyphens/apostrophes as spaces.
    nom: str
    # Usual spelling, e.g. "La Baule-Escoublac".
    nom_usuel: str
    libelle_acheminement: str


def normalise_nom(nom: str) -> str:
    """A commune name in La Poste style: "La Baule-Escoublac" → "LA BAULE ESCOUBLAC"."""
    text = _SEPARATORS.sub(" ", nom.translate(_LIGATURES))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.encode("ascii", "ignore").decode("ascii").upper()
    return _SPACES.sub(" ", text).strip()


def _match_key(nom: str) -> str:
    """A looser key to compare names of several sources (abbreviations, arrondissements)."""
    words = [_ABBREVIATIONS.get(word, word) for word in normalise_nom(nom).split()]
    key = " ".join(words)
    match = _ARRONDISSEMENT.match(key)
    return match.group(1) if match else key


_lock = threading.Lock()
_index: Mapping[str, tuple[Commune, ...]] | None = None


def _load(path: Path = DATA_FILE) -> Mapping[str, tuple[Commune, ...]]:
    grouped: dict[str, list[Commune]] = {}
    with gzip.open(path, "rb") as raw:
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
        for row in reader:
            commune = Commune(
                code_insee=row["code_insee"],
                nom=normalise_nom(row["nom_usuel"]),
                nom_usuel=row["nom_usuel"],
                libelle_acheminement=row["libelle_acheminement"],
            )
            grouped.setdefault(row["code_postal"], []).append(commune)
    return MappingProxyType(
        {
            code: tuple(sorted(items, key=lambda c: (c.nom, c.code_insee)))
            for code, items in grouped.items()
        }
    )


def _data() -> Mapping[str, tuple[Commune, ...]]:
    global _index
    index = _index
    if index is None:
        with _lock:
            if _index is None:
                _index = _load()
            index = _index
    return index


def is_well_formed(code_postal: str) -> bool:
    """Five digits (the syntax only; see ``exists`` for the directory)."""
    return bool(CODE_POSTAL_RE.match(code_postal or ""))


def communes(code_postal: str) -> tuple[Commune, ...]:
    """The communes served by a postal code, sorted by name; empty when unknown."""
    return _data().get((code_postal or "").strip(), ())


def exists(code_postal: str) -> bool:
    return (code_postal or "").strip() in _data()


def commune_for(code_postal: str, nom: str) -> Commune | None:
    """The commune of ``code_postal`` whose name matches ``nom`` (any spelling or case).

    A SIRENE name such as "LA BAULE-ESCOUBLAC" or "PARIS 1" matches "La Baule-Escoublac" or
    "Paris 1er Arrondissement"; failing a name, a unique commune whose libellé
    d'acheminement matches is returned.
    """
    candidates = communes(code_postal)
    if not candidates or not nom:
        return None
    key = _match_key(nom)
    for commune in candidates:
        if _match_key(commune.nom_usuel) == key:
            return commune
    by_acheminement = [c for c in candidates if _match_key(c.libelle_acheminement) == key]
    return by_acheminement[0] if len(by_acheminement) == 1 else None
