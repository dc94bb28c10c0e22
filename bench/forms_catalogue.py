"""What serving published form versions costs: the per-request version check, and the time
from a publication in one process to its serving in another.

Run: ``.venv/bin/python -m bench.forms_catalogue`` (SQLite in a temporary folder) or with
``DATABASE_URL=postgresql://127.0.0.1:5432/<db>`` (a database of its own: tables are dropped).
See bench/README.md.

1. Lookup: ``catalogue.get(id)`` as every request does it, against the baseline, a fixed
   in-memory ``FormRegistry.get`` (the file-only registry the app had before versions lived
   in the database), in the same process, alternating rounds. Measured with the default
   refresh delay (2 s: a clock comparison per lookup, one query per delay) and with a delay
   of 0 (the check query on every lookup: its full cost).
2. Page: a GET of ``/aide/assistance`` (renders the ``demande-support`` form) with the live
   catalogue and with the fixed registry swapped in: the check's share of a real page.
3. Publish → served: a reader process (another ``create_app``, as another gunicorn worker)
   polls ``catalogue.get`` every 10 ms; the bench publishes a relabelled version N times and
   reports how long each took to be served there (expected: under FORMS_REFRESH_SECONDS).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORM = "demande-support"


def make_app(uri: str, refresh: float):
    from app import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": uri,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "FORMS_REFRESH_SECONDS": refresh,
        }
    )


def prepare(uri: str) -> None:
    from flask_migrate import upgrade

    from extensions import db

    app = make_app(uri, 2.0)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(directory=str(ROOT / "migrations"))
        from workflows.definitions import synchroniser_fichiers

        synchroniser_fichiers()


def per_call(function, inner: int, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(inner):
            function()
        times.append((time.perf_counter_ns() - start) / inner)
    return min(times), statistics.median(times)


def lookup(uri: str, rounds: int) -> list[tuple[str, float, float]]:
    from forms.registry import build_registry

    rows = []
    for refresh in (2.0, 0.0):
        app = make_app(uri, refresh)
        with app.app_context():
            catalogue = app.extensions["forms"]
            catalogue.get(FORM)
            fixed = build_registry(dict(catalogue.files))
            inner = 20_000 if refresh else 500
            live, base = [], []
            for _ in range(rounds):  # alternate so drift hits both alike
                live.append(per_call(lambda c=catalogue: c.get(FORM), inner, 1)[0])
                base.append(per_call(lambda f=fixed: f.get(FORM), inner, 1)[0])
            rows.append(
                (f"lookup, refresh {refresh:g} s", statistics.median(live), statistics.median(base))
            )
    return rows


def page(uri: str, rounds: int) -> tuple[str, float, float]:
    from forms.registry import build_registry

    app = make_app(uri, 2.0)
    client = app.test_client()
    catalogue = app.extensions["forms"]
    fixed = build_registry(dict(catalogue.files))
    for registry in (fixed, catalogue):  # warm both: form classes, templates, connections
        app.extensions["forms"] = registry
        for _ in range(20):
            assert client.get("/aide/assistance").status_code == 200

    def once() -> None:
        client.get("/aide/assistance")

    live, base = [], []
    for _ in range(rounds):
        app.extensions["forms"] = catalogue
        live.append(per_call(once, 20, 1)[0])
        app.extensions["forms"] = fixed
        base.append(per_call(once, 20, 1)[0])
    app.extensions["forms"] = catalogue
    return ("GET /aide/assistance", statistics.median(live), statistics.median(base))


READER = """
import sys, time
sys.path.insert(0, {root!r})
from app import create_app
app = create_app({{'TESTING': True, 'SECRET_KEY': 'bench', 'SQLALCHEMY_DATABASE_URI': {uri!r},
                  'FORMS_REFRESH_SECONDS': {refresh!r}}})
with app.app_context():
    catalogue = app.extensions['forms']
    print('pret', catalogue.get({form!r}).version, flush=True)
    for line in sys.stdin:
        attendue = int(line)
        debut = time.monotonic()
        while catalogue.get({form!r}).version != attendue:
            time.sleep(0.01)
        print(round(time.monotonic() - debut, 3), flush=True)
"""


def publish_to_served(uri: str, refresh: float, count: int) -> list[float]:
    from workflows import definitions
    from workflows.journal import Acteur

    script = READER.format(root=str(ROOT), uri=uri, refresh=refresh, form=FORM)
    reader = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    delays = []
    try:
        reader.stdout.readline()
        app = make_app(uri, 0.0)
        with app.app_context():
            agent = Acteur("agent", "bench@asp.localhost")
            for n in range(count):
                schema = json.loads(json.dumps(app.extensions["forms"][FORM].schema))
                schema["title"] = f"Support ({n})"
                definitions.enregistrer_brouillon(FORM, schema, agent)
                version = definitions.publier(FORM, agent).version
                reader.stdin.write(f"{version}\n")
                reader.stdin.flush()
                delays.append(float(reader.stdout.readline()))
                time.sleep(0.37 * refresh)  # publish at varied phases of the reader's delay
    finally:
        reader.kill()
        reader.wait()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--publications", type=int, default=8)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    folder = tempfile.mkdtemp(prefix="bench-catalogue-")
    if url:
        import settings

        uri = settings.database_uri(url, folder)
    else:
        uri = "sqlite:///" + os.path.join(folder, "bench.sqlite3")
    prepare(uri)
    print(f"database: {uri.split('@')[-1].split('?')[0]}")
    print(f"{'operation':<28}{'live catalogue':>16}{'fixed registry':>16}{'ratio':>12}")
    for name, live, base in [*lookup(uri, args.rounds), page(uri, args.rounds)]:
        unit, scale = ("µs", 1e3) if live < 1e6 else ("ms", 1e6)
        print(
            f"{name:<28}{live / scale:>13.2f} {unit}{base / scale:>13.2f} {unit}"
            f"{live / base:>11.2f}×"
        )
    for refresh in (2.0, 0.5):
        delays = publish_to_served(uri, refresh, args.publications)
        print(
            f"publish → served in another process (refresh {refresh:g} s): "
            f"median {statistics.median(delays):.2f} s, max {max(delays):.2f} s "
            f"over {len(delays)} publications"
        )


if __name__ == "__main__":
    main()
