"""The ``flask sirene`` commands."""

import json

import sqlalchemy as sa

from extensions import db
from models.sirene import SireneEtablissement


def test_load_sample_command_imports_the_sample(app, runner):
    result = runner.invoke(args=["sirene", "load-sample"])

    assert result.exit_code == 0, result.output
    assert "sirene-sample.csv" in result.output
    assert "0 ignorées" in result.output
    with app.app_context():
        assert db.session.get(SireneEtablissement, "00578096000042") is not None


def test_import_command_reports_its_counts(app, runner, stock_file, stock_row):
    path = stock_file(
        [stock_row(1), stock_row(2), stock_row(3, siret="0")], name="StockEtablissement.csv.gz"
    )

    result = runner.invoke(args=["sirene", "import", str(path), "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert "3 lignes lues, 2 enregistrées, 1 ignorées" in result.output
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(SireneEtablissement))
    assert count == 2


def test_import_command_refuses_a_file_of_another_kind(runner, tmp_path):
    path = tmp_path / "autre.csv"
    path.write_text("a,b\n1,2\n")

    result = runner.invoke(args=["sirene", "import", str(path)])

    assert result.exit_code == 1
    assert "colonnes manquantes" in result.output


def test_lookup_command_prints_the_establishment_as_json(runner):
    runner.invoke(args=["sirene", "load-sample"])

    result = runner.invoke(args=["sirene", "lookup", "00578096000042"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["denomination"] == "SOCIETE IMMOBILIERE TOURISTIQUE"
    assert data["code_postal"] == "44500"
    assert data["actif"] is True


def test_lookup_command_says_when_nothing_is_found(runner):
    result = runner.invoke(args=["sirene", "lookup", "00578096000042"])

    assert result.exit_code == 1
    assert "Aucun établissement trouvé" in result.output
