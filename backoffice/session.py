"""The back-office session: its own cookie, its own identity, its own timeouts.

Design (issue #6, reliability.md §1.7). Agents are not Flask-Login users: Flask-Login serves
the public identities (``models.comptes.Utilisateur``) through ``extensions.login_manager``, and
mixing both in one ``current_user`` would let a bug on one side open the other. So:

- **Separate cookie.** ``SessionsSeparees`` wraps the application's session interface: a
  request under ``/backoffice`` reads and writes the ``backoffice`` cookie (``Path=/backoffice``,
  ``SameSite=Strict``, ``HttpOnly``, ``Secure`` with ``SESSION_COOKIE_SECURE``, signed with a
  salt of its own), every other request the public ``session`` cookie, untouched. Signing in or
  out on one side never clears the other; a public cookie cannot be replayed as a back-office
  one (other salt); CSRF tokens of the back-office live in the back-office cookie.
- **Agent state** in that cookie, key ``agent``: ``{"id", "jeton", "etape", "debut", "vu"}``.
  ``etape`` is ``code`` (password checked, second factor awaited), ``enrolement`` (password
  checked, TOTP never confirmed: only the enrolment page is reachable) or ``connecte``.
- **Server-side revocation.** ``jeton`` must equal ``Agent.jeton_session``, which sign-out and
  deactivation change: every session of the agent dies, a copied cookie too.
- **Timeouts.** ``vu`` is refreshed at every back-office request; more than
  ``BACKOFFICE_SESSION_IDLE_MINUTES`` without one, or ``BACKOFFICE_SESSION_MAX_HOURS`` since the
  sign-in, and the session is dropped (ASVS 4.0.3 3.3.2: 30 minutes idle, 12 hours absolute).
  A pending step (``code``, ``enrolement``) lasts ``DUREE_ETAPE`` seconds at most.
- **Renewal.** The cookie is emptied before each step is written (``ouvrir``): nothing planted
  before sign-in survives it (no fixation).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionInterface

from extensions import db
from models.agents import Agent

PREFIXE = "/backoffice"
CLE = "agent"
CODE = "code"
ENROLEMENT = "enrolement"
CONNECTE = "connecte"
DUREE_ETAPE = 10 * 60  # seconds to type the second factor or to enrol after the password


def sous_prefixe(path: str) -> bool:
    return path == PREFIXE or path.startswith(PREFIXE + "/")


class SessionBackoffice(SecureCookieSession):
    """A session read from (and written back to) the back-office cookie."""


class _InterfaceBackoffice(SecureCookieSessionInterface):
    salt = "backoffice-session"
    session_class = SessionBackoffice

    def get_cookie_name(self, app: Flask) -> str:
        # "__Secure-" makes browsers refuse the cookie unless it comes over HTTPS with Secure.
        return "__Secure-backoffice" if app.config.get("SESSION_COOKIE_SECURE") else "backoffice"

    def get_cookie_domain(self, app: Flask) -> str | None:
        return None  # host-only

    def get_cookie_path(self, app: Flask) -> str:
        return PREFIXE

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Strict"

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True

    def get_expiration_time(self, app: Flask, session) -> None:
        return None  # a browser-session cookie; the timeouts are enforced on the server


class SessionsSeparees(SessionInterface):
    """The public interface for public paths, the back-office one under ``PREFIXE``."""

    def __init__(self, publique: SessionInterface) -> None:
        self.publique = publique
        self.backoffice = _InterfaceBackoffice()
        self.null_session_class = publique.null_session_class

    def make_null_session(self, app: Flask):
        return self.publique.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.publique.is_null_session(obj)

    def open_session(self, app: Flask, request):
        if sous_prefixe(request.path):
            return self.backoffice.open_session(app, request)
        return self.publique.open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if isinstance(session, SessionBackoffice):
            return self.backoffice.save_session(app, session, response)
        return self.publique.save_session(app, session, response)


# --- the agent held by the session ------------------------------------------------------------


@dataclass(frozen=True)
class EtatAgent:
    agent: Agent
    etape: str
    suivant: str | None = None


def ouvrir(agent: Agent, etape: str, suivant: str | None = None) -> None:
    """Start a fresh session at ``etape`` for ``agent`` (everything else in it is dropped)."""
    session.clear()
    maintenant = int(time.time())
    etat = {"id": agent.id, "jeton": agent.jeton_session, "etape": etape}
    etat.update(debut=maintenant, vu=maintenant)
    if suivant:
        etat["suivant"] = suivant
    session[CLE] = etat
    g.pop("backoffice_etat", None)


def fermer() -> None:
    session.clear()
    g.backoffice_etat = None


def _limites(etape: str, config) -> tuple[int, int]:
    """(idle, absolute) lifetimes in seconds of a session at ``etape``."""
    if etape == CONNECTE:
        return (
            config["BACKOFFICE_SESSION_IDLE_MINUTES"] * 60,
            config["BACKOFFICE_SESSION_MAX_HOURS"] * 3600,
        )
    return DUREE_ETAPE, DUREE_ETAPE


def etat() -> EtatAgent | None:
    """The agent of this request's session and its step, or None (once per request).

    A session whose token no longer matches, whose agent is gone or deactivated, or that timed
    out is emptied; ``g.backoffice_expiree`` then tells why the agent is sent to sign in.
    """
    if "backoffice_etat" in g:
        return g.backoffice_etat

    g.backoffice_etat = None
    donnees = session.get(CLE)
    if not isinstance(donnees, dict):
        return None
    etape = donnees.get("etape")
    agent_id = donnees.get("id")
    if etape not in (CODE, ENROLEMENT, CONNECTE) or not isinstance(agent_id, int):
        session.clear()
        return None
    maintenant = int(time.time())
    inactivite, duree = _limites(etape, current_app.config)
    if maintenant - int(donnees.get("vu", 0)) > inactivite or (
        maintenant - int(donnees.get("debut", 0)) > duree
    ):
        session.clear()
        g.backoffice_expiree = True
        return None
    agent = db.session.get(Agent, agent_id)
    if (
        agent is None
        or not agent.actif
        or not secrets.compare_digest(agent.jeton_session, str(donnees.get("jeton", "")))
    ):
        session.clear()
        return None
    session[CLE] = {**donnees, "vu": maintenant}
    g.backoffice_etat = EtatAgent(agent, etape, donnees.get("suivant"))
    return g.backoffice_etat


def agent_connecte() -> Agent | None:
    """The signed-in agent (password and second factor checked), else None."""
    courant = etat()
    return courant.agent if courant is not None and courant.etape == CONNECTE else None
