"""`flask demo load`: the demo data of `make run`, loadable any number of times."""

from sqlalchemy import func, select

from extensions import db
from models.sirene import SireneEtablissement
from models.submission import Submission


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_load_fills_the_directory_and_one_example_per_standalone_form_idempotently(
    app, runner
):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert db.session.get(SireneEtablissement, "00578096000042").denomination == (
            "SOCIETE IMMOBILIERE TOURISTIQUE"
        )
        standalone = len(app.extensions["forms"].standalone())
        assert count(Submission) == standalone >= 1
