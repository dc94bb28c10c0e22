"""CSRF on every back-office POST (sign-in steps, sign-out, Flask-Admin's forms and actions),
and the application's security headers and CSP, unchanged, on back-office pages."""

from __future__ import annotations

import html
import re

import pytest
from flask_admin.actions import action

from backoffice.securite import VueModeleAgent
from extensions import db
from models.agents import Agent, RoleAgent
from security import content_security_policy
from tests.backoffice.conftest import ADMIN, PHRASE, cookie_backoffice, creer

JETON = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def _jeton(page: str) -> str:
    trouve = JETON.search(page)
    assert trouve, "no csrf_token in the page"
    return trouve.group(1) or trouve.group(2)


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def _connecter_avec_jetons(client, agent):
    page = _page(client.get("/backoffice/connexion"))
    reponse = client.post(
        "/backoffice/connexion",
        data={"email": agent.email, "mot_de_passe": PHRASE, "csrf_token": _jeton(page)},
    )
    assert reponse.status_code == 303
    page = _page(client.get("/backoffice/connexion/code"))
    reponse = client.post(
        "/backoffice/connexion/code", data={"code": agent.code(), "csrf_token": _jeton(page)}
    )
    assert reponse.status_code == 303


def test_the_sign_in_steps_need_the_csrf_token(csrf_app):
    agent = creer(csrf_app)
    client = csrf_app.test_client()
    client.get("/backoffice/connexion")
    sans = client.post("/backoffice/connexion", data={"email": ADMIN, "mot_de_passe": PHRASE})
    assert sans.status_code == 400
    assert "Votre session a expiré ou le formulaire n'est plus valide." in _page(sans)
    assert cookie_backoffice(client) is not None  # the CSRF token only; no agent in it
    with client.session_transaction("/backoffice/") as session:
        assert "agent" not in session
    page = _page(client.get("/backoffice/connexion"))
    client.post(
        "/backoffice/connexion",
        data={"email": ADMIN, "mot_de_passe": PHRASE, "csrf_token": _jeton(page)},
    )
    assert client.post("/backoffice/connexion/code", data={"code": agent.code()}).status_code == 400
    assert client.post("/backoffice/enrolement", data={"code": agent.code()}).status_code == 400


def test_a_public_csrf_token_is_not_a_back_office_one(csrf_app):
    creer(csrf_app)
    client = csrf_app.test_client()
    public = _page(client.get("/connexion"))
    reponse = client.post(
        "/backoffice/connexion",
        data={"email": ADMIN, "mot_de_passe": PHRASE, "csrf_token": _jeton(public)},
    )
    assert reponse.status_code == 400


def test_signing_out_needs_the_csrf_token(csrf_app):
    agent = creer(csrf_app)
    client = csrf_app.test_client()
    _connecter_avec_jetons(client, agent)
    assert client.post("/backoffice/deconnexion").status_code == 400
    assert client.get("/backoffice/").status_code == 200  # still signed in
    page = _page(client.get("/backoffice/"))
    assert "Se déconnecter" in page
    reponse = client.post("/backoffice/deconnexion", data={"csrf_token": _jeton(page)})
    assert reponse.status_code == 303
    assert client.get("/backoffice/").status_code == 302


class VueAvecAction(VueModeleAgent):
    roles_autorises = frozenset({RoleAgent.ADMINISTRATEUR})
    column_list = ("email",)

    @action("marquer", "Marquer", "Marquer les agents choisis ?")
    def action_marquer(self, ids):
        for agent in self.lignes_choisies(ids):
            agent.nom = "MARQUÉ"
        db.session.commit()


def test_flask_admin_actions_need_the_csrf_token_and_render_no_inline_handler(csrf_app):
    csrf_app.extensions["admin"][0].add_view(
        VueAvecAction(Agent, db, name="Avec action", endpoint="avec_action")
    )
    agent = creer(csrf_app)
    client = csrf_app.test_client()
    _connecter_avec_jetons(client, agent)
    with csrf_app.app_context():
        agent_id = db.session.scalars(db.select(Agent.id)).one()
    page = _page(client.get("/backoffice/avec_action/"))
    assert 'data-action-groupee="marquer"' in page
    assert "onclick" not in page
    donnees = {"action": "marquer", "rowid": str(agent_id), "url": "/backoffice/avec_action/"}
    assert client.post("/backoffice/avec_action/action/", data=donnees).status_code == 400
    with csrf_app.app_context():
        assert db.session.get(Agent, agent_id).nom == ""
    reponse = client.post(
        "/backoffice/avec_action/action/", data={**donnees, "csrf_token": _jeton(page)}
    )
    assert reponse.status_code == 302
    with csrf_app.app_context():
        assert db.session.get(Agent, agent_id).nom == "MARQUÉ"


@pytest.mark.parametrize(
    "url",
    ["/backoffice/connexion", "/backoffice/", "/backoffice/agents/", "/backoffice/nulle-part"],
)
def test_back_office_pages_carry_the_application_headers(app, url):
    agent = creer(app)
    client = app.test_client()
    from tests.backoffice.conftest import connecter

    connecter(client, agent)
    reponse = client.get(url)
    csp = reponse.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert csp == content_security_policy(nonce)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert reponse.headers["X-Frame-Options"] == "DENY"
    assert reponse.headers["Cache-Control"] == "no-store"
    page = reponse.get_data(as_text=True)
    for script in re.findall(r"<script[^>]*>", page):
        assert f'nonce="{nonce}"' in script
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handler
