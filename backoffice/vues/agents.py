"""« Agents »: the list of back-office agents, for administrators, read-only.

Agents are created and deactivated with ``flask agents`` (a later admin form may call the same
operations of ``backoffice.agents``). No secret column is listed or searchable.
"""

from __future__ import annotations

from typing import ClassVar

from flask_admin.contrib.sqla.filters import EnumEqualFilter
from flask_babel import format_datetime
from sqlalchemy import func, select

from backoffice.securite import VueModeleAgent
from backoffice.vues.tableau_de_bord import Tuile
from extensions import db
from models.agents import Agent, RoleAgent


def _date(view, context, model, name) -> str:
    valeur = getattr(model, name)
    return format_datetime(valeur, "dd/MM/yyyy HH:mm") if valeur else "—"


def _role(view, context, model, name) -> str:
    return model.role.label


def _departements(view, context, model, name) -> str:
    return ", ".join(model.codes_departements) or "—"


def _enrolement(view, context, model, name) -> str:
    if model.totp_enrolled_at is None:
        return "En attente"
    return "Activée le " + format_datetime(model.totp_enrolled_at, "dd/MM/yyyy")


class VueAgents(VueModeleAgent):
    roles_autorises = frozenset({RoleAgent.ADMINISTRATEUR})

    column_list = (
        "email",
        "nom",
        "prenom",
        "role",
        "departements",
        "actif",
        "totp_enrolled_at",
        "derniere_connexion_at",
        "created_at",
    )
    column_labels: ClassVar[dict[str, str]] = {
        "email": "Adresse électronique",
        "nom": "Nom",
        "prenom": "Prénom",
        "role": "Rôle",
        "departements": "Départements",
        "actif": "Actif",
        "totp_enrolled_at": "Double authentification",
        "derniere_connexion_at": "Dernière connexion",
        "created_at": "Créé le",
    }
    column_formatters: ClassVar[dict] = {
        "role": _role,
        "departements": _departements,
        "totp_enrolled_at": _enrolement,
        "derniere_connexion_at": _date,
        "created_at": _date,
    }
    column_sortable_list = ("email", "nom", "role", "actif", "derniere_connexion_at", "created_at")
    column_default_sort = ("email", False)
    column_searchable_list = ("email", "nom", "prenom")
    column_filters = (
        EnumEqualFilter(Agent.role, "Rôle", options=[(r.name, r.label) for r in RoleAgent]),
        "actif",
    )


def compter_agents_actifs(agent: Agent) -> int:
    return db.session.scalar(select(func.count()).select_from(Agent).where(Agent.actif))


def init_admin(admin) -> None:
    admin.add_view(
        VueAgents(Agent, db, name="Agents", endpoint="agents", category="Administration")
    )
    admin.index_view.ajouter_tuile(
        Tuile(
            "Agents actifs",
            compter_agents_actifs,
            endpoint="agents.index_view",
            roles=frozenset({RoleAgent.ADMINISTRATEUR}),
            ordre=900,
            description="Comptes du back-office en service.",
        )
    )
