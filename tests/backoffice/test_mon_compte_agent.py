"""« Mon compte » in the back-office: every role changes its own password there, with the
current one, twice the new one and the policy of ``flask agents create``; the change is
journaled, ends the agent's other sessions and keeps this one; CSRF and a failure throttle
guard it."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from extensions import db
from models.agents import Agent
from models.audit import AuditEvent
from tests.backoffice.conftest import (
    ADMIN,
    ASP,
    PHRASE,
    UD,
    code,
    connecter,
    creer,
    mot_de_passe,
)
from tests.backoffice.test_csrf_et_entetes import _connecter_avec_jetons, _jeton

URL = "/backoffice/mon-compte/"
NOUVELLE = "la mer monte le soir sur la digue"


def _page(reponse) -> str:
    return html.unescape(reponse.get_data(as_text=True))


def _changer(client, actuel=PHRASE, nouveau=NOUVELLE, confirmation=None, **extra):
    donnees = {
        "actuel": actuel,
        "nouveau": nouveau,
        "confirmation": nouveau if confirmation is None else confirmation,
        **extra,
    }
    return client.post(URL, data=donnees)


def _evenements(app):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "agent.mot_de_passe")
        ).all()


def _hash(app, email=ADMIN):
    with app.app_context():
        return db.session.scalars(select(Agent).where(Agent.email == email)).one().password_hash


@pytest.fixture
def admin(app):
    client = app.test_client()
    connecter(client, creer(app))
    return client


@pytest.mark.parametrize(
    ("email", "role", "departements"),
    [(ADMIN, "administrateur", ""), (ASP, "asp", ""), (UD, "ud", "44")],
)
def test_every_role_has_its_page_linked_from_its_name(app, email, role, departements):
    client = app.test_client()
    connecter(client, creer(app, email, role, departements))
    page = _page(client.get(URL))
    assert "Changer mon mot de passe" in page and email in page
    assert f'href="{URL}"' in _page(client.get("/backoffice/"))


def test_an_anonymous_visitor_is_sent_to_the_sign_in_page(app):
    creer(app)
    client = app.test_client()
    reponse = client.get(URL)
    assert reponse.status_code == 302
    assert "/backoffice/connexion?next=/backoffice/mon-compte/" in reponse.headers["Location"]
    assert _changer(client).status_code == 302
    assert _evenements(app) == []


def test_the_password_changes_the_other_sessions_end_and_this_one_goes_on(app):
    agent = creer(app)
    ici, ailleurs = app.test_client(), app.test_client()
    connecter(ici, agent)
    mot_de_passe(ailleurs)  # a second session, opened with a recovery code (no TOTP replay)
    assert code(ailleurs, agent.codes[0]).status_code == 303
    assert ailleurs.get("/backoffice/").status_code == 200
    ancien = _hash(app)

    reponse = _changer(ici)
    assert reponse.status_code == 303, _page(reponse)
    assert "Votre mot de passe a été changé" in _page(ici.get(URL))
    assert _hash(app) != ancien and _hash(app).startswith("$argon2id$")
    (evenement,) = _evenements(app)
    assert (evenement.actor_type, evenement.actor) == ("agent", ADMIN)
    assert NOUVELLE not in str(evenement.details) and PHRASE not in str(evenement.details)

    assert ici.get("/backoffice/").status_code == 200
    assert ailleurs.get("/backoffice/").status_code == 302  # signed out
    nouveau = app.test_client()
    assert mot_de_passe(nouveau).status_code == 422
    assert mot_de_passe(nouveau, phrase=NOUVELLE).status_code == 303


@pytest.mark.parametrize(
    ("champs", "message"),
    [
        ({"actuel": "ce nest pas le bon mot de passe"}, "Le mot de passe actuel est incorrect."),
        ({"actuel": ""}, "Saisissez votre mot de passe actuel."),
        ({"confirmation": NOUVELLE + "!"}, "Les deux saisies du nouveau mot de passe sont"),
        ({"nouveau": "quinze caracter"}, "au moins 16 caractères"),
        ({"nouveau": "claire.martin@asp.localhost"}, "votre adresse"),
        ({"nouveau": PHRASE}, "différent du mot de passe actuel"),
    ],
    ids=["mauvais-actuel", "actuel-vide", "confirmation", "court", "personnel", "inchange"],
)
def test_a_refused_change_says_why_in_french_and_changes_nothing(admin, app, champs, message):
    ancien = _hash(app)
    reponse = _changer(admin, **champs)
    assert reponse.status_code == 422
    page = _page(reponse)
    assert message in page, page
    assert "Le mot de passe n'a pas été changé" in page
    assert _hash(app) == ancien
    assert _evenements(app) == []
    assert admin.get("/backoffice/").status_code == 200  # still signed in


def test_the_change_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    agent = creer(app)
    client = app.test_client()
    _connecter_avec_jetons(client, agent)
    ancien = _hash(app)
    sans = _changer(client)
    assert sans.status_code == 400
    assert _hash(app) == ancien
    jeton = _jeton(_page(client.get(URL)))
    assert _changer(client, csrf_token=jeton).status_code == 303
    assert _hash(app) != ancien


def test_wrong_current_passwords_are_throttled(bo):
    agent = creer(bo)
    client = bo.test_client()
    connecter(client, agent)
    for _ in range(5):
        assert _changer(client, actuel="ce nest pas le bon mot de passe").status_code == 422
    assert _changer(client).status_code == 429
    assert _hash(bo) is not None and _evenements(bo) == []
    # Another agent is not affected.
    autre = bo.test_client()
    connecter(autre, creer(bo, ASP, "asp"))
    assert _changer(autre).status_code == 303
