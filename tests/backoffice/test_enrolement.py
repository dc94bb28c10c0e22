"""Enrolment: an agent whose TOTP is not confirmed sees the QR code, confirms a first code, and
reaches nothing else meanwhile; the secret is never shown again afterwards."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from backoffice import totp
from extensions import db
from models.agents import Agent
from models.audit import AuditEvent
from tests.backoffice.conftest import ADMIN, code, creer, mot_de_passe


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _enroler(client, valeur):
    return client.post("/backoffice/enrolement", data={"code": valeur})


def test_an_unenrolled_agent_is_sent_to_the_enrolment_page_with_the_qr_code(app):
    agent = creer(app, enrole=False)
    client = app.test_client()
    reponse = mot_de_passe(client)
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith("/backoffice/enrolement")
    page = _page(client.get("/backoffice/enrolement"))
    assert "Activer la double authentification" in page
    assert totp.secret_lisible(agent.secret) in page
    svg = re.search(r"<svg .*?</svg>", page, re.DOTALL).group(0)
    assert 'role="img"' in svg and "<title>QR code" in svg
    assert "<script" not in svg and "style=" not in svg


@pytest.mark.parametrize(
    "url", ["/backoffice/", "/backoffice/agents/", "/backoffice/agents/?search=x"]
)
def test_until_confirmed_every_view_leads_back_to_the_enrolment(app, url):
    creer(app, enrole=False)
    client = app.test_client()
    mot_de_passe(client)
    reponse = client.get(url)
    assert reponse.status_code == 302
    assert reponse.headers["Location"].endswith("/backoffice/enrolement")
    # The code step of an enrolled agent is not a way around it either.
    assert code(client, "123456").headers["Location"].endswith("/backoffice/connexion")


def test_a_wrong_first_code_is_refused_and_a_right_one_enrols_and_signs_in(app):
    agent = creer(app, enrole=False)
    client = app.test_client()
    mot_de_passe(client)
    reponse = _enroler(client, agent.codes[0])  # recovery codes do not enrol
    assert reponse.status_code == 422
    assert "Code incorrect" in _page(reponse)
    faux = f"{(int(agent.code()) + 1) % 1_000_000:06d}"
    assert _enroler(client, faux).status_code == 422
    reponse = _enroler(client, agent.code())
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith("/backoffice/")
    page = _page(client.get("/backoffice/"))
    assert "Double authentification activée" in page
    with app.app_context():
        assert db.session.scalars(select(Agent)).one().enrole
        operations = db.session.scalars(select(AuditEvent.operation).order_by(AuditEvent.id)).all()
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "agent.enrolement")
        ).one()
    assert operations == ["agent.creation", "agent.enrolement", "agent.connexion"]
    assert (event.actor, event.state_from, event.state_to) == (ADMIN, "non_enrole", "enrole")


def test_after_enrolment_the_secret_is_never_shown_again(app, horloge):
    agent = creer(app, enrole=False)
    client = app.test_client()
    mot_de_passe(client)
    assert _enroler(client, agent.code(horloge.instant)).status_code == 303
    assert client.get("/backoffice/enrolement").status_code == 303  # signed in: no step here
    client.post("/backoffice/deconnexion")
    reponse = mot_de_passe(client)
    assert reponse.headers["Location"].endswith("/backoffice/connexion/code")
    assert client.get("/backoffice/enrolement").status_code == 303
    page = _page(client.get("/backoffice/connexion/code"))
    assert totp.secret_lisible(agent.secret) not in page and agent.secret not in page
    assert "<svg" not in page


def test_the_enrolment_code_cannot_be_replayed_at_sign_in(app, horloge):
    agent = creer(app, enrole=False)
    client = app.test_client()
    mot_de_passe(client)
    valeur = agent.code(horloge.instant)
    assert _enroler(client, valeur).status_code == 303
    client.post("/backoffice/deconnexion")
    mot_de_passe(client)
    assert code(client, valeur).status_code == 422


def test_a_secret_encrypted_under_a_previous_key_still_works_and_is_re_encrypted(make_app):
    ancienne = make_app(SECRET_KEY="ancienne-cle-de-test")
    agent = creer(ancienne)
    app = make_app(SECRET_KEY="nouvelle-cle-de-test", SECRET_KEY_FALLBACKS=["ancienne-cle-de-test"])
    with app.app_context():
        avant = db.session.scalars(select(Agent)).one().totp_secret_chiffre
    client = app.test_client()
    mot_de_passe(client)
    assert code(client, agent.code()).status_code == 303
    with app.app_context():
        apres = db.session.scalars(select(Agent)).one().totp_secret_chiffre
        assert apres != avant
        assert totp.dechiffrer(apres) == agent.secret
    sans_repli = make_app(SECRET_KEY="nouvelle-cle-de-test")
    with sans_repli.app_context():
        assert totp.dechiffrer(apres) == agent.secret
    inconnue = make_app(SECRET_KEY="une-tout-autre-cle")
    with inconnue.app_context(), pytest.raises(totp.SecretIllisible):
        totp.dechiffrer(apres)
