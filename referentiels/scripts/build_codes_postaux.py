"""Rebuild ``referentiels/data/codes_postaux.csv.gz`` from a public source.

Two sources are understood:

* the npm package ``codes-postaux`` (Base Adresse Nationale / Etalab): the unpacked package
  folder, its ``codes-postaux.json`` file, or the ``.tgz`` tarball given by ``npm pack``;
* La Poste's « Base officielle des codes postaux » (``laposte-hexasmal``), a ``;``-separated
  CSV with the columns ``#Code_commune_INSEE;Nom_commune;Code_postal;Libellé_d_acheminement;
  Ligne_5``. That file carries no usual (accented) name: ``nom_usuel`` is then derived from
  the upper-case name and is less accurate.

Usage (from the project root)::

    cd /tmp && npm pack codes-postaux
    .venv/bin/python -m referentiels.scripts.build_codes_postaux /tmp/codes-postaux-4.1.2.tgz

The output is a gzip'ed UTF-8 CSV sorted by postal code then INSEE code, with the columns
``code_postal,code_insee,nom_usuel,libelle_acheminement``; the La Poste style name is
computed at load time by ``referentiels.codes_postaux.normalise_nom``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import sys
import tarfile
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "data" / "codes_postaux.csv.gz"
COLUMNS = ("code_postal", "code_insee", "nom_usuel", "libelle_acheminement")

Row = tuple[str, str, str, str]


def _rows_from_npm_json(raw: bytes) -> list[Row]:
    entries = json.loads(raw.decode("utf-8"))
    return [
        (
            entry["codePostal"].strip(),
            entry["codeCommune"].strip(),
            entry["nomCommune"].strip(),
            entry.get("libelleAcheminement", "").strip(),
        )
        for entry in entries
    ]


def _title_from_upper(name: str) -> str:
    """Best-effort usual name from La Poste's upper-case ASCII name."""
    small = {"LA", "LE", "LES", "DE", "DU", "DES", "SUR", "SOUS", "EN", "AUX", "AU", "ET"}
    words = name.split()
    return " ".join(
        word.lower() if index and word in small else word.capitalize()
        for index, word in enumerate(words)
    )


def _rows_from_laposte_csv(raw: bytes) -> list[Row]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lstrip("#").lower() for name in next(reader)]

    def column(*candidates: str) -> int:
        for candidate in candidates:
            if candidate in header:
                return header.index(candidate)
        raise ValueError(f"column {candidates[0]!r} not found in {header!r}")

    insee = column("code_commune_insee")
    nom = column("nom_commune", "nom_de_la_commune")
    code_postal = column("code_postal")
    acheminement = column("libellé_d_acheminement", "libelle_d_acheminement")
    rows = []
    for record in reader:
        if len(record) <= max(insee, nom, code_postal, acheminement):
            continue
        rows.append(
            (
                record[code_postal].strip().zfill(5),
                record[insee].strip().zfill(5),
                _title_from_upper(record[nom].strip()),
                record[acheminement].strip(),
            )
        )
    return rows


def read_source(path: Path) -> list[Row]:
    """Rows (code postal, INSEE, usual name, acheminement) of any supported source."""
    if path.is_dir():
        path = path / "codes-postaux.json"
    if path.name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(path, "r:gz") as archive:
            member = archive.getmember("package/codes-postaux.json")
            handle = archive.extractfile(member)
            if handle is None:
                raise ValueError(f"{path}: package/codes-postaux.json is not a file")
            return _rows_from_npm_json(handle.read())
    raw = path.read_bytes()
    if path.suffix == ".json":
        return _rows_from_npm_json(raw)
    return _rows_from_laposte_csv(raw)


def build(source: Path, output: Path = DEFAULT_OUTPUT) -> int:
    """Write the compact data file; returns the number of (code postal, commune) pairs."""
    unique: dict[tuple[str, str], Row] = {}
    for row in read_source(source):
        if len(row[0]) != 5 or not row[0].isdigit():
            continue
        # La Poste repeats a commune once per lieu-dit (Ligne_5): keep one row per pair.
        unique.setdefault((row[0], row[1]), row)
    rows = sorted(unique.values())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    output.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input always gives the same bytes (reviewable diffs).
    with open(output, "wb") as raw_out:
        with gzip.GzipFile(fileobj=raw_out, mode="wb", compresslevel=9, mtime=0) as gz:
            gz.write(buffer.getvalue().encode("utf-8"))
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="npm package folder/.tgz/.json or La Poste CSV")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    count = build(args.source, args.output)
    print(f"{count} codes postaux/communes written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
