"""Every back-office view denies anonymous (redirect to sign-in) and wrong-role (403) access,
the index included; the base classes fail closed and the Agents list shows no secret."""

from __future__ import annotations

import html
import re

import pytest
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import select

from backoffice.securite import VueModeleAgent, portee_departements, verifier_vues_protegees
from extensions import db
from models.agents import Agent, AgentDepartement, RoleAgent
from tests.backoffice.conftest import ADMIN, ASP, UD, connecter, creer

ADMIN_ONLY = [
    ("GET", "/backoffice/agents/"),
    ("GET", "/backoffice/agents/?search=martin"),
    ("GET", "/backoffice/agents/details/?id=1"),
    ("GET", "/backoffice/agents/new/"),
    ("GET", "/backoffice/agents/edit/?id=1"),
    ("GET", "/backoffice/agents/export/csv/"),
    ("GET", "/backoffice/agents/ajax/lookup/?name=x&query=y"),
    ("POST", "/backoffice/agents/action/"),
    ("POST", "/backoffice/agents/delete/"),
    ("POST", "/backoffice/agents/new/"),
    ("POST", "/backoffice/agents/ajax/update/"),
]
EVERY_VIEW = [("GET", "/backoffice/"), *ADMIN_ONLY]


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _client(app, email, role, departements=""):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    return client


@pytest.mark.parametrize("method, url", EVERY_VIEW)
def test_anonymous_requests_are_sent_to_the_sign_in_page(app, method, url):
    reponse = app.test_client().open(url, method=method)
    assert reponse.status_code == 302
    assert reponse.headers["Location"].startswith("/backoffice/connexion")


@pytest.mark.parametrize("role, email, departements", [("asp", ASP, ""), ("ud", UD, "44")])
@pytest.mark.parametrize("method, url", ADMIN_ONLY)
def test_other_roles_get_403_on_administrator_views(app, role, email, departements, method, url):
    client = _client(app, email, role, departements)
    reponse = client.open(url, method=method)
    assert reponse.status_code == 403
    page = _page(reponse)
    assert "Accès refusé" in page and "Votre rôle ne vous donne pas accès" in page
    assert "bootstrap.min.css" in page  # the back-office's look, not the public one


@pytest.mark.parametrize("role, email, departements", [("asp", ASP, ""), ("ud", UD, "44")])
def test_every_role_reaches_the_dashboard_but_not_the_admin_menu(app, role, email, departements):
    client = _client(app, email, role, departements)
    page = _page(client.get("/backoffice/"))
    assert "Tableau de bord" in page
    assert "/backoffice/agents/" not in page
    assert "Agents actifs" not in page


def test_the_administrator_sees_the_agents_list_without_secrets(app):
    client = _client(app, ADMIN, "administrateur")
    creer(app, UD, "ud", "44,75", enrole=False)
    reponse = client.get("/backoffice/agents/")
    assert reponse.status_code == 200
    page = _page(reponse)
    for text in (
        "Adresse électronique",
        "Rôle",
        "Départements",
        "Double authentification",
        "Dernière connexion",
        UD,
        "Agent UD",
        "44, 75",
        "En attente",
        "Liste (2)",
    ):
        assert text in page, text
    with app.app_context():
        agent = db.session.scalars(select(Agent).where(Agent.email == ADMIN)).one()
        for secret in (agent.password_hash, agent.totp_secret_chiffre, agent.jeton_session):
            assert secret not in page
    for forbidden in ("password_hash", "totp_secret", "jeton_session", "code_hash"):
        assert forbidden not in page


def test_the_agents_list_is_read_only(app):
    client = _client(app, ADMIN, "administrateur")
    with app.app_context():
        agent_id = db.session.scalars(select(Agent)).one().id
    assert client.get("/backoffice/agents/new/").status_code == 302
    assert client.get(f"/backoffice/agents/edit/?id={agent_id}").status_code == 302
    assert client.get(f"/backoffice/agents/details/?id={agent_id}").status_code == 302
    assert client.get("/backoffice/agents/export/csv/").status_code == 302
    client.post("/backoffice/agents/delete/", data={"id": agent_id})
    client.post("/backoffice/agents/new/", data={"email": "x@y.fr", "role": "asp"})
    with app.app_context():
        assert db.session.scalars(select(Agent.email)).all() == [ADMIN]


def test_the_dashboard_tiles_are_per_role(app):
    client = _client(app, ADMIN, "administrateur")
    creer(app, ASP, "asp")
    page = _page(client.get("/backoffice/"))
    assert "Agents actifs" in page
    assert '<p class="display-4 mb-1 tuile-valeur">2</p>' in page
    assert 'href="/backoffice/agents/"' in page


