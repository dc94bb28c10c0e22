"""Back-office agents: staff identities, separate from the public ``Utilisateur`` identities.

An agent signs in with its e-mail address, a password (16 characters at least) and a second
factor: a TOTP code (RFC 6238) or one of its single-use recovery codes. Agents are made by
``flask agents create`` (``backoffice/agents_cli.py``); the operations live in
``backoffice/agents.py``.

Secrets at rest:

- ``password_hash``: argon2id with the staff parameters (``identites.motdepasse``).
- ``totp_secret_chiffre``: the TOTP secret encrypted with a key derived from ``SECRET_KEY``
  (``backoffice/totp.py``): a copy of the database alone (a backup, an injection) does not
  give the second factor away. It is shown once, as the enrolment URI and QR code, until the
  agent confirms a first code; never afterwards.
- recovery codes: SHA-256 digests only (random 50-bit codes, not human secrets: a slow hash
  adds nothing), each usable once.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.types import UtcDateTime, utcnow

# Metropolitan départements (2A/2B for Corsica, no 20), overseas ones on three digits, as
# ``models.comptes.departement_of`` derives them from postal codes.
DEPARTEMENT = re.compile(r"(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8]|98[4-9])\Z")


class RoleAgent(enum.StrEnum):
    ADMINISTRATEUR = "administrateur"
    ASP = "asp"
    UD = "ud"

    @property
    def label(self) -> str:
        return {"administrateur": "Administrateur", "asp": "Agent ASP", "ud": "Agent UD"}[
            self.value
        ]


class Agent(db.Model):
    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored in lower case; the sign-in form lower-cases what is typed.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    nom: Mapped[str] = mapped_column(String(80), default="")
    prenom: Mapped[str] = mapped_column(String(80), default="")
    role: Mapped[RoleAgent] = mapped_column(
        Enum(
            RoleAgent,
            name="agent_role",
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        )
    )
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret_chiffre: Mapped[str] = mapped_column(String(255))
    # None until the agent confirmed a first code: until then it only reaches the enrolment page.
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The last TOTP time step accepted (Unix time // 30): a code is never accepted twice.
    totp_dernier_pas: Mapped[int | None] = mapped_column()
    actif: Mapped[bool] = mapped_column(default=True)
    # Part of the back-office session; changed at sign-out and deactivation, so that every
    # session of the agent (a copied cookie included) dies with it.
    jeton_session: Mapped[str] = mapped_column(String(32))
    derniere_connexion_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    departements: Mapped[list[AgentDepartement]] = relationship(
        back_populates="agent",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="AgentDepartement.code",
    )
    codes_secours: Mapped[list[AgentCodeSecours]] = relationship(
        back_populates="agent", cascade="all, delete-orphan"
    )

    @property
    def codes_departements(self) -> list[str]:
        """The codes of the départements an Agent UD covers (empty for the other roles)."""
        return [departement.code for departement in self.departements]

    @property
    def enrole(self) -> bool:
        return self.totp_enrolled_at is not None

    def __str__(self) -> str:
        return self.email


class AgentDepartement(db.Model):
    """One département covered by an Agent UD: its lists filter on ``departement IN (...)``.

    A child table rather than a JSON list so that the scope can also be a subquery
    (``select(code).where(agent_id == ...)``) and "which agents cover the 44" is indexed.
    """

    __tablename__ = "agent_departement"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)

    agent: Mapped[Agent] = relationship(back_populates="departements")


class AgentCodeSecours(db.Model):
    """A single-use recovery code, stored as its SHA-256 digest."""

    __tablename__ = "agent_code_secours"
    __table_args__ = (Index("ix_agent_code_secours_agent_digest", "agent_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    utilise_le: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    agent: Mapped[Agent] = relationship(back_populates="codes_secours")
