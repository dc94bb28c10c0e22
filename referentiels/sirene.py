"""Import of INSEE's SIRENE stock of establishments (``StockEtablissement``) into the local table.

The file is streamed (plain CSV, ``.gz`` or ``.zip``), never loaded in memory. Rows are
upserted by batches, one commit per batch, and the number of rows done is stored in a
``SireneImport`` row with the batch: an interrupted import of the same file (same size, mtime
and first bytes) resumes after the last committed batch. Importing a file whose import
finished starts over (a refresh: upserts are idempotent).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

import click
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from extensions import db
from models.sirene import SireneEtablissement, SireneImport
from models.types import utcnow

SAMPLE_FILE = Path(__file__).resolve().parent / "data" / "sirene-sample.csv"

# Values INSEE puts in place of the data of partially diffusible establishments.
_MASKED = {"[ND]", "[NR]"}
_FINGERPRINT_HEAD = 1024 * 1024
_PROGRESS_EVERY = 1000

# Column of the model → column of the stock file.
_COLUMNS = {
    "numero_voie": "numeroVoieEtablissement",
    "indice_repetition": "indiceRepetitionEtablissement",
    "type_voie": "typeVoieEtablissement",
    "libelle_voie": "libelleVoieEtablissement",
    "complement_adresse": "complementAdresseEtablissement",
    "code_postal": "codePostalEtablissement",
    "libelle_commune": "libelleCommuneEtablissement",
    "code_commune": "codeCommuneEtablissement",
    "activite_principale": "activitePrincipaleEtablissement",
}
_DENOMINATION_SOURCES = (
    "denominationUniteLegale",
    "denominationUsuelleEtablissement",
    "enseigne1Etablissement",
)
REQUIRED_COLUMNS = frozenset({"siret", "etatAdministratifEtablissement"})


class SireneFileError(ValueError):
    """The file is not a StockEtablissement CSV (the message says why, in French)."""


@dataclass
class ImportReport:
    source: str
    rows_read: int = 0  # data rows read by this run (after the resume point)
    upserted: int = 0  # valid rows written
    skipped_invalid: int = 0  # rows without a usable SIRET or état administratif
    resumed_from: int = 0  # data rows skipped because a previous run committed them
    finished: bool = False

    @property
    def total_rows(self) -> int:
        return self.resumed_from + self.rows_read

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "upserted": self.upserted,
            "skipped_invalid": self.skipped_invalid,
            "resumed_from": self.resumed_from,
            "finished": self.finished,
        }


def fingerprint(path: Path) -> str:
    """Size, mtime and a hash of the first MiB: identifies one version of one file."""
    stat = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(_FINGERPRINT_HEAD))
    return f"{stat.st_size}-{int(stat.st_mtime)}-{digest.hexdigest()[:40]}"


@contextmanager
def _open_text(raw: IO[bytes], name: str) -> Iterator[IO[str]]:
    """A text stream over the CSV held by ``raw`` (plain, gzip or the first CSV of a zip)."""
    head = raw.read(4)
    raw.seek(0)
    with ExitStack() as stack:
        if head[:2] == b"\x1f\x8b":
            binary: IO[bytes] = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
        elif head == b"PK\x03\x04":
            archive = stack.enter_context(zipfile.ZipFile(raw))
            members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
            if not members:
                raise SireneFileError(f"{name} : l'archive ne contient aucun fichier CSV.")
            binary = stack.enter_context(archive.open(members[0]))
        else:
            binary = raw
        yield io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _clean(value: str | None, length: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or value in _MASKED:
        return None
    return value[:length]


def _parse_date(value: str | None) -> date | None:
    value = (value or "").strip()
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


_LENGTHS = {
    column.name: getattr(column.type, "length", None)
    for column in SireneEtablissement.__table__.columns
}


def parse_row(row: dict[str, str]) -> dict[str, Any] | None:
    """The table values of one stock row, or None when the row is unusable."""
    siret = (row.get("siret") or "").strip()
    if len(siret) != 14 or not siret.isdigit():
        return None
    siren = (row.get("siren") or "").strip() or siret[:9]
    if siren != siret[:9]:
        return None
    etat = (row.get("etatAdministratifEtablissement") or "").strip().upper()
    if etat not in ("A", "F"):
        return None
    values: dict[str, Any] = {
        "siret": siret,
        "siren": siren,
        "etat_administratif": etat,
        "date_creation": _parse_date(row.get("dateCreationEtablissement")),
        "enseigne": _clean(row.get("enseigne1Etablissement"), _LENGTHS["enseigne"]),
    }
    values["denomination"] = next(
        (
            cleaned
            for source in _DENOMINATION_SOURCES
            if (cleaned := _clean(row.get(source), _LENGTHS["denomination"]))
        ),
        None,
    )
    for column, source in _COLUMNS.items():
        values[column] = _clean(row.get(source), _LENGTHS[column])
    return values


def _upsert(rows: list[dict[str, Any]]) -> None:
    """Insert or update a batch, in the current transaction."""
    table = SireneEtablissement.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:  # pragma: no cover - the application supports these two engines only
        raise RuntimeError(f"upsert not implemented for {dialect}")
    statement = insert(table)
    updated = {
        column.name: statement.excluded[column.name]
        for column in table.columns
        if column.name != "siret"
    }
    statement = statement.on_conflict_do_update(index_elements=["siret"], set_=updated)
    db.session.execute(statement, rows)


def _import_row(path: Path) -> SireneImport:
    """The progress row of this file, created (and committed) when new, reset when finished."""
    key = fingerprint(path)
    progress = db.session.scalar(select(SireneImport).where(SireneImport.fingerprint == key))
    if progress is None:
        progress = SireneImport(source=path.name[:255], fingerprint=key, rows_done=0)
        db.session.add(progress)
    elif progress.finished:
        progress.rows_done = 0
        progress.finished = False
        progress.started_at = utcnow()
    db.session.commit()
    return progress


def import_stock(
    path: str | os.PathLike, *, batch_size: int = 5000, progress: bool = False
) -> ImportReport:
    """Import a StockEtablissement file (CSV, .gz or .zip); resumable. Needs an app context."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    path = Path(path)
    state = _import_row(path)
    report = ImportReport(source=path.name, resumed_from=state.rows_done)
    size = path.stat().st_size
    batch: dict[str, dict[str, Any]] = {}

    def commit_batch(rows_done: int) -> None:
        if batch:
            now = utcnow()
            rows = [{**values, "updated_at": now} for values in batch.values()]
            _upsert(rows)
            report.upserted += len(rows)
            batch.clear()
        state.rows_done = rows_done
        db.session.commit()

    bar_context = (
        click.progressbar(length=size, label=f"Import {path.name}", show_percent=True)
        if progress
        else nullcontext(None)
    )
    with open(path, "rb") as raw, bar_context as bar, _open_text(raw, path.name) as text:
        reader = csv.DictReader(text)
        missing = REQUIRED_COLUMNS - set(reader.fieldnames or ())
        if missing:
            raise SireneFileError(
                f"{path.name} : colonnes manquantes ({', '.join(sorted(missing))}) ; "
                "un fichier StockEtablissement de l'INSEE est attendu."
            )
        position = 0
        rows_done = 0
        try:
            for row in reader:
                rows_done += 1
                if rows_done <= report.resumed_from:
                    pass
                else:
                    report.rows_read += 1
                    values = parse_row(row)
                    if values is None:
                        report.skipped_invalid += 1
                    else:
                        # The same SIRET twice in a batch: the last one wins (and PostgreSQL
                        # refuses to update one row twice in a statement).
                        batch[values["siret"]] = values
                    if report.rows_read % batch_size == 0:
                        commit_batch(rows_done)
                if bar is not None and rows_done % _PROGRESS_EVERY == 0:
                    bar.update(raw.tell() - position)
                    position = raw.tell()
            commit_batch(rows_done)
        except BaseException:
            db.session.rollback()
            raise
        state.finished = True
        db.session.commit()
        report.finished = True
        if bar is not None:
            bar.update(size - position)
    return report


def load_sample() -> ImportReport:
    """Import the bundled sample (``referentiels/data/sirene-sample.csv``); idempotent."""
    return import_stock(SAMPLE_FILE, batch_size=500)
