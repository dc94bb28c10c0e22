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
        assert count(Submission) == standalone


def test_demo_load_creates_an_accounting_firm_with_three_establishments_and_prints_its_access(
    app, runner
):
    import re

    from models.comptes import DemandeCompte, DemandeState, Habilitation
    from workflows import connexion

    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    identifiant = re.search(r"Identifiant : (\S+)", first.output).group(1)
    mot_de_passe = re.search(r"Mot de passe : (\S+)", first.output).group(1)
    again = runner.invoke(args=["demo", "load"])
    assert "Comptes de démonstration : déjà chargés." in again.output
    with app.app_context():
        cabinet = connexion.connecter(identifiant, mot_de_passe)
        assert cabinet is not None and cabinet.courriel == "cabinet.demo@exemple.fr"
        habilitations = db.session.scalars(
            select(Habilitation).where(Habilitation.utilisateur_id == cabinet.id)
        ).all()
        assert len(habilitations) == 3
        pending = select(func.count()).where(DemandeCompte.state == DemandeState.A_TRAITER)
        assert db.session.scalar(pending) == 2
    # ... and a back-office Administrateur whose password and enrolment address are printed.
    from backoffice import agents

    agent_password = re.search(r"Mot de passe : (\S+-backoffice)", first.output).group(1)
    assert "otpauth://totp/" in first.output
    with app.app_context():
        assert agents.verifier_mot_de_passe("admin.demo@asp.localhost", agent_password)
