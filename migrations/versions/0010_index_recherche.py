"""Back-office lists at scale: one index per search, filter and sort they offer

Revision ID: 0010_index_recherche
Revises: 0009_demandes_index
Create Date: 2026-11-24 10:00:00.000000

Issue #6 item 9. The lists of ``backoffice/vues/`` (établissements, utilisateurs,
habilitations, journal, demandes d'assistance) search by the start of a SIRET, an identifiant,
a name or an address, by words of a dénomination, filter on roles, states, actors and dates,
and sort on a few columns; each of these gets the index PostgreSQL uses for it
(``tests/backoffice/test_index_recherche.py`` checks the plans).

- Prefix searches (``LIKE 'abc%'``): ``text_pattern_ops`` B-trees, on the column or on
  ``lower(column)`` as the view compares it (``lower(nom) LIKE 'abc%'``: PostgreSQL's
  ``ILIKE 'abc%'`` has no B-tree index). The default operator class serves ``LIKE`` only
  under the "C" collation; the unique indexes of ``siret`` and ``identifiant`` keep serving
  equality and the sorts.
- Words of the dénomination (``denomination ILIKE '%mot%'``) and the support queue's
  substring search (``ILIKE``): trigram GIN (``pg_trgm``, created by 0009).
- SQLite gets a plain index in place of each PostgreSQL-only one (as 0009 did): the models
  declare them the same way, so ``db.create_all`` and these migrations agree.
- The lists of établissements, utilisateurs and habilitations read newest first on
  ``(created_at, id)``: ordered by ``id``, a date filter on an old period made PostgreSQL walk
  the primary key from the newest row (it cannot know that ids follow the dates).
- Dropped, covered by a composite index leading with the same column:
  ``ix_demande_compte_departement`` (``ix_demande_compte_departement_state_created``) and
  ``ix_habilitation_utilisateur_id`` (``uq_habilitation_utilisateur_etablissement``).
  ``ix_audit_event_object`` becomes (object_id, object_type): the journal's « N° de l'objet »
  filter may come without the type.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_index_recherche"
down_revision = "0009_demandes_index"
branch_labels = None
depends_on = None


def _lower(colonne: str):
    """``lower(colonne)``, labelled so that ``postgresql_ops`` can name it (as in the models)."""
    return sa.func.lower(sa.text(colonne)).label(f"{colonne}_lower")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    # établissements
    op.create_index(
        "ix_etablissement_siret_prefixe",
        "etablissement",
        ["siret"],
        postgresql_ops={"siret": "text_pattern_ops"},
    )
    op.create_index(
        "ix_etablissement_denomination_trgm",
        "etablissement",
        ["denomination"],
        postgresql_using="gin",
        postgresql_ops={"denomination": "gin_trgm_ops"},
    )
    op.create_index("ix_etablissement_denomination", "etablissement", ["denomination"])
    op.create_index("ix_etablissement_created", "etablissement", ["created_at", "id"])

    # utilisateurs
    op.create_index(
        "ix_utilisateur_identifiant_prefixe",
        "utilisateur",
        ["identifiant"],
        postgresql_ops={"identifiant": "text_pattern_ops"},
    )
    for colonne in ("nom", "prenom", "courriel"):
        op.create_index(
            f"ix_utilisateur_{colonne}_prefixe",
            "utilisateur",
            [_lower(colonne)],
            postgresql_ops={f"{colonne}_lower": "text_pattern_ops"},
        )
    op.create_index("ix_utilisateur_nom", "utilisateur", ["nom"])
    op.create_index("ix_utilisateur_actif_created", "utilisateur", ["actif", "created_at"])
    op.create_index("ix_utilisateur_created", "utilisateur", ["created_at", "id"])

    # habilitations
    op.create_index("ix_habilitation_created", "habilitation", ["created_at", "id"])
    op.create_index("ix_habilitation_role_created", "habilitation", ["role", "created_at"])
    op.create_index("ix_habilitation_actif_created", "habilitation", ["actif", "created_at"])
    op.drop_index("ix_habilitation_utilisateur_id", table_name="habilitation")

    # journal
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    op.create_index("ix_audit_event_object", "audit_event", ["object_id", "object_type"])
    op.create_index("ix_audit_event_actor_occurred", "audit_event", ["actor", "occurred_at"])

    # demandes d'assistance
    op.create_index("ix_demande_assistance_created", "demande_assistance", ["created_at"])
    op.create_index(
        "ix_demande_assistance_recherche_trgm",
        "demande_assistance",
        ["reference", "courriel", "siret"],
        postgresql_using="gin",
        postgresql_ops={
            "reference": "gin_trgm_ops",
            "courriel": "gin_trgm_ops",
            "siret": "gin_trgm_ops",
        },
    )

    # demandes de création de compte
    op.drop_index("ix_demande_compte_departement", table_name="demande_compte")


def downgrade():
    op.create_index("ix_demande_compte_departement", "demande_compte", ["departement"])

    op.drop_index("ix_demande_assistance_recherche_trgm", table_name="demande_assistance")
    op.drop_index("ix_demande_assistance_created", table_name="demande_assistance")

    op.drop_index("ix_audit_event_actor_occurred", table_name="audit_event")
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    op.create_index("ix_audit_event_object", "audit_event", ["object_type", "object_id"])

    op.create_index("ix_habilitation_utilisateur_id", "habilitation", ["utilisateur_id"])
    op.drop_index("ix_habilitation_actif_created", table_name="habilitation")
    op.drop_index("ix_habilitation_role_created", table_name="habilitation")
    op.drop_index("ix_habilitation_created", table_name="habilitation")

    op.drop_index("ix_utilisateur_created", table_name="utilisateur")
    op.drop_index("ix_utilisateur_actif_created", table_name="utilisateur")
    op.drop_index("ix_utilisateur_nom", table_name="utilisateur")
    for colonne in ("courriel", "prenom", "nom"):
        op.drop_index(f"ix_utilisateur_{colonne}_prefixe", table_name="utilisateur")
    op.drop_index("ix_utilisateur_identifiant_prefixe", table_name="utilisateur")

    op.drop_index("ix_etablissement_created", table_name="etablissement")
    op.drop_index("ix_etablissement_denomination", table_name="etablissement")
    op.drop_index("ix_etablissement_denomination_trgm", table_name="etablissement")
    op.drop_index("ix_etablissement_siret_prefixe", table_name="etablissement")
