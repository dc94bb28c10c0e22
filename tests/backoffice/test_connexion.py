"""Staff sign-in: password then TOTP or recovery code, no enumeration, throttling, a fresh
session at sign-in, sign-out and deactivation that kill copied cookies, idle and absolute
timeouts, and a session kept apart from the public side's."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from models.agents import Agent
from models.audit import AuditEvent
from tests.backoffice.conftest import (
    ADMIN,
    ASP,
    PHRASE,
    code,
    connecter,
    cookie_backoffice,
    creer,
    mot_de_passe,
)


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _sans_jetons(page: str) -> str:
    page = re.sub(r'nonce="[^"]+"', "", page)
    page = re.sub(r'(name="csrf_token" type="hidden" value=)"[^"]+"', r"\1", page)
    return re.sub(r'(id="email" name="email"[^>]*value=)"[^"]*"', r"\1", page)


def _journal(app, operation):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == operation).order_by(AuditEvent.id)
        ).all()


def test_the_sign_in_page_is_french_and_separate_from_the_public_one(app):
    page = _page(app.test_client().get("/backoffice/connexion"))
    assert '<html lang="fr">' in page
    for text in ("Connexion des agents", "Adresse électronique", "Mot de passe", "Continuer"):
        assert text in page
    assert "bootstrap.min.css" in page
    assert "dsfr" not in page.lower()


def test_password_then_totp_signs_in_and_is_journaled(app):
    agent = creer(app)
    client = app.test_client()
    assert client.get("/backoffice/").status_code == 302
    reponse = connecter(client, agent)
    assert reponse.headers["Location"].endswith("/backoffice/")
    page = _page(client.get("/backoffice/"))
    assert "Tableau de bord" in page and "Vous êtes connecté(e)." in page
    assert f'data-agent="{ADMIN}"' in page
    (event,) = _journal(app, "agent.connexion")
    assert (event.actor_type, event.actor, event.details) == ("agent", ADMIN, {"facteur": "totp"})
    with app.app_context():
        assert db.session.scalars(select(Agent)).one().derniere_connexion_at is not None


def test_the_password_alone_reaches_no_view(app):
    creer(app)
    client = app.test_client()
    assert mot_de_passe(client).status_code == 303
    for url in ("/backoffice/", "/backoffice/agents/"):
        reponse = client.get(url)
        assert reponse.status_code == 302
        assert reponse.headers["Location"].endswith("/backoffice/connexion/code")


def test_a_wrong_totp_is_refused(app):
    agent = creer(app)
    client = app.test_client()
    mot_de_passe(client)
    faux = f"{(int(agent.code()) + 1) % 1_000_000:06d}"
    reponse = code(client, faux)
    assert reponse.status_code == 422
    assert "Code incorrect, expiré ou déjà utilisé." in _page(reponse)
    for mauvais in ("", "12345", "abcdef", "1234567"):
        assert code(client, mauvais).status_code == 422
    assert client.get("/backoffice/").headers["Location"].endswith("/backoffice/connexion/code")
    assert _journal(app, "agent.connexion") == []


def test_a_totp_code_is_accepted_once(app, horloge):
    agent = creer(app)
    premier = app.test_client()
    mot_de_passe(premier)
    valeur = agent.code(horloge.instant)
    assert code(premier, valeur).status_code == 303
    second = app.test_client()  # same instant, same code, another browser
    mot_de_passe(second)
    assert code(second, valeur).status_code == 422
    # The next time step is still accepted: the refusal was the replay, nothing else.
    horloge.instant += 30
    assert code(second, agent.code(horloge.instant)).status_code == 303


def test_a_code_of_the_previous_step_is_accepted_for_clock_drift_but_not_older(app, horloge):
    agent = creer(app)
    client = app.test_client()
    mot_de_passe(client)
    assert code(client, agent.code(horloge.instant - 60)).status_code == 422
    assert code(client, agent.code(horloge.instant - 30)).status_code == 303


def test_a_recovery_code_signs_in_once(app):
    agent = creer(app)
    premier, dernier = agent.codes[0], agent.codes[-1]
    client = app.test_client()
    mot_de_passe(client)
    reponse = code(client, premier.upper().replace("-", " "))
    assert reponse.status_code == 303
    assert "Il vous en reste 9." in _page(client.get("/backoffice/"))
    (event,) = _journal(app, "agent.connexion")
    assert event.details == {"facteur": "code_secours", "codes_secours_restants": 9}
    client.post("/backoffice/deconnexion")
    mot_de_passe(client)
    assert code(client, premier).status_code == 422
    assert code(client, dernier).status_code == 303


def test_another_agents_recovery_code_does_not_work(app):
    claire = creer(app)
    paul = creer(app, ASP, "asp")
    client = app.test_client()
    mot_de_passe(client, ASP)
    assert code(client, claire.codes[0]).status_code == 422
    assert code(client, paul.codes[0]).status_code == 303


@pytest.mark.parametrize(
    "email, phrase",
    [
        (ADMIN, "pas le bon mot de passe du tout"),
        ("inconnu@asp.localhost", PHRASE),
        ("desactive@asp.localhost", PHRASE),
        (ADMIN.upper() + " ", "pas le bon mot de passe du tout"),
    ],
)
def test_every_refusal_of_the_password_step_reads_the_same(app, email, phrase):
    creer(app)
    creer(app, "desactive@asp.localhost", "asp")
    app.test_cli_runner().invoke(args=["agents", "deactivate", "desactive@asp.localhost"])
    reference = mot_de_passe(app.test_client(), "personne@asp.localhost", "rien du tout")
    reponse = mot_de_passe(app.test_client(), email, phrase)
    assert reponse.status_code == reference.status_code == 422
    assert "Adresse électronique ou mot de passe incorrect." in _page(reponse)
    assert _sans_jetons(_page(reponse)) == _sans_jetons(_page(reference))


def test_failed_passwords_are_throttled_per_account(bo):
    creer(bo)
    client = bo.test_client()
    statuts = [mot_de_passe(client, phrase="mauvais mot de passe").status_code for _ in range(6)]
    assert statuts == [422] * 5 + [429]
    refus = mot_de_passe(client)  # even the right password waits
    assert refus.status_code == 429
    assert "Trop de tentatives" in _page(refus)
    assert "Retry-After" in refus.headers
    assert mot_de_passe(client, ASP, "mauvais mot de passe").status_code == 422


def test_failed_codes_are_throttled_per_agent(bo):
    agent = creer(bo)
    client = bo.test_client()
    mot_de_passe(client)
    statuts = [code(client, "000000").status_code for _ in range(6)]
    assert statuts[:5] == [422] * 5 and statuts[5] == 429
    # A new password step does not reset the agent's counter.
    autre = bo.test_client()
    mot_de_passe(autre)
    assert code(autre, agent.code()).status_code == 429


def test_posts_are_throttled_per_address(bo):
    client = bo.test_client()
    statuts = [mot_de_passe(client, f"a{i}@asp.localhost", "x").status_code for i in range(21)]
    assert statuts[:20] == [422] * 20 and statuts[20] == 429


def test_signing_in_starts_a_fresh_session(app):
    agent = creer(app)
    client = app.test_client()
    with client.session_transaction("/backoffice/") as avant:
        avant["plante"] = "par un attaquant"
    mot_de_passe(client)
    with client.session_transaction("/backoffice/") as pendant:
        assert "plante" not in pendant
        etape = cookie_backoffice(client)
    code(client, agent.code())
    assert cookie_backoffice(client) != etape


def test_signing_out_kills_every_session_even_a_copied_cookie(app):
    agent = creer(app)
    client = app.test_client()
    connecter(client, agent)
    vole = cookie_backoffice(client)
    reponse = client.post("/backoffice/deconnexion")
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith("/backoffice/connexion")
    assert "Vous êtes déconnecté(e)." in _page(client.get("/backoffice/connexion"))
    voleur = app.test_client()
    voleur.set_cookie("backoffice", vole, path="/backoffice")
    reponse = voleur.get("/backoffice/")
    assert reponse.status_code == 302
    assert "/backoffice/connexion" in reponse.headers["Location"]
    assert len(_journal(app, "agent.deconnexion")) == 1


def test_deactivating_an_agent_ends_its_open_session(app):
    agent = creer(app)
    client = app.test_client()
    connecter(client, agent)
    assert client.get("/backoffice/").status_code == 200
    app.test_cli_runner().invoke(args=["agents", "deactivate", ADMIN])
    assert client.get("/backoffice/").status_code == 302


def test_an_idle_session_expires(make_app):
    app = make_app(BACKOFFICE_SESSION_IDLE_MINUTES=30)
    agent = creer(app)
    client = app.test_client()
    connecter(client, agent)
    with client.session_transaction("/backoffice/") as session:
        session["agent"] = {**session["agent"], "vu": session["agent"]["vu"] - 29 * 60}
    assert client.get("/backoffice/").status_code == 200  # and the request refreshed it
    with client.session_transaction("/backoffice/") as session:
        session["agent"] = {**session["agent"], "vu": session["agent"]["vu"] - 31 * 60}
    reponse = client.get("/backoffice/agents/")
    assert reponse.status_code == 302
    assert "/backoffice/connexion" in reponse.headers["Location"]
    assert "Votre session a expiré" in _page(client.get("/backoffice/connexion"))


def test_a_session_ends_after_its_maximum_duration_even_when_active(make_app):
    app = make_app(BACKOFFICE_SESSION_MAX_HOURS=12)
    agent = creer(app)
    client = app.test_client()
    connecter(client, agent)
    with client.session_transaction("/backoffice/") as session:
        session["agent"] = {**session["agent"], "debut": session["agent"]["debut"] - 12 * 3600 - 1}
    assert client.get("/backoffice/").status_code == 302


def test_the_second_factor_must_follow_the_password_within_ten_minutes(app):
    agent = creer(app)
    client = app.test_client()
    mot_de_passe(client)
    with client.session_transaction("/backoffice/") as session:
        session["agent"] = {**session["agent"], "debut": session["agent"]["debut"] - 601}
    reponse = code(client, agent.code())
    assert reponse.status_code == 303
    assert reponse.headers["Location"].endswith("/backoffice/connexion")
    assert _journal(app, "agent.connexion") == []


def test_the_requested_page_is_reached_after_sign_in_but_never_another_site(app):
    agent = creer(app)
    client = app.test_client()
    reponse = client.get("/backoffice/agents/?sort=1")
    assert reponse.headers["Location"].endswith(
        "/backoffice/connexion?next=/backoffice/agents/?sort%3D1"
    )
    client.post(
        "/backoffice/connexion?next=/backoffice/agents/?sort%3D1",
        data={"email": ADMIN, "mot_de_passe": PHRASE},
    )
    assert code(client, agent.code()).headers["Location"] == "/backoffice/agents/?sort=1"
    for suivant in ("https://exemple.org/", "//exemple.org/backoffice/", "/connexion", "/\\x"):
        autre = app.test_client()
        autre.post(
            "/backoffice/connexion",
            query_string={"next": suivant},
            data={"email": ADMIN, "mot_de_passe": PHRASE},
        )
        with autre.session_transaction("/backoffice/") as session:
            assert "suivant" not in session["agent"]


def test_public_and_back_office_sessions_do_not_mix(app):
    agent = creer(app)
    client = app.test_client()
    connecter(client, agent)
    cookie = client.get_cookie("backoffice", path="/backoffice")
    assert cookie.path == "/backoffice" and cookie.http_only and cookie.same_site == "Strict"
    assert client.get_cookie("session") is None  # nothing written in the public cookie
    # The back-office cookie presented as the public one is worthless (another salt)...
    public = app.test_client()
    public.set_cookie("session", cookie.value)
    with public.session_transaction() as session:
        assert dict(session) == {}
    # ...and a public session cookie is not read under /backoffice.
    autre = app.test_client()
    with autre.session_transaction() as session:
        session["agent"] = {"id": 1, "jeton": "x", "etape": "connecte"}
    assert autre.get("/backoffice/").status_code == 302


def test_the_back_office_cookie_is_secure_behind_tls(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)
    creer(app)
    client = app.test_client()
    reponse = mot_de_passe(client, base_url="https://localhost")
    assert "__Secure-backoffice=" in reponse.headers["Set-Cookie"]
    assert "Secure" in reponse.headers["Set-Cookie"]


def test_an_unknown_address_costs_the_same_staff_hash_verification(app, monkeypatch):
    """Same time for an unknown address: one argon2 verification with the staff parameters
    (against a dummy hash), exactly as for a known address with a wrong password."""
    from identites import motdepasse

    appels = []
    reel = motdepasse.verify_secret

    def espion(stored, secret, *, staff=False):
        appels.append((stored is not None, staff))
        return reel(stored, secret, staff=staff)

    monkeypatch.setattr(motdepasse, "verify_secret", espion)
    creer(app)
    mot_de_passe(app.test_client(), "inconnu@asp.localhost", PHRASE)
    mot_de_passe(app.test_client(), ADMIN, "pas le bon mot de passe du tout")
    assert appels == [(False, True), (True, True)]
