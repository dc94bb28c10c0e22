"""``flask agents create|list|deactivate``: the password from standard input, the enrolment URI
and the recovery codes printed once, secrets never stored in clear, every change journaled."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

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
