"""The back-office index: a dashboard of tiles, each a count with a link, per role.

Other modules add theirs when they register their views::

    admin.index_view.ajouter_tuile(
        Tuile(
            "Demandes à traiter",
            compter=lambda agent: ...,  # scoped to the agent (UD: its départements)
            endpoint="demandes.index_view",
            roles=frozenset({RoleAgent.ASP, RoleAgent.ADMINISTRATEUR}),
            ordre=10,
        )
    )

A count should be cheap (an indexed ``count`` or an estimate): the page is everyone's landing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import url_for
from flask_admin import AdminIndexView, expose

from backoffice.securite import TOUS_LES_ROLES, AccesAgent
from models.agents import Agent, RoleAgent


@dataclass(frozen=True)
class Tuile:
    titre: str
    compter: Callable[[Agent], int | None]
    endpoint: str | None = None
    roles: frozenset[RoleAgent] = field(default_factory=lambda: TOUS_LES_ROLES)
    ordre: int = 100
    description: str = ""


@dataclass(frozen=True)
class TuileAffichee:
    titre: str
    valeur: int | None
    lien: str | None
    description: str


class TableauDeBord(AccesAgent, AdminIndexView):
    roles_autorises = TOUS_LES_ROLES

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tuiles: list[Tuile] = []

    def ajouter_tuile(self, tuile: Tuile) -> None:
        self.tuiles.append(tuile)
        self.tuiles.sort(key=lambda t: (t.ordre, t.titre))

    def tuiles_de(self, agent: Agent) -> list[TuileAffichee]:
        return [
            TuileAffichee(
                tuile.titre,
                tuile.compter(agent),
                url_for(tuile.endpoint) if tuile.endpoint else None,
                tuile.description,
            )
            for tuile in self.tuiles
            if agent.role in tuile.roles
        ]

    @expose("/")
    def index(self):
        agent = self.agent
        return self.render(
            "backoffice/tableau_de_bord.html", agent=agent, tuiles=self.tuiles_de(agent)
        )
