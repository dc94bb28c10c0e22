"""Operations on agents: create, deactivate, check a password, check a second factor, confirm
the enrolment, sign out, reset the second factor, change the password. Each state change
writes its journal row and commits once.

Every refusal of a sign-in step is the same for the caller (unknown address, wrong password,
deactivated agent; wrong, replayed or used code), and costs the same time for the first step:
an unknown address still pays one argon2 verification (``identites.motdepasse.verify_secret``).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from backoffice import totp
from database import begin_write
from extensions import db
from identites import motdepasse
from models.agents import DEPARTEMENT, Agent, AgentCodeSecours, AgentDepartement, RoleAgent
from models.types import utcnow
from workflows.journal import Acteur, journaliser

log = logging.getLogger(__name__)

REFUS_CONNEXION = "Adresse électronique ou mot de passe incorrect."
REFUS_CODE = "Code incorrect, expiré ou déjà utilisé."
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]+\Z")


class AgentInvalide(ValueError):
    """The request cannot be carried out; ``messages`` say why, in French."""

    def __init__(self, messages: Iterable[str]) -> None:
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))


@dataclass(frozen=True)
class AgentCree:
    agent: Agent
    uri_enrolement: str
    codes_secours: list[str]


def horloge() -> float:
    """Unix time of the TOTP checks (tests replace it to stay within one time step)."""
    return time.time()


def acteur(agent: Agent) -> Acteur:
    return Acteur("agent", agent.email)


def normaliser_email(email: str) -> str:
    return (email or "").strip().lower()


def lire_departements(texte: str) -> list[str]:
    """``"44, 75,2a"`` → ``["2A", "44", "75"]``.

    :raise AgentInvalide: on a code that is not a département.
    """
    codes = sorted({code.strip().upper() for code in (texte or "").split(",") if code.strip()})
    inconnus = [code for code in codes if not DEPARTEMENT.match(code)]
    if inconnus:
        raise AgentInvalide(
            [f"Département inconnu : {code} (exemples : 01, 2A, 44, 971)." for code in inconnus]
        )
    return codes


def par_email(email: str) -> Agent | None:
    return db.session.scalar(select(Agent).where(Agent.email == normaliser_email(email)))


def creer_agent(
    email: str,
    role: RoleAgent | str,
    mot_de_passe: str,
    *,
    acteur: Acteur,
    departements: Iterable[str] = (),
    nom: str = "",
    prenom: str = "",
) -> AgentCree:
    """Create an agent with its TOTP secret and 10 recovery codes, returned in clear once.

    :raise AgentInvalide: bad address, role or départements, refused password, address taken.
    """
    email = normaliser_email(email)
    nom, prenom = nom.strip(), prenom.strip()
    departements = sorted(set(departements))
    erreurs: list[str] = []
    if len(email) > 254 or not _EMAIL.match(email):
        erreurs.append(f"Adresse électronique invalide : {email or '(vide)'}.")
    try:
        role = RoleAgent(role)
    except ValueError:
        erreurs.append("Rôle inconnu : choisissez administrateur, asp ou ud.")
    else:
        if role is RoleAgent.UD and not departements:
            erreurs.append("Un agent UD couvre au moins un département (--departements 44,75).")
        if role is not RoleAgent.UD and departements:
            erreurs.append("Seul un agent UD couvre des départements.")
    erreurs += motdepasse.check_password(
        mot_de_passe, courriel=email, nom=nom, prenom=prenom, staff=True
    )
    if not erreurs and par_email(email) is not None:
        erreurs.append(f"Un agent existe déjà avec l'adresse {email}.")
    if erreurs:
        raise AgentInvalide(erreurs)

    secret = totp.nouveau_secret()
    codes = totp.nouveaux_codes_secours()
    begin_write()
    agent = Agent(
        email=email,
        nom=nom,
        prenom=prenom,
        role=role,
        password_hash=motdepasse.hash_secret(mot_de_passe, staff=True),
        totp_secret_chiffre=totp.chiffrer(secret),
        jeton_session=secrets.token_hex(16),
        departements=[AgentDepartement(code=code) for code in departements],
        codes_secours=[
            AgentCodeSecours(code_hash=totp.empreinte_code_secours(code)) for code in codes
        ],
    )
    db.session.add(agent)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same address created meanwhile
        db.session.rollback()
        raise AgentInvalide([f"Un agent existe déjà avec l'adresse {email}."]) from exc
    journaliser(
        acteur,
        "agent.creation",
        "agent",
        agent.id,
        state_to="actif",
        details={"email": email, "role": role.value, "departements": departements},
    )
    db.session.commit()
    return AgentCree(agent, totp.uri_enrolement(secret, email), codes)


def desactiver_agent(email: str, *, acteur: Acteur) -> Agent:
    """Deactivate an agent and end all its sessions.

    :raise AgentInvalide: unknown address, or already deactivated.
    """
    begin_write()
    agent = par_email(email)
    if agent is None:
        db.session.rollback()
        raise AgentInvalide([f"Aucun agent n'a l'adresse {normaliser_email(email)}."])
    if not agent.actif:
        db.session.rollback()
        raise AgentInvalide([f"L'agent {agent.email} est déjà désactivé."])
    agent.actif = False
    agent.jeton_session = secrets.token_hex(16)
    journaliser(
        acteur, "agent.desactivation", "agent", agent.id, state_from="actif", state_to="inactif"
    )
    db.session.commit()
    return agent


def verifier_mot_de_passe(email: str, mot_de_passe: str) -> Agent | None:
    """The agent when the address and password are right and the agent active, else None."""
    agent = par_email(email)
    ok, nouveau_hash = motdepasse.verify_secret(
        agent.password_hash if agent is not None else None, mot_de_passe or "", staff=True
    )
    if not ok or not agent.actif:
        log.warning("backoffice: sign-in refused (password step)")
        return None
    if nouveau_hash:  # the staff parameters were raised since this hash was made
        begin_write()
        agent.password_hash = nouveau_hash
        db.session.commit()
    return agent


def _consommer_totp(agent: Agent, code: str, maintenant: float) -> bool:
    """Accept ``code`` once: its time step must be later than the last one accepted.

    The check and the write are one conditional UPDATE, so two requests racing with the same
    code cannot both win.
    """
    try:
        secret = totp.dechiffrer(agent.totp_secret_chiffre)
    except totp.SecretIllisible:
        log.error("backoffice: TOTP secret of agent %s unreadable with the current keys", agent.id)
        return False
    pas = totp.pas_valide(secret, code, maintenant)
    if pas is None:
        return False
    resultat = db.session.execute(
        update(Agent)
        .where(
            Agent.id == agent.id,
            or_(Agent.totp_dernier_pas.is_(None), Agent.totp_dernier_pas < pas),
        )
        .values(totp_dernier_pas=pas)
        .execution_options(synchronize_session=False)
    )
    if resultat.rowcount != 1:
        return False
    rechiffre = totp.rechiffrer(agent.totp_secret_chiffre)
    if rechiffre:
        agent.totp_secret_chiffre = rechiffre
    return True


def _consommer_code_secours(agent: Agent, code: str) -> bool:
    resultat = db.session.execute(
        update(AgentCodeSecours)
        .where(
            AgentCodeSecours.agent_id == agent.id,
            AgentCodeSecours.code_hash == totp.empreinte_code_secours(code),
            AgentCodeSecours.utilise_le.is_(None),
        )
        .values(utilise_le=utcnow())
        .execution_options(synchronize_session=False)
    )
    return resultat.rowcount == 1


def codes_secours_restants(agent: Agent) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AgentCodeSecours)
        .where(AgentCodeSecours.agent_id == agent.id, AgentCodeSecours.utilise_le.is_(None))
    )


def connecter(agent: Agent, code: str, maintenant: float | None = None) -> str | None:
    """Second step of the sign-in of an enrolled agent: a TOTP code or a recovery code.

    Returns ``"totp"`` or ``"code_secours"`` (the code is spent, the sign-in journaled), or
    None when the code is wrong, replayed, already used, or the agent not enrolled.
    """
    maintenant = horloge() if maintenant is None else maintenant
    if not agent.enrole:
        return None
    compact = "".join((code or "").split())
    begin_write()
    if len(compact) == totp.CHIFFRES and compact.isdigit():
        facteur = "totp" if _consommer_totp(agent, compact, maintenant) else None
    else:
        facteur = "code_secours" if _consommer_code_secours(agent, code or "") else None
    if facteur is None:
        db.session.rollback()
        log.warning("backoffice: sign-in refused (second factor) for agent %s", agent.id)
        return None
    agent.derniere_connexion_at = utcnow()
    details: dict = {"facteur": facteur}
    if facteur == "code_secours":
        details["codes_secours_restants"] = codes_secours_restants(agent)
    journaliser(acteur(agent), "agent.connexion", "agent", agent.id, details=details)
    db.session.commit()
    return facteur


def confirmer_enrolement(agent: Agent, code: str, maintenant: float | None = None) -> bool:
    """The first TOTP code read from the enrolment QR code: the second factor is on, the agent
    signed in. False when the code is wrong (or the agent already enrolled)."""
    maintenant = horloge() if maintenant is None else maintenant
    if agent.enrole:
        return False
    begin_write()
    if not _consommer_totp(agent, "".join((code or "").split()), maintenant):
        db.session.rollback()
        return False
    agent.totp_enrolled_at = agent.derniere_connexion_at = utcnow()
    journaliser(
        acteur(agent),
        "agent.enrolement",
        "agent",
        agent.id,
        state_from="non_enrole",
        state_to="enrole",
    )
    journaliser(acteur(agent), "agent.connexion", "agent", agent.id, details={"facteur": "totp"})
    db.session.commit()
    return True


def secret_a_enroler(agent: Agent) -> str | None:
    """The TOTP secret in clear, only while the agent has not confirmed it."""
    if agent.enrole:
        return None
    return totp.dechiffrer(agent.totp_secret_chiffre)


def deconnecter(agent: Agent) -> None:
    """End every session of the agent: the token in their cookies no longer matches."""
    begin_write()
    agent.jeton_session = secrets.token_hex(16)
    journaliser(acteur(agent), "agent.deconnexion", "agent", agent.id)
    db.session.commit()


# --- second factor reset and password change ---------------------------------------------------


def reinitialiser_second_facteur(email: str, *, acteur: Acteur) -> AgentCree:
    """Give the agent a new TOTP secret and 10 new recovery codes (the old ones stop working),
    mark it not enrolled and end its sessions: its next sign-in goes through the enrolment page
    again (QR code of the new secret). Returns the new enrolment URI and codes, in clear, once.

    :raise AgentInvalide: unknown address.
    """
    begin_write()
    agent = par_email(email)
    if agent is None:
        db.session.rollback()
        raise AgentInvalide([f"Aucun agent n'a l'adresse {normaliser_email(email)}."])
    avant = "enrole" if agent.enrole else "non_enrole"
    secret = totp.nouveau_secret()
    codes = totp.nouveaux_codes_secours()
    agent.totp_secret_chiffre = totp.chiffrer(secret)
    agent.totp_enrolled_at = None
    agent.totp_dernier_pas = None
    agent.codes_secours = [
        AgentCodeSecours(code_hash=totp.empreinte_code_secours(code)) for code in codes
    ]  # delete-orphan: the former codes are deleted
    agent.jeton_session = secrets.token_hex(16)
    journaliser(
        acteur,
        "agent.reinitialisation_2fa",
        "agent",
        agent.id,
        state_from=avant,
        state_to="non_enrole",
        details={"codes_secours": len(codes), "sessions_fermees": True},
    )
    db.session.commit()
    return AgentCree(agent, totp.uri_enrolement(secret, agent.email), codes)


def changer_mot_de_passe(
    agent: Agent, nouveau: str, *, acteur: Acteur, actuel: str | None = None
) -> Agent:
    """Set the agent's password (argon2id, staff parameters) and end all its sessions.

    ``actuel``: the current password, required when the agent changes its own (« Mon
    compte »); the CLI of an administrator passes None.

    :raise AgentInvalide: wrong current password, refused new password (same policy as at
        creation: 16 characters at least, nothing personal, not on the blocklist).
    """
    if actuel is not None:
        ok, _ = motdepasse.verify_secret(agent.password_hash, actuel or "", staff=True)
        if not ok:
            log.warning("backoffice: password change refused (current password) for %s", agent.id)
            raise AgentInvalide(["Le mot de passe actuel est incorrect."])
    erreurs = motdepasse.check_password(
        nouveau, courriel=agent.email, nom=agent.nom, prenom=agent.prenom, staff=True
    )
    if not erreurs and actuel is not None and nouveau == actuel:
        erreurs.append("Le nouveau mot de passe doit être différent du mot de passe actuel.")
    if erreurs:
        raise AgentInvalide(erreurs)
    begin_write()
    agent.password_hash = motdepasse.hash_secret(nouveau, staff=True)
    agent.jeton_session = secrets.token_hex(16)
    journaliser(
        acteur,
        "agent.mot_de_passe",
        "agent",
        agent.id,
        details={"par": "agent" if actuel is not None else "cli", "sessions_fermees": True},
    )
    db.session.commit()
    return agent
