"""Access control of every back-office view: signed-in, enrolled, active agent of an allowed role.

Every view of the Admin derives from ``VueAgent`` (pages) or ``VueModeleAgent`` (model
lists), the index (``vues.tableau_de_bord.TableauDeBord``) included, all built on ``AccesAgent``:

- ``roles_autorises`` is empty by default: a view that forgets to declare it is closed to all.
- ``is_accessible`` asks ``session.agent_connecte()`` (password and second factor checked,
  token valid, not timed out) and the role; Flask-Admin calls it before every request of the
  view and to build the menu (an inaccessible view is also hidden).
- ``inaccessible_callback``: no agent → redirect to the sign-in page (with ``next``), an agent
  half-way through its sign-in → back to its step, the wrong role → 403.
- ``verifier_vues_protegees(admin)`` runs at start-up and refuses a view that does not derive
  from ``AccesAgent``.

CSRF: the application's ``CSRFProtect`` checks every POST, Flask-Admin's included (its
templates put the global ``csrf_token()`` in create, edit, delete and action forms); no
``SecureForm`` on top (two mechanisms clash, stack.md §3.5).

UD scoping (issue #6 item 7): ``VueModeleAgent.filtrer_portee(query, agent)`` restricts the
list, its count, exports and the single-object fetch (``get_one``: a foreign id is answered
like a missing one); use ``portee_departements(agent, colonne)`` there. Bulk actions receive
raw ids from the post: load them with ``lignes_choisies(ids)``, which applies the scope.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import BaseView, tools
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import false, inspect, true
from sqlalchemy.sql.elements import ColumnElement

from backoffice import erreurs
from backoffice import session as session_agent
from models.agents import Agent, RoleAgent

TOUS_LES_ROLES: frozenset[RoleAgent] = frozenset(RoleAgent)
SESSION_EXPIREE = "Votre session a expiré : reconnectez-vous."


def suivant_valide(suivant: str | None) -> str | None:
    """``suivant`` when it is a path of the back-office (never another site), else None."""
    if (
        not suivant
        or not session_agent.sous_prefixe(suivant.split("?", 1)[0])
        or "//" in suivant
        or "\\" in suivant
        or any(ord(c) < 32 for c in suivant)
    ):
        return None
    return suivant


def refuser():
    """The answer to a request the session does not allow (see the module docstring)."""
    courant = session_agent.etat()
    if courant is None:
        if g.get("backoffice_expiree"):
            flash(SESSION_EXPIREE, "warning")
        suivant = suivant_valide(request.full_path.rstrip("?")) if request.method == "GET" else None
        return redirect(url_for("backoffice.connexion", next=suivant))
    if courant.etape == session_agent.ENROLEMENT:
        return redirect(url_for("backoffice.enrolement"))
    if courant.etape == session_agent.CODE:
        return redirect(url_for("backoffice.code"))
    return abort(403)


def portee_departements(agent: Agent, colonne) -> ColumnElement[bool]:
    """The rows an agent may see, for a query on a ``departement`` column.

    Agent UD: ``colonne IN (its départements)`` (nothing if it has none); ASP and
    Administrateur: everything.
    """
    if agent.role is RoleAgent.UD:
        codes = agent.codes_departements
        return colonne.in_(codes) if codes else false()
    return true()


class AccesAgent:
    """Mixin of every back-office view (before the Flask-Admin class in the bases)."""

    roles_autorises: ClassVar[frozenset[RoleAgent]] = frozenset()

    def is_accessible(self) -> bool:
        agent = session_agent.agent_connecte()
        return agent is not None and agent.role in self.roles_autorises

    def inaccessible_callback(self, name: str, **kwargs: Any):
        return refuser()

    def create_blueprint(self, admin):
        blueprint = super().create_blueprint(admin)
        erreurs.brancher(blueprint)  # before Flask-Admin registers it on the app
        return blueprint

    @property
    def agent(self) -> Agent:
        """The signed-in agent (inside a view: ``is_accessible`` has checked it)."""
        agent = session_agent.agent_connecte()
        if agent is None:
            abort(403)
        return agent


class VueAgent(AccesAgent, BaseView):
    """A custom back-office page (``@expose`` its routes; render ``admin/master.html`` children)."""


class VueModeleAgent(AccesAgent, ModelView):
    """A list of model rows. Closed by default: no creation, edition, deletion, export, details."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_view_details = False
    page_size = 50
    can_set_page_size = False

    def filtrer_portee(self, query, agent: Agent):
        """Restrict ``query`` to the rows ``agent`` may see (override for scoped models)."""
        return query

    def get_query(self):
        return self.filtrer_portee(super().get_query(), self.agent)

    def get_count_query(self):
        return self.filtrer_portee(super().get_count_query(), self.agent)

    def get_one(self, id: Any):
        """The row of primary key ``id`` within the agent's scope, else None (→ 404 or redirect).

        ``id`` is Flask-Admin's encoding of the key (``1`` or ``1,44`` for a composite one).
        """
        cles = inspect(self.model).primary_key
        valeurs = tools.iterdecode(id)
        if len(valeurs) != len(cles):
            return None
        try:
            conditions = [
                cle == cle.type.python_type(valeur)
                for cle, valeur in zip(cles, valeurs, strict=True)
            ]
        except (TypeError, ValueError):
            return None
        return self.get_query().filter(*conditions).one_or_none()

    def lignes_choisies(self, ids: list[str]) -> list:
        """The rows of a bulk action's ``ids`` that the agent may see (single-column keys)."""
        (cle,) = inspect(self.model).primary_key
        valeurs = []
        for valeur in ids:
            try:
                valeurs.append(cle.type.python_type(valeur))
            except (TypeError, ValueError):
                continue  # not a key: no row
        return self.get_query().filter(cle.in_(valeurs)).all() if valeurs else []


def verifier_vues_protegees(admin) -> None:
    """Refuse to start with a back-office view that escapes the access control."""
    for vue in admin._views:
        if not isinstance(vue, AccesAgent) or not vue.roles_autorises:
            raise RuntimeError(
                f"back-office view {type(vue).__name__} must derive from backoffice.securite."
                "AccesAgent and declare roles_autorises"
            )
