"""The served catalogue: files overlaid by published versions, fresh in every process."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from extensions import db
from models.formulaires import EtatVersion, FormVersion, OrigineVersion
from workflows import definitions
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Acteur("agent", "admin@asp.localhost")
SUPPORT = "demande-support"


def relabelled(schema: dict, title: str) -> dict:
    schema = json.loads(json.dumps(schema))
    schema["title"] = title
    return schema


def test_without_any_database_row_the_shipped_files_are_served(make_app):
    app = make_app(FORMS_REFRESH_SECONDS=0)
    with app.app_context():
        assert app.extensions["forms"][SUPPORT].version == 1
        assert db.session.scalar(select(FormVersion)) is None


def test_a_publication_reaches_another_app_of_the_same_database_after_its_refresh_delay(
    make_app,
):
    publisher = make_app(FORMS_REFRESH_SECONDS=0)
    reader = make_app(FORMS_REFRESH_SECONDS=0.5)
    with reader.app_context():
        assert reader.extensions["forms"][SUPPORT].title == "Contacter le support technique"
    with publisher.app_context():
        served = publisher.extensions["forms"][SUPPORT]
        definitions.enregistrer_brouillon(SUPPORT, relabelled(served.schema, "Support"), ADMIN)
        definitions.publier(SUPPORT, ADMIN)
        assert publisher.extensions["forms"][SUPPORT].title == "Support"
    with reader.app_context():
        # within the delay the reader may still serve its snapshot; after it, never
        time.sleep(0.6)
        assert reader.extensions["forms"][SUPPORT].title == "Support"


def test_a_publication_is_served_by_another_process_without_restart(make_app, tmp_path):
    app = make_app(FORMS_REFRESH_SECONDS=0)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    script = tmp_path / "lecteur.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from app import create_app\n"
        "app = create_app({'TESTING': True, 'SECRET_KEY': 'x', 'FORMS_REFRESH_SECONDS': 0.5,"
        f" 'SQLALCHEMY_DATABASE_URI': {uri!r}, 'RATELIMIT_ENABLED': False}})\n"
        "client = app.test_client()\n"
        "def version():\n"
        "    with app.app_context():\n"
        f"        return app.extensions['forms'][{SUPPORT!r}].version\n"
        "print('pret', version(), flush=True)\n"
        "sys.stdin.readline()\n"
        "debut = time.monotonic()\n"
        "while time.monotonic() - debut < 15:\n"
        "    v = version()\n"
        "    if v != 1:\n"
        "        print('servie', v, round(time.monotonic() - debut, 2), flush=True)\n"
        "        break\n"
        "    time.sleep(0.05)\n"
        "else:\n"
        "    print('jamais', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reader = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(tmp_path),
        env=env,
    )
    try:
        assert reader.stdout.readline().split() == ["pret", "1"]
        with app.app_context():
            served = app.extensions["forms"][SUPPORT]
            definitions.enregistrer_brouillon(SUPPORT, relabelled(served.schema, "Support"), ADMIN)
            version = definitions.publier(SUPPORT, ADMIN).version
        reader.stdin.write("go\n")
        reader.stdin.flush()
        line = reader.stdout.readline().split()
    finally:
        reader.kill()
        reader.wait()
    assert line[:2] == ["servie", str(version)]
    assert float(line[2]) < 5


def test_a_newer_shipped_file_wins_over_an_older_published_version(make_app):
    app = make_app(FORMS_REFRESH_SECONDS=0)
    with app.app_context():
        schema = app.extensions["forms"][SUPPORT].schema
        db.session.add(
            FormVersion(
                form_id=SUPPORT,
                version=0,
                etat=EtatVersion.PUBLIEE,
                origine=OrigineVersion.BACKOFFICE,
                schema={**relabelled(schema, "Ancienne"), "x-version": 0},
                empreinte="x",
            )
        )
        db.session.commit()
        app.extensions["forms"].invalider()
        assert app.extensions["forms"][SUPPORT].title == "Contacter le support technique"


def test_a_published_version_the_code_cannot_read_is_skipped_not_fatal(make_app, caplog):
    app = make_app(FORMS_REFRESH_SECONDS=0)
    with app.app_context():
        schema = relabelled(app.extensions["forms"][SUPPORT].schema, "Cassée")
        schema["properties"]["sujet"]["x-inconnu"] = True
        db.session.add(
            FormVersion(
                form_id=SUPPORT,
                version=7,
                etat=EtatVersion.PUBLIEE,
                origine=OrigineVersion.BACKOFFICE,
                schema={**schema, "x-version": 7},
                empreinte="x",
            )
        )
        db.session.commit()
        app.extensions["forms"].invalider()
        assert app.extensions["forms"][SUPPORT].version == 1
        assert "version publiée ignorée" in caplog.text


def test_an_unknown_old_version_is_none_and_the_current_one_is_itself(make_app):
    app = make_app(FORMS_REFRESH_SECONDS=0)
    with app.app_context():
        catalogue = current_app.extensions["forms"]
        assert catalogue.version(SUPPORT, 1) is catalogue[SUPPORT]
        assert catalogue.version(SUPPORT, 42) is None


def test_a_draft_opened_before_another_publication_is_still_noticed_when_published(make_app):
    publisher = make_app(FORMS_REFRESH_SECONDS=0)
    reader = make_app(FORMS_REFRESH_SECONDS=0)
    with publisher.app_context():
        served = publisher.extensions["forms"][SUPPORT]
        definitions.enregistrer_brouillon(SUPPORT, relabelled(served.schema, "Support"), ADMIN)
        definitions.synchroniser_fichiers()  # other rows published after the draft was made
    with reader.app_context():
        assert reader.extensions["forms"][SUPPORT].title == "Contacter le support technique"
    with publisher.app_context():
        definitions.publier(SUPPORT, ADMIN)
    with reader.app_context():
        assert reader.extensions["forms"][SUPPORT].title == "Support"


def test_a_publication_committed_after_a_later_id_is_still_noticed(make_app):
    # Ids are drawn at insert, not at commit: publication A may get id 50 and commit after
    # publication B (id 100). max(id) alone would never move for A.
    app = make_app(FORMS_REFRESH_SECONDS=0)
    with app.app_context():
        catalogue = app.extensions["forms"]
        base = catalogue[SUPPORT].schema

        def publie(id_, version, titre):
            db.session.add(
                FormVersion(
                    id=id_,
                    form_id=SUPPORT,
                    version=version,
                    etat=EtatVersion.PUBLIEE,
                    origine=OrigineVersion.BACKOFFICE,
                    schema={**relabelled(base, titre), "x-version": version},
                    empreinte=titre,
                )
            )
            db.session.commit()

        publie(100, 5, "B")
        assert catalogue[SUPPORT].title == "B"
        publie(50, 6, "A")
        assert catalogue[SUPPORT].title == "A"
