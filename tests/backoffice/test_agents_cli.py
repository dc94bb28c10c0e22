"""``flask agents create|list|deactivate``: the password from standard input, the enrolment URI
and the recovery codes printed once, secrets never stored in clear, every change journaled."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
from sqlalchemy import select

from backoffice import totp
from extensions import db
from models.agents import Agent, AgentCodeSecours, RoleAgent
from models.audit import AuditEvent
from tests.backoffice.conftest import ADMIN, PHRASE, UD, creer


def _invoke(app, *args, phrase=PHRASE):
    return app.test_cli_runner().invoke(args=["agents", *args], input=phrase + "\n")


def _agents(app):
    with app.app_context():
        return db.session.scalars(select(Agent)).all()


def test_create_reads_the_password_on_stdin_and_prints_the_uri_and_ten_codes(app):
    cree = creer(app, "Claire.Martin@ASP.localhost", enrole=False)
    uri = next(line for line in cree.sortie.splitlines() if line.startswith("otpauth://"))
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path) == f"/Activité partielle:{ADMIN}"
    assert parse_qs(parts.query)["issuer"] == ["Activité partielle"]
    assert len(cree.secret) == 32
    assert len(cree.codes) == 10 and len(set(cree.codes)) == 10
    assert PHRASE not in cree.sortie
    with app.app_context():
        agent = db.session.scalars(select(Agent)).one()
        assert agent.email == ADMIN  # stored in lower case
        assert agent.role is RoleAgent.ADMINISTRATEUR and agent.actif and not agent.enrole
        assert agent.password_hash.startswith("$argon2id$")
        assert cree.secret not in agent.totp_secret_chiffre
        assert totp.dechiffrer(agent.totp_secret_chiffre) == cree.secret
        stored = {row.code_hash for row in db.session.scalars(select(AgentCodeSecours))}
        assert stored == {totp.empreinte_code_secours(code) for code in cree.codes}
        assert not stored & set(cree.codes)
        event = db.session.scalars(select(AuditEvent)).one()
        assert (event.actor_type, event.actor, event.operation) == (
            "systeme",
            "cli",
            "agent.creation",
        )
        assert (event.object_type, event.object_id) == ("agent", str(agent.id))
        assert event.state_to == "actif"
        assert PHRASE not in str(event.details) and cree.secret not in str(event.details)


def test_site_name_is_the_issuer(make_app):
    app = make_app(SITE_NAME="Chômage partiel")
    cree = creer(app)
    assert "issuer=Ch%C3%B4mage%20partiel" in cree.sortie


def test_a_short_password_is_refused_in_french_and_nothing_is_created(app):
    result = _invoke(app, "create", ADMIN, "--role", "asp", phrase="quinze caracter")
    assert result.exit_code == 1
    assert "au moins 16 caractères" in result.output
    assert "otpauth://" not in result.output
    assert _agents(app) == []


def test_the_password_rules_apply(app):
    common = _invoke(app, "create", ADMIN, "--role", "asp", phrase="azertyuiopqsdfghjklm")
    personal = _invoke(
        app, "create", ADMIN, "--role", "asp", "--nom", "Martin", phrase="claire martin 2026 !!"
    )
    empty = _invoke(app, "create", ADMIN, "--role", "asp", phrase="")
    assert common.exit_code == personal.exit_code == empty.exit_code == 1
    assert "suite simple" in common.output or "trop courant" in common.output
    assert "votre nom" in personal.output
    assert "Aucun mot de passe" in empty.output
    assert _agents(app) == []


def test_spaces_are_part_of_the_password(app):
    creer(app, phrase="  espaces autour du mot de passe  ")
    from tests.backoffice.conftest import mot_de_passe

    client = app.test_client()
    assert mot_de_passe(client, phrase="espaces autour du mot de passe").status_code == 422
    assert mot_de_passe(client, phrase="  espaces autour du mot de passe  ").status_code == 303


def test_departements_belong_to_ud_agents_only(app):
    sans = _invoke(app, "create", UD, "--role", "ud")
    inconnu = _invoke(app, "create", UD, "--role", "ud", "--departements", "44,20,999")
    asp = _invoke(app, "create", ADMIN, "--role", "asp", "--departements", "44")
    assert sans.exit_code == inconnu.exit_code == asp.exit_code == 1
    assert "au moins un département" in sans.output
    assert "Département inconnu : 20" in inconnu.output and "999" in inconnu.output
    assert "Seul un agent UD" in asp.output
    assert _agents(app) == []
    creer(app, UD, "ud", departements=" 44, 2a,971,44")
    with app.app_context():
        assert db.session.scalars(select(Agent)).one().codes_departements == ["2A", "44", "971"]


def test_an_address_is_used_once_whatever_its_case(app):
    creer(app)
    result = _invoke(app, "create", ADMIN.upper(), "--role", "asp")
    assert result.exit_code == 1
    assert "existe déjà" in result.output
    assert len(_agents(app)) == 1


def test_list_shows_role_departements_state_and_enrolment(app):
    assert "Aucun agent." in app.test_cli_runner().invoke(args=["agents", "list"]).output
    creer(app)
    creer(app, UD, "ud", departements="44,75", enrole=False)
    output = app.test_cli_runner().invoke(args=["agents", "list"]).output
    assert f"{ADMIN} | Administrateur | actif | double authentification activée" in output
    assert f"{UD} | Agent UD (44,75) | actif | double authentification en attente" in output


def test_deactivate_ends_the_sessions_and_is_journaled(app):
    creer(app)
    with app.app_context():
        jeton = db.session.scalars(select(Agent)).one().jeton_session
    result = app.test_cli_runner().invoke(args=["agents", "deactivate", ADMIN.upper()])
    assert result.exit_code == 0, result.output
    assert "Agent désactivé" in result.output
    with app.app_context():
        agent = db.session.scalars(select(Agent)).one()
        assert not agent.actif
        assert agent.jeton_session != jeton
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "agent.desactivation")
        ).one()
        assert (event.actor, event.state_from, event.state_to) == ("cli", "actif", "inactif")
    again = app.test_cli_runner().invoke(args=["agents", "deactivate", ADMIN])
    unknown = app.test_cli_runner().invoke(args=["agents", "deactivate", "personne@asp.localhost"])
    assert again.exit_code == unknown.exit_code == 1
    assert "déjà désactivé" in again.output
    assert "Aucun agent" in unknown.output


# -- reset-2fa and password ---------------------------------------------------------------------


def test_reset_2fa_gives_a_new_secret_and_codes_ends_the_sessions_and_sends_back_to_enrolment(
    app,
):
    from tests.backoffice.conftest import code, connecter, mot_de_passe

    ancien = creer(app)
    client = app.test_client()
    connecter(client, ancien)
    assert client.get("/backoffice/").status_code == 200
    with app.app_context():
        jeton = db.session.scalars(select(Agent)).one().jeton_session

    result = app.test_cli_runner().invoke(args=["agents", "reset-2fa", ADMIN.upper()])
    assert result.exit_code == 0, result.output
    assert "Double authentification réinitialisée" in result.output
    uri = next(line for line in result.output.splitlines() if line.startswith("otpauth://"))
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    codes = [ligne.strip() for ligne in result.output.splitlines() if ligne.startswith("  ")]
    assert secret != ancien.secret and len(codes) == 10 and not set(codes) & set(ancien.codes)
    with app.app_context():
        agent = db.session.scalars(select(Agent)).one()
        assert not agent.enrole and agent.totp_dernier_pas is None
        assert agent.jeton_session != jeton
        assert totp.dechiffrer(agent.totp_secret_chiffre) == secret
        stored = {row.code_hash for row in db.session.scalars(select(AgentCodeSecours))}
        assert stored == {totp.empreinte_code_secours(c) for c in codes}
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "agent.reinitialisation_2fa")
        ).one()
        assert (event.actor, event.state_from, event.state_to) == ("cli", "enrole", "non_enrole")
        assert secret not in str(event.details)

    # The open session is dead: the dashboard sends to the sign-in page.
    assert client.get("/backoffice/").status_code == 302
    # The next sign-in goes through the enrolment page, with the new secret's QR code.
    reponse = mot_de_passe(client)
    assert reponse.headers["Location"].endswith("/backoffice/enrolement")
    assert "figure" in client.get("/backoffice/enrolement").get_data(as_text=True)
    # Enrolling the new secret signs in.
    assert (
        client.post("/backoffice/enrolement", data={"code": pyotp.TOTP(secret).now()}).status_code
        == 303
    )
    assert client.get("/backoffice/").status_code == 200
    # Next time, an old recovery code opens nothing; a new one does.
    autre = app.test_client()
    mot_de_passe(autre)
    assert code(autre, ancien.codes[0]).status_code == 422
    assert code(autre, codes[0]).status_code == 303


def test_reset_2fa_of_an_unknown_address_fails(app):
    result = app.test_cli_runner().invoke(args=["agents", "reset-2fa", "personne@asp.localhost"])
    assert result.exit_code == 1
    assert "Aucun agent" in result.output


NOUVELLE = "une toute autre phrase de passe"


def test_password_reads_the_new_password_on_stdin_ends_the_sessions_and_is_journaled(app):
    from tests.backoffice.conftest import connecter, mot_de_passe

    agent = creer(app)
    client = app.test_client()
    connecter(client, agent)
    with app.app_context():
        avant = db.session.scalars(select(Agent)).one()
        ancien_hash, jeton = avant.password_hash, avant.jeton_session

    result = _invoke(app, "password", ADMIN, phrase=NOUVELLE)
    assert result.exit_code == 0, result.output
    assert "Mot de passe changé" in result.output and NOUVELLE not in result.output
    with app.app_context():
        apres = db.session.scalars(select(Agent)).one()
        assert apres.password_hash != ancien_hash
        assert apres.password_hash.startswith("$argon2id$")
        assert apres.jeton_session != jeton
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "agent.mot_de_passe")
        ).one()
        assert event.actor == "cli" and NOUVELLE not in str(event.details)
    assert client.get("/backoffice/").status_code == 302  # the session ended
    autre = app.test_client()
    assert mot_de_passe(autre).status_code == 422
    assert mot_de_passe(autre, phrase=NOUVELLE).status_code == 303


def test_password_follows_the_creation_policy(app):
    creer(app)
    with app.app_context():
        ancien_hash = db.session.scalars(select(Agent)).one().password_hash
    court = _invoke(app, "password", ADMIN, phrase="quinze caracter")
    personnel = _invoke(app, "password", ADMIN, phrase="claire.martin@asp.localhost")
    vide = _invoke(app, "password", ADMIN, phrase="")
    inconnu = _invoke(app, "password", "personne@asp.localhost", phrase=NOUVELLE)
    assert court.exit_code == personnel.exit_code == vide.exit_code == inconnu.exit_code == 1
    assert "au moins 16 caractères" in court.output
    assert "Mot de passe non changé" in personnel.output
    assert "Aucun mot de passe" in vide.output
    assert "Aucun agent" in inconnu.output
    with app.app_context():
        assert db.session.scalars(select(Agent)).one().password_hash == ancien_hash
        assert not db.session.scalars(
            select(AuditEvent).where(AuditEvent.operation == "agent.mot_de_passe")
        ).all()
