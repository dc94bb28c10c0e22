"""Fixtures of the reference-data tests: small StockEtablissement files."""

import csv
import gzip
import io
from pathlib import Path

import pytest

STOCK_HEADER = [
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "codeCommuneEtablissement",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
]


def luhn_complete(prefix: str) -> str:
    """``prefix`` followed by the digit that makes it pass the Luhn check."""
    for digit in "0123456789":
        candidate = prefix + digit
        total = 0
        for index, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def make_stock_row(number: int, **overrides) -> dict:
    """One establishment row; ``number`` makes the SIRET unique."""
    siren = luhn_complete(f"{40000000 + number:08d}")
    siret = luhn_complete(siren + "0001")
    row = {
        "siren": siren,
        "nic": siret[9:],
        "siret": siret,
        "statutDiffusionEtablissement": "O",
        "dateCreationEtablissement": "2010-01-01",
        "complementAdresseEtablissement": "",
        "numeroVoieEtablissement": str(number),
        "indiceRepetitionEtablissement": "",
        "typeVoieEtablissement": "RUE",
        "libelleVoieEtablissement": "DES ESSAIS",
        "codePostalEtablissement": "44000",
        "libelleCommuneEtablissement": "NANTES",
        "codeCommuneEtablissement": "44109",
        "etatAdministratifEtablissement": "A",
        "enseigne1Etablissement": "",
        "denominationUsuelleEtablissement": f"ETABLISSEMENT {number}",
        "activitePrincipaleEtablissement": "56.10A",
    }
    row.update(overrides)
    return row


def write_stock(path: Path, rows: list[dict], *, header: list[str] | None = None) -> Path:
    """Write a stock file; gzip-compressed when ``path`` ends with .gz."""
    header = header or STOCK_HEADER
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.fixture
def stock_file(tmp_path):
    """``stock_file(rows, name="stock.csv")`` writes a StockEtablissement file and returns it."""

    def _make(rows: list[dict], name: str = "stock.csv", header: list[str] | None = None) -> Path:
        return write_stock(tmp_path / name, rows, header=header)

    return _make


@pytest.fixture
def stock_row():
    """``stock_row(number, **columns)``: one valid establishment row, SIRET unique per number."""
    return make_stock_row
