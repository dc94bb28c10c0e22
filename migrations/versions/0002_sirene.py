"""Local SIRENE directory: establishments and the progress of stock imports.

Revision ID: 0002_sirene
Revises: 0001_initial
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0002_sirene"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sirene_etablissement",
        sa.Column("siret", sa.String(length=14), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("denomination", sa.String(length=255), nullable=True),
        sa.Column("enseigne", sa.String(length=255), nullable=True),
        sa.Column("numero_voie", sa.String(length=10), nullable=True),
        sa.Column("indice_repetition", sa.String(length=10), nullable=True),
        sa.Column("type_voie", sa.String(length=10), nullable=True),
        sa.Column("libelle_voie", sa.String(length=255), nullable=True),
        sa.Column("complement_adresse", sa.String(length=255), nullable=True),
        sa.Column("code_postal", sa.String(length=5), nullable=True),
        sa.Column("libelle_commune", sa.String(length=255), nullable=True),
        sa.Column("code_commune", sa.String(length=5), nullable=True),
        sa.Column("etat_administratif", sa.String(length=1), nullable=False),
        sa.Column("activite_principale", sa.String(length=10), nullable=True),
        sa.Column("date_creation", sa.Date(), nullable=True),
        sa.Column("updated_at", models.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("siret", name=op.f("pk_sirene_etablissement")),
    )
    op.create_index(
        op.f("ix_sirene_etablissement_siren"), "sirene_etablissement", ["siren"], unique=False
    )
    op.create_index(
        op.f("ix_sirene_etablissement_code_postal"),
        "sirene_etablissement",
        ["code_postal"],
        unique=False,
    )
    op.create_table(
        "sirene_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("started_at", models.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", models.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sirene_import")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_sirene_import_fingerprint")),
    )


def downgrade():
    op.drop_table("sirene_import")
    op.drop_index(op.f("ix_sirene_etablissement_code_postal"), table_name="sirene_etablissement")
    op.drop_index(op.f("ix_sirene_etablissement_siren"), table_name="sirene_etablissement")
    op.drop_table("sirene_etablissement")
