"""Establishments, identities, habilitations and the account-creation requests."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint, func, text
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
    # The back-office list (backoffice/vues/etablissements.py; migration 0010): one index per
    # search, filter and sort it offers. The unique index of ``siret`` serves equality and the
    # sort; a start of SIRET (``LIKE '123%'``) needs ``text_pattern_ops`` unless the database's
    # collation is "C". Words of the dénomination (``denomination ILIKE '%mot%'``): trigram GIN
    # on PostgreSQL. SQLite gets plain indexes in their place (it has no such search index).
    __table_args__ = (
        Index(
            "ix_etablissement_siret_prefixe",
            "siret",
            postgresql_ops={"siret": "text_pattern_ops"},
        ),
        Index(
            "ix_etablissement_denomination_trgm",
            "denomination",
            postgresql_using="gin",
            postgresql_ops={"denomination": "gin_trgm_ops"},
        ),
        Index("ix_etablissement_denomination", "denomination"),  # sorted by dénomination
        # The list's order (newest first, id breaking ties) and its « Créé » filters.
        Index("ix_etablissement_created", "created_at", "id"),
    )

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
    # The back-office list (backoffice/vues/utilisateurs.py; migration 0010): each word searched
    # is a start of the identifiant (as stored, lower case) or of ``lower(nom|prenom|courriel)``;
    # ``text_pattern_ops`` lets ``LIKE 'abc%'`` use them whatever the collation (and the
    # courriel's serves ``lower(courriel) = ...`` of « identifiant oublié »). The unique index
    # of ``identifiant`` and ``ix_utilisateur_nom`` serve the sorts; (created_at, id) the list's
    # order (newest first) and the date filters; (actif, created_at) the « Active » filter.
    __table_args__ = (
        Index(
            "ix_utilisateur_identifiant_prefixe",
            "identifiant",
            postgresql_ops={"identifiant": "text_pattern_ops"},
        ),
        Index(
            "ix_utilisateur_nom_prefixe",
            func.lower(text("nom")).label("nom_lower"),
            postgresql_ops={"nom_lower": "text_pattern_ops"},
        ),
        Index(
            "ix_utilisateur_prenom_prefixe",
            func.lower(text("prenom")).label("prenom_lower"),
            postgresql_ops={"prenom_lower": "text_pattern_ops"},
        ),
        Index(
            "ix_utilisateur_courriel_prefixe",
            func.lower(text("courriel")).label("courriel_lower"),
            postgresql_ops={"courriel_lower": "text_pattern_ops"},
        ),
        Index("ix_utilisateur_nom", "nom"),
        Index("ix_utilisateur_actif_created", "actif", "created_at"),
        Index("ix_utilisateur_created", "created_at", "id"),
    )

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
        # Also the index of ``utilisateur_id`` alone (its leading column).
        UniqueConstraint(
            "utilisateur_id", "etablissement_id", name="uq_habilitation_utilisateur_etablissement"
        ),
        # The back-office list (backoffice/vues/habilitations.py; migration 0010): its order
        # (newest first) and date filters; the « Rôle » and « Active » filters in that order,
        # and their sorts.
        Index("ix_habilitation_created", "created_at", "id"),
        Index("ix_habilitation_role_created", "role", "created_at"),
        Index("ix_habilitation_actif_created", "actif", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    utilisateur_id: Mapped[int] = mapped_column(ForeignKey("utilisateur.id"))
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
    # No index of its own: ix_demande_compte_departement_state_created leads with it.
    departement: Mapped[str] = mapped_column(String(3))
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
