"""``flask agents``: create, list and deactivate back-office agents, reset their second factor,
set their password.

``flask agents create EMAIL --role administrateur|asp|ud [--departements 44,75] [--nom X
--prenom Y]`` reads the password on standard input (one line; asked twice, hidden, on a
terminal), prints the ``otpauth://`` enrolment URI and the 10 recovery codes, once.

``flask agents reset-2fa EMAIL`` (a lost phone): a new TOTP secret and 10 new recovery codes,
the old ones dead, every session ended; prints the new URI and codes like ``create``, and the
agent's next sign-in goes through the enrolment page (QR code) again.

``flask agents password EMAIL`` reads a new password on standard input (same policy as
``create``) and ends the agent's sessions. An agent changes its own on « Mon compte ».
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

group = AppGroup(
    "agents",
    help="Agents du back-office : création, liste, désactivation, double authentification, "
    "mot de passe.",
)


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
    _afficher_enrolement(cree)


def _afficher_enrolement(cree: agents.AgentCree) -> None:
    click.echo(
        "Double authentification : ouvrez cette adresse dans une application d'authentification "
        "(ou scannez le QR code affiché à sa prochaine connexion) :"
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


@group.command("reset-2fa")
@click.argument("email")
def reset_2fa(email: str) -> None:
    """Réinitialiser la double authentification d'un agent (téléphone perdu)."""
    try:
        cree = agents.reinitialiser_second_facteur(email, acteur=CLI)
    except agents.AgentInvalide as exc:
        _echouer(exc.messages)
    agent = cree.agent
    click.echo(
        f"Double authentification réinitialisée : {agent.email}. L'ancienne clé et les anciens "
        "codes de secours ne fonctionnent plus ; ses sessions sont fermées. À sa prochaine "
        "connexion, l'agent enrôlera de nouveau son application (QR code)."
    )
    if not agent.actif:
        click.echo("Attention : cet agent est désactivé.")
    _afficher_enrolement(cree)


@group.command("password")
@click.argument("email")
def password(email: str) -> None:
    """Changer le mot de passe d'un agent ; il est lu sur l'entrée standard."""
    agent = agents.par_email(email)
    if agent is None:
        _echouer([f"Aucun agent n'a l'adresse {agents.normaliser_email(email)}."])
    mot_de_passe = _lire_mot_de_passe().removesuffix("\r")
    if not mot_de_passe:
        _echouer(["Aucun mot de passe lu sur l'entrée standard."])
    try:
        agents.changer_mot_de_passe(agent, mot_de_passe, acteur=CLI)
    except agents.AgentInvalide as exc:
        _echouer(["Mot de passe non changé :", *(f"- {message}" for message in exc.messages)])
    click.echo(f"Mot de passe changé : {agent.email} (ses sessions sont fermées).")


def init_app(app) -> None:
    app.cli.add_command(group)
