"""Form definitions in the database: immutable published versions and at most one draft

Revision ID: 0011_formulaires
Revises: 0010_index_recherche
Create Date: 2026-11-23 20:00:00.000000

The files of ``forms/schemas/`` are recorded here by ``flask forms sync``; staff publish new
versions from the back-office. See ``models/formulaires.py``.
"""

import sqlalchemy as sa
from alembic import op

import models.types

# revision identifiers, used by Alembic.
revision = "0011_formulaires"
down_revision = "0010_index_recherche"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "form_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "etat",
            sa.Enum("brouillon", "publiee", name="etat_version", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "origine",
            sa.Enum("fichier", "backoffice", name="origine_version", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("empreinte", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.types.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", models.types.UtcDateTime(), nullable=False),
        sa.Column("published_at", models.types.UtcDateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_version")),
        sa.UniqueConstraint("form_id", "version", name="uq_form_version_form_id_version"),
    )
    with op.batch_alter_table("form_version", schema=None) as batch_op:
        batch_op.create_index("ix_form_version_etat_id", ["etat", "id"], unique=False)
        batch_op.create_index(
            "uq_form_version_brouillon",
            ["form_id"],
            unique=True,
            sqlite_where=sa.text("etat = 'brouillon'"),
            postgresql_where=sa.text("etat = 'brouillon'"),
        )


def downgrade():
    with op.batch_alter_table("form_version", schema=None) as batch_op:
        batch_op.drop_index("uq_form_version_brouillon")
        batch_op.drop_index("ix_form_version_etat_id")
    op.drop_table("form_version")
