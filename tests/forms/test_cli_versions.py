"""``flask forms sync`` and ``flask forms export ID``: the shipped files and the database."""

import json
import shutil
from pathlib import Path

import pytest

from workflows import definitions
from workflows.journal import Acteur

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Acteur("agent", "admin@asp.localhost")


@pytest.fixture
def app(make_app, tmp_path):
    folder = tmp_path / "schemas"
    shutil.copytree(ROOT / "forms" / "schemas", folder)
    return make_app(FORMS_SCHEMAS_DIR=str(folder), FORMS_REFRESH_SECONDS=0)


def test_sync_prints_what_it_recorded_then_finds_everything_unchanged(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["forms", "sync"])
    second = runner.invoke(args=["forms", "sync"])
    assert first.exit_code == 0, first.output
    assert "ajouté     demande-creation-compte v" in first.output
    assert "inchangé   demande-creation-compte v" in second.output
    assert second.output.rstrip().endswith("0 version(s) enregistrée(s) ou mise(s) à jour.")


def test_export_writes_a_version_published_in_the_back_office_to_its_file(app):
    folder = Path(app.config["FORMS_SCHEMAS_DIR"])
    with app.app_context():
        served = app.extensions["forms"]["demande-support"]
        schema = json.loads(json.dumps(served.schema))
        schema["title"] = "Écrire au support"
        definitions.enregistrer_brouillon("demande-support", schema, ADMIN)
        version = definitions.publier("demande-support", ADMIN).version

    result = app.test_cli_runner().invoke(args=["forms", "export", "demande-support"])

    assert result.exit_code == 0, result.output
    written = json.loads((folder / "demande-support.json").read_text(encoding="utf-8"))
    assert written["title"] == "Écrire au support"
    assert written["x-version"] == version
    check = app.test_cli_runner().invoke(args=["forms", "check", "--dir", str(folder)])
    assert check.exit_code == 0, check.output


def test_export_of_an_unknown_form_exits_2(app):
    result = app.test_cli_runner().invoke(args=["forms", "export", "inconnu"])
    assert result.exit_code == 2
