"""``flask agents``: create, list and deactivate back-office agents.

``flask agents create EMAIL --role administrateur|asp|ud [--departements 44,75] [--nom X
--prenom Y]`` reads the password on standard input (one line; asked twice, hidden, on a
terminal), prints the ``otpauth://`` enrolment URI and the 10 recovery codes, once.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_babel import format_datetime

from backoffice import agents
from extensions import db
from models.agents import Agent, RoleAgent
from workflows.journal import Acteur

CLI = Acteur("systeme", "cli")

group = AppGroup("agents", help="Agents du back-office : création, liste, désactivation.")


def _echouer(messages: list[str]) -> None:
    for message in messages:
        click.echo(message, err=True)
    sys.exit(1)


def _lire_mot_de_passe() -> str:
    if sys.stdin.isatty():
        return click.prompt(
            "Mot de passe (16 caractères au moins)",
            hide_input=True,
            confirmation_prompt="Confirmez le mot de passe",
        )
    ligne = sys.stdin.readline()
    return ligne[:-1] if ligne.endswith("\n") else ligne  # spaces are part of a password


@group.command("create")
@click.argument("email")
@click.option(
    "--role", required=True, type=click.Choice([role.value for role in RoleAgent]), help="Rôle."
)
@click.option(
    "--departements",
    default="",
    help="Agent UD : codes des départements couverts, séparés par des virgules (ex. 44,75).",
)
@click.option("--nom", default="", help="Nom de l'agent.")
@click.option("--prenom", default="", help="Prénom de l'agent.")
def create(email: str, role: str, departements: str, nom: str, prenom: str) -> None:
    """Créer un agent ; le mot de passe est lu sur l'entrée standard."""
    try:
        codes = agents.lire_departements(departements)
    except agents.AgentInvalide as exc:
        _echouer(exc.messages)
    mot_de_passe = _lire_mot_de_passe().removesuffix("\r")
    if not mot_de_passe:
        _echouer(["Aucun mot de passe lu sur l'entrée standard."])
    try:
        cree = agents.creer_agent(
            email, role, mot_de_passe, acteur=CLI, departements=codes, nom=nom, prenom=prenom
        )
    except agents.AgentInvalide as exc:
        _echouer(["Agent non créé :", *(f"- {message}" for message in exc.messages)])
    agent = cree.agent
    click.echo(f"Agent créé : {agent.email} ({agent.role.label}).")
    click.echo(
        "Double authentification : ouvrez cette adresse dans une application d'authentification "
        "(ou scannez le QR code affiché à la première connexion) :"
    )
    click.echo(cree.uri_enrolement)
    click.echo(
        "Codes de secours (chacun ne sert qu'une fois ; conservez-les hors ligne, ils ne seront "
        "plus affichés) :"
    )
    for code in cree.codes_secours:
        click.echo(f"  {code}")


@group.command("list")
def list_agents() -> None:
    """Lister les agents."""
    liste = db.session.scalars(db.select(Agent).order_by(Agent.email)).all()
    if not liste:
        click.echo("Aucun agent.")
        return
    for agent in liste:
        enrolement = (
            "double authentification activée"
            if agent.enrole
            else "double authentification en attente"
        )
        connexion = (
            "dernière connexion " + format_datetime(agent.derniere_connexion_at, "dd/MM/yyyy HH:mm")
            if agent.derniere_connexion_at
            else "jamais connecté"
        )
        departements = ",".join(agent.codes_departements)
        click.echo(
            " | ".join(
                part
                for part in (
                    agent.email,
                    agent.role.label + (f" ({departements})" if departements else ""),
                    "actif" if agent.actif else "désactivé",
                    enrolement,
                    connexion,
                )
            )
        )


@group.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Désactiver un agent et fermer ses sessions."""
    try:
        agent = agents.desactiver_agent(email, acteur=CLI)
    except agents.AgentInvalide as exc:
        _echouer(exc.messages)
    click.echo(f"Agent désactivé : {agent.email} (ses sessions sont fermées).")


def init_app(app) -> None:
    app.cli.add_command(group)
