"""Account-request queue of the back-office: search columns, "je prends", one index per filter

Revision ID: 0009_demandes_index
Revises: 0008_agents
Create Date: 2026-11-24 09:00:00.000000

- ``denomination`` and ``courriel`` (the contact's, lower case) copied out of the JSON document
  so that the queue searches indexed columns; existing rows are filled here.
- ``assigned_to_id`` / ``assigned_at``: the agent who took the request ("Je prends").
- Indexes for every filter and sort the queue offers (``backoffice/vues/demandes.py``). On
  PostgreSQL the substring search uses trigram GIN indexes (extension ``pg_trgm``, a trusted
  extension: the database owner may create it).
"""

import sqlalchemy as sa
from alembic import op

import models.types

# revision identifiers, used by Alembic.
revision = "0009_demandes_index"
down_revision = "0008_agents"
branch_labels = None
depends_on = None


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    with op.batch_alter_table("demande_compte", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("denomination", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("courriel", sa.String(length=254), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", models.types.UtcDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_demande_compte_assigned_to_id_agent"),
            "agent",
            ["assigned_to_id"],
            ["id"],
            ondelete="SET NULL",
        )

    if postgresql:
        op.execute(
            "UPDATE demande_compte SET"
            " denomination = left(coalesce(data->'etablissement'->>'denomination', ''), 120),"
            " courriel = left(lower(coalesce(data->'utilisateur'->>'courriel', '')), 254)"
        )
    else:
        op.execute(
            "UPDATE demande_compte SET"
            " denomination = substr(coalesce("
            "json_extract(data, '$.etablissement.denomination'), ''), 1, 120),"
            " courriel = substr(lower(coalesce("
            "json_extract(data, '$.utilisateur.courriel'), '')), 1, 254)"
        )

    with op.batch_alter_table("demande_compte", schema=None) as batch_op:
        batch_op.create_index("ix_demande_compte_created", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_demande_compte_departement_state_created",
            ["departement", "state", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_demande_compte_assigned_state_created",
            ["assigned_to_id", "state", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_demande_compte_denomination_trgm",
            ["denomination"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"denomination": "gin_trgm_ops"},
        )
        batch_op.create_index(
            "ix_demande_compte_courriel_trgm",
            ["courriel"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"courriel": "gin_trgm_ops"},
        )


def downgrade():
    with op.batch_alter_table("demande_compte", schema=None) as batch_op:
        batch_op.drop_index("ix_demande_compte_courriel_trgm")
        batch_op.drop_index("ix_demande_compte_denomination_trgm")
        batch_op.drop_index("ix_demande_compte_assigned_state_created")
        batch_op.drop_index("ix_demande_compte_departement_state_created")
        batch_op.drop_index("ix_demande_compte_created")
        batch_op.drop_constraint(
            batch_op.f("fk_demande_compte_assigned_to_id_agent"), type_="foreignkey"
        )
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to_id")
        batch_op.drop_column("courriel")
        batch_op.drop_column("denomination")
    # pg_trgm stays: other objects of the database may use it.
