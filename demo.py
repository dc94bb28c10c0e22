"""``flask demo load``: the demo data ``make run`` shows (idempotent)."""

import json
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from extensions import db
from models.submission import Submission

group = AppGroup("demo", help="Données de démonstration.")


# The demo accounting firm: one identity (one address) holding three client establishments,
# as an expert-comptable does (seed: "using one email in compte utilisateur à créer groups
# every client establishment"); and two requests waiting in the agents' queue.
DEMO_COURRIEL = "cabinet.demo@exemple.fr"
DEMO_CLIENTS = ("96285287700019", "51463076300019", "82161399900019")
DEMO_EN_ATTENTE = ("53272516500015", "41919545800015")
DEMO_AGENT = "démonstration"


@group.command("load")
@click.option(
    "--mot-de-passe",
    help="Mot de passe de l'identité de démonstration (par défaut : tiré au hasard et affiché).",
)
def load(mot_de_passe):
    """Load the SIRENE sample, one example submission per standalone form, and the demo
    accounts: an accounting firm with three establishments, two pending requests."""
    from referentiels.sirene import load_sample
    from workflows.formulaires import deposer_soumission

    report = load_sample()
    click.echo(f"Répertoire SIRENE : {report}")
    examples = Path(current_app.root_path) / "forms" / "examples"
    for definition in current_app.extensions["forms"].standalone():
        already = db.session.scalar(
            select(func.count()).select_from(Submission).where(Submission.form_id == definition.id)
        )
        path = examples / f"{definition.id}.json"
        if already or not path.exists():
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        errors = definition.errors(document)
        if errors:
            raise click.ClickException(f"{path} n'est pas valide : {errors}")
        submission = deposer_soumission(definition, document)
        click.echo(f"Soumission d'exemple {definition.id} : {submission.reference}")
    _demo_comptes(mot_de_passe)


def _document(siret: str, courriel: str, nom: str, prenom: str) -> dict:
    """An account request for ``siret`` as its directory record and a contact person fill it."""
    from referentiels import annuaire

    etablissement = annuaire.rechercher_etablissement(siret).as_etablissement()
    etablissement["courriel"] = f"contact.{siret}@exemple.fr"
    etablissement["telephone"] = "+33140000000"
    return {
        "etablissement": etablissement,
        "utilisateur": {
            "nom": nom,
            "prenom": prenom,
            "telephone": "+33612345678",
            "courriel": courriel,
            "question_secrete": "Quel était le nom de votre école primaire ?",
            "reponse": "Jules Ferry",
        },
    }


def _demo_comptes(mot_de_passe: str | None) -> None:
    """Through the real operations, so the demo has its journal rows and its mails."""
    from identites import motdepasse
    from models.comptes import Etablissement
    from workflows import comptes
    from workflows.journal import Acteur

    if db.session.scalar(select(Etablissement.id).where(Etablissement.siret == DEMO_CLIENTS[0])):
        click.echo("Comptes de démonstration : déjà chargés.")
        return
    agent = Acteur("agent", DEMO_AGENT)
    version = current_app.extensions["forms"][comptes.FORM_ID].version
    for siret in DEMO_CLIENTS:
        document = _document(siret, DEMO_COURRIEL, "DUPONT", "Camille")
        demande = comptes.demander_compte(document, version, Acteur("usager", DEMO_COURRIEL))
        comptes.valider_demande_compte(demande.id, agent)
    for siret in DEMO_EN_ATTENTE:
        courriel = f"dirigeant.{siret}@exemple.fr"
        comptes.demander_compte(
            _document(siret, courriel, "MARTIN", "Louis"), version, Acteur("usager", courriel)
        )
    cabinet = comptes.utilisateur_connu(DEMO_COURRIEL)
    mot_de_passe = mot_de_passe or secrets.token_urlsafe(12)
    cabinet.password_hash = motdepasse.hash_secret(mot_de_passe)
    db.session.commit()
    click.echo(
        f"Comptes de démonstration : l'expert-comptable {cabinet.prenom} {cabinet.nom} "
        f"gère {len(DEMO_CLIENTS)} établissements ; {len(DEMO_EN_ATTENTE)} demandes attendent "
        "les agents."
    )
    click.echo(f"  Identifiant : {cabinet.identifiant}")
    click.echo(f"  Mot de passe : {mot_de_passe}")
    _demo_agent(mot_de_passe)


DEMO_AGENT_EMAIL = "admin.demo@asp.localhost"


def _demo_agent(mot_de_passe: str) -> None:
    """An Administrateur for the back-office; it enrols its second factor at first sign-in
    (the QR code is shown then), or with the printed otpauth:// address."""
    from backoffice import agents
    from workflows.journal import Acteur

    if agents.par_email(DEMO_AGENT_EMAIL) is not None:
        return
    phrase = f"{mot_de_passe}-backoffice"  # agents need 16 characters at least
    cree = agents.creer_agent(
        DEMO_AGENT_EMAIL,
        "administrateur",
        phrase,
        acteur=Acteur("systeme", "demo"),
        nom="DEMO",
        prenom="Administrateur",
    )
    click.echo("Back-office (http://127.0.0.1:5000/backoffice/) :")
    click.echo(f"  Agent : {DEMO_AGENT_EMAIL}")
    click.echo(f"  Mot de passe : {phrase}")
    click.echo(f"  Double authentification : {cree.uri_enrolement}")


def init_app(app):
    app.cli.add_command(group)
