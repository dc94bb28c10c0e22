"""Establishments, identities, habilitations and the account-creation requests."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from extensions import db
from models.types import JsonDocument, UtcDateTime, utcnow

if TYPE_CHECKING:
    from models.agents import Agent

MAX_ETABLISSEMENTS_PAR_UTILISATEUR = 200


def _enum(cls, name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


def departement_of(code_postal: str) -> str:
    """The département a postal code belongs to, for the UD's scope: 2A/2B in Corsica,
    three digits overseas (971...), the first two digits elsewhere."""
    if code_postal.startswith("20"):
        return "2A" if code_postal < "20200" else "2B"
    if code_postal.startswith("97") or code_postal.startswith("98"):
        return code_postal[:3]
    return code_postal[:2]


class Etablissement(db.Model):
    __tablename__ = "etablissement"

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    denomination: Mapped[str] = mapped_column(String(120))
    numero_voie: Mapped[str | None] = mapped_column(String(5))
    extension_voie: Mapped[str | None] = mapped_column(String(1))
    type_voie: Mapped[str | None] = mapped_column(String(4))
    libelle_voie: Mapped[str] = mapped_column(String(100))
    complement_adresse: Mapped[str | None] = mapped_column(String(100))
    code_postal: Mapped[str] = mapped_column(String(5))
    ville: Mapped[str] = mapped_column(String(100))
    departement: Mapped[str] = mapped_column(String(3), index=True)
    courriel: Mapped[str] = mapped_column(String(254))
    telephone: Mapped[str] = mapped_column(String(20))
    fax: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    habilitations: Mapped[list[Habilitation]] = relationship(back_populates="etablissement")


class Utilisateur(UserMixin, db.Model):
    """An ASP identity: one identifiant and password for every establishment it serves."""

    __tablename__ = "utilisateur"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifiant: Mapped[str] = mapped_column(String(20), unique=True)
    nom: Mapped[str] = mapped_column(String(80))
    prenom: Mapped[str] = mapped_column(String(80))
    # Not unique: "j'ai oublié mon identifiant" mails every identity of an address.
    courriel: Mapped[str] = mapped_column(String(254), index=True)
    telephone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # None for an identity added by a référent: it chooses them with its first password.
    question_secrete: Mapped[str | None] = mapped_column(String(200))
    reponse_hash: Mapped[str | None] = mapped_column(String(200))
    actif: Mapped[bool] = mapped_column(default=True)
    # Part of the session cookie; changed at sign-out, so a copied cookie dies with it.
    jeton_session: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    habilitations: Mapped[list[Habilitation]] = relationship(back_populates="utilisateur")

    def get_id(self) -> str:
        return f"{self.id}:{self.jeton_session}"

    @property
    def is_active(self) -> bool:
        return self.actif


class Role(enum.StrEnum):
    REFERENT = "referent"
    UTILISATEUR = "utilisateur"

    @property
    def label(self) -> str:
        return {
            "referent": "Compte principal utilisateur (Personne à contacter)",
            "utilisateur": "Utilisateur",
        }[self.value]


class Habilitation(db.Model):
    __tablename__ = "habilitation"
    __table_args__ = (
        UniqueConstraint(
            "utilisateur_id", "etablissement_id", name="uq_habilitation_utilisateur_etablissement"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    utilisateur_id: Mapped[int] = mapped_column(ForeignKey("utilisateur.id"), index=True)
    etablissement_id: Mapped[int] = mapped_column(ForeignKey("etablissement.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "habilitation_role"))
    actif: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254))

    utilisateur: Mapped[Utilisateur] = relationship(back_populates="habilitations")
    etablissement: Mapped[Etablissement] = relationship(back_populates="habilitations")


class DemandeState(enum.StrEnum):
    A_TRAITER = "a_traiter"
    VALIDEE = "validee"
    REJETEE = "rejetee"

    @property
    def label(self) -> str:
        return {"a_traiter": "À traiter", "validee": "Validée", "rejetee": "Rejetée"}[self.value]


class DemandeCompte(db.Model):
    """What "CRÉER MON ESPACE" produces; an item of the ASP's queue."""

    __tablename__ = "demande_compte"
    __table_args__ = (
        # One pending request per SIRET, enforced by the database (double clicks, two browsers).
        Index(
            "uq_demande_compte_siret_a_traiter",
            "siret",
            unique=True,
            sqlite_where=text("state = 'a_traiter'"),
            postgresql_where=text("state = 'a_traiter'"),
        ),
        Index("ix_demande_compte_state_created", "state", "created_at"),
        # The back-office queue (backoffice/vues/demandes.py; migration 0009): one index per
        # filter and sort it offers, the UD's scope (departement IN ...) leading where it applies.
        Index("ix_demande_compte_created", "created_at"),  # "Toutes" tab, sorted by age
        Index("ix_demande_compte_departement_state_created", "departement", "state", "created_at"),
        Index("ix_demande_compte_assigned_state_created", "assigned_to_id", "state", "created_at"),
        # Substring search (ILIKE '%terme%'): trigram GIN indexes on PostgreSQL (pg_trgm);
        # plain indexes on SQLite, which has no such search index.
        Index(
            "ix_demande_compte_denomination_trgm",
            "denomination",
            postgresql_using="gin",
            postgresql_ops={"denomination": "gin_trgm_ops"},
        ),
        Index(
            "ix_demande_compte_courriel_trgm",
            "courriel",
            postgresql_using="gin",
            postgresql_ops={"courriel": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), index=True)
    departement: Mapped[str] = mapped_column(String(3), index=True)
    state: Mapped[DemandeState] = mapped_column(
        _enum(DemandeState, "demande_compte_state"), default=DemandeState.A_TRAITER
    )
    form_id: Mapped[str] = mapped_column(String(100))
    form_version: Mapped[int]
    # The document as filed, without the secret answer (kept hashed below).
    data: Mapped[dict] = mapped_column(JsonDocument)
    reponse_hash: Mapped[str] = mapped_column(String(200))
    # The identity whose address the contact person used, when one existed at filing.
    utilisateur_existant_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))
    etablissement_id: Mapped[int | None] = mapped_column(ForeignKey("etablissement.id"))
    motif_rejet: Mapped[str | None] = mapped_column(String(2000))
    validation_auto: Mapped[bool] = mapped_column(default=False)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Copied from ``data`` when it is set (``_colonnes_de_recherche``): the back-office searches
    # these columns, which can be indexed, rather than the JSON document.
    denomination: Mapped[str] = mapped_column(String(120), server_default="")
    courriel: Mapped[str] = mapped_column(String(254), server_default="")  # the contact's, lower
    # "Je prends": the agent handling the request (information, not a lock), and since when.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    utilisateur_existant: Mapped[Utilisateur | None] = relationship()
    etablissement: Mapped[Etablissement | None] = relationship()
    assigned_to: Mapped[Agent | None] = relationship()

    @validates("data")
    def _colonnes_de_recherche(self, key: str, data: dict) -> dict:
        etablissement = (data or {}).get("etablissement") or {}
        contact = (data or {}).get("utilisateur") or {}
        self.denomination = str(etablissement.get("denomination") or "")[:120]
        self.courriel = str(contact.get("courriel") or "").lower()[:254]
        return data


class JetonMotDePasse(db.Model):
    """A single-use link to choose a password; only its digest is stored."""

    __tablename__ = "jeton_mot_de_passe"

    id: Mapped[int] = mapped_column(primary_key=True)
    utilisateur_id: Mapped[int] = mapped_column(ForeignKey("utilisateur.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
