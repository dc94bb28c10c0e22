"""Fixtures of the back-office tests: agents made by the real CLI, signed in through the real
pages (password, then TOTP computed with pyotp from the printed enrolment URI)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from sqlalchemy import select

from extensions import db
from models.agents import Agent
from models.types import utcnow

PHRASE = "cheval correct agrafe batterie"
ADMIN = "claire.martin@asp.localhost"
ASP = "paul.leroy@asp.localhost"
UD = "nina.robert@dreets.localhost"


@dataclass
class AgentCree:
    email: str
    secret: str
    codes: list[str]
    sortie: str

    def code(self, instant: float | None = None) -> str:
        totp = pyotp.TOTP(self.secret)
        return totp.now() if instant is None else totp.at(instant)


def creer(app, email=ADMIN, role="administrateur", departements="", phrase=PHRASE, enrole=True):
    """Create an agent with ``flask agents create``; ``enrole`` marks its TOTP confirmed."""
    args = ["agents", "create", email, "--role", role]
    if departements:
        args += ["--departements", departements]
    result = app.test_cli_runner().invoke(args=args, input=phrase + "\n")
    assert result.exit_code == 0, result.output
    uri = next(line for line in result.output.splitlines() if line.startswith("otpauth://"))
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    codes = re.findall(r"^  ([a-z2-9]{5}-[a-z2-9]{5})$", result.output, re.MULTILINE)
    if enrole:
        with app.app_context():
            agent = db.session.scalars(select(Agent).where(Agent.email == email)).one()
            agent.totp_enrolled_at = utcnow()
            db.session.commit()
    return AgentCree(email, secret, codes, result.output)


def mot_de_passe(client, email=ADMIN, phrase=PHRASE, **kwargs):
    return client.post(
        "/backoffice/connexion", data={"email": email, "mot_de_passe": phrase}, **kwargs
    )


def code(client, valeur):
    return client.post("/backoffice/connexion/code", data={"code": valeur})


def connecter(client, agent: AgentCree, phrase=PHRASE):
    """Sign ``agent`` in through both steps; return the response of the second one."""
    reponse = mot_de_passe(client, agent.email, phrase)
    assert reponse.status_code == 303, reponse.get_data(as_text=True)
    assert reponse.headers["Location"].endswith("/backoffice/connexion/code")
    reponse = code(client, agent.code())
    assert reponse.status_code == 303, reponse.get_data(as_text=True)
    return reponse


def cookie_backoffice(client) -> str | None:
    cookie = client.get_cookie("backoffice", path="/backoffice")
    return cookie.value if cookie is not None else None


class Horloge:
    """A fixed clock for the TOTP checks (``backoffice.agents.horloge``)."""

    def __init__(self, instant: float) -> None:
        self.instant = instant

    def __call__(self) -> float:
        return self.instant


@pytest.fixture
def horloge(monkeypatch):
    import time

    fixe = Horloge(time.time())
    monkeypatch.setattr("backoffice.agents.horloge", fixe)
    return fixe


@pytest.fixture
def bo(make_app):
    """An app whose rate limits are on (memory storage)."""
    return make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