def test_back_office_pages_are_in_french(app):
    client = _client(app, ADMIN, "administrateur")
    page = _page(client.get("/backoffice/agents/"))
    assert '<html lang="fr">' in page
    for text in ("Liste", "Chercher", "Ajouter un filtre", "Administration", "Se déconnecter"):
        assert text in page, text
    for english in (">List (", ">List<", "Search", "Add Filter", ">Home<", "With selected"):
        assert english not in page, english


def test_a_view_outside_the_base_classes_stops_the_start_up(app):
    admin = app.extensions["admin"][0]

    class Libre(BaseView):
        @expose("/")
        def index(self):
            return "ouvert"

    class SansRole(VueModeleAgent):
        pass

    verifier_vues_protegees(admin)  # the registered views pass
    admin._views.append(Libre(endpoint="libre"))
    with pytest.raises(RuntimeError, match="Libre"):
        verifier_vues_protegees(admin)
    admin._views[-1] = ModelView(Agent, db, endpoint="brut")
    with pytest.raises(RuntimeError, match="ModelView"):
        verifier_vues_protegees(admin)
    admin._views[-1] = SansRole(Agent, db, endpoint="sans_role")
    with pytest.raises(RuntimeError, match="SansRole"):
        verifier_vues_protegees(admin)


class VueDepartements(VueModeleAgent):
    """A scoped view over the départements of the agents, for the scoping hook's test."""

    roles_autorises = frozenset(RoleAgent)
    can_view_details = True
    column_list = ("agent_id", "code")

    def filtrer_portee(self, query, agent):
        return query.filter(portee_departements(agent, AgentDepartement.code))


def test_the_scoping_hook_restricts_list_count_and_single_fetch(make_app):
    app = make_app()
    app.extensions["admin"][0].add_view(
        VueDepartements(AgentDepartement, db, name="Départements", endpoint="departements")
    )
    client = _client(app, UD, "ud", "44")
    creer(app, "autre.ud@dreets.localhost", "ud", "75,971")
    with app.app_context():
        ids = {d.code: (d.agent_id, d.code) for d in db.session.scalars(select(AgentDepartement))}
    page = _page(client.get("/backoffice/departements/"))
    assert "Liste (1)" in page
    assert re.findall(r'<td class="col-code">\s*(\w+)\s*<', page) == ["44"]
    visible = client.get("/backoffice/departements/details/?id={},{}".format(*ids["44"]))
    assert visible.status_code == 200
    cache = client.get("/backoffice/departements/details/?id={},{}".format(*ids["75"]))
    assert cache.status_code == 302  # "the record does not exist"


def test_portee_departements_by_role(app):
    creer(app, UD, "ud", "44")
    creer(app, ASP, "asp")
    with app.app_context():
        ud, asp = (
            db.session.scalars(select(Agent).where(Agent.email == e)).one() for e in (UD, ASP)
        )
        db.session.add(AgentDepartement(agent_id=asp.id, code="75"))
        db.session.commit()
        codes = lambda agent: db.session.scalars(  # noqa: E731
            select(AgentDepartement.code).where(portee_departements(agent, AgentDepartement.code))
        ).all()
        assert codes(ud) == ["44"]
        assert sorted(codes(asp)) == ["44", "75"]
        ud.departements.clear()
        assert codes(ud) == []


def test_the_role_filter_shows_labels_and_filters(app):
    client = _client(app, ADMIN, "administrateur")
    creer(app, ASP, "asp")
    page = _page(client.get("/backoffice/agents/"))
    assert '"Agent ASP"' in page  # the filter's options carry the French labels
    tableau = page.split("model-list")[1]
    assert ASP in tableau and ADMIN in tableau
    tableau = _page(client.get("/backoffice/agents/?flt0_0=ASP")).split("model-list")[1]
    assert ASP in tableau and ADMIN not in tableau


class VueActionPortee(VueModeleAgent):
    """Agents seen by their role's scope: only the Agents ASP here."""

    roles_autorises = frozenset({RoleAgent.ADMINISTRATEUR})

    def filtrer_portee(self, query, agent):
        return query.filter(Agent.role == RoleAgent.ASP)

    @action("marquer", "Marquer")
    def action_marquer(self, ids):
        for agent in self.lignes_choisies(ids):
            agent.nom = "MARQUÉ"
        db.session.commit()


def test_bulk_actions_only_reach_rows_within_the_scope(make_app):
    app = make_app()
    app.extensions["admin"][0].add_view(VueActionPortee(Agent, db, endpoint="portee"))
    client = _client(app, ADMIN, "administrateur")
    creer(app, ASP, "asp")
    with app.app_context():
        ids = [str(i) for i in db.session.scalars(select(Agent.id))]
    reponse = client.post(
        "/backoffice/portee/action/", data={"action": "marquer", "rowid": [*ids, "x"]}
    )
    assert reponse.status_code == 302
    with app.app_context():
        noms = dict(db.session.execute(select(Agent.email, Agent.nom)).all())
    assert noms == {ADMIN: "", ASP: "MARQUÉ"}
