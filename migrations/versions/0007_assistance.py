"""Support requests; secret question chosen later

Revision ID: 0007_assistance
Revises: 0006_controle
Create Date: 2026-11-23 15:25:23.138296

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

import models.types

# revision identifiers, used by Alembic.
revision = "0007_assistance"
down_revision = "0006_controle"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "demande_assistance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=14), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "ouverte",
                "repondue",
                "close",
                name="demande_assistance_state",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("form_id", sa.String(length=100), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("courriel", sa.String(length=254), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("sujet", sa.String(length=40), nullable=True),
        sa.Column("utilisateur_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", models.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["utilisateur_id"],
            ["utilisateur.id"],
            name=op.f("fk_demande_assistance_utilisateur_id_utilisateur"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demande_assistance")),
        sa.UniqueConstraint("reference", name=op.f("uq_demande_assistance_reference")),
    )
    with op.batch_alter_table("demande_assistance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_demande_assistance_courriel"), ["courriel"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_demande_assistance_siret"), ["siret"], unique=False)
        batch_op.create_index(
            "ix_demande_assistance_state_created", ["state", "created_at"], unique=False
        )

    with op.batch_alter_table("utilisateur", schema=None) as batch_op:
        batch_op.alter_column(
            "question_secrete", existing_type=sa.VARCHAR(length=200), nullable=True
        )
        batch_op.alter_column("reponse_hash", existing_type=sa.VARCHAR(length=200), nullable=True)


def downgrade():
    with op.batch_alter_table("utilisateur", schema=None) as batch_op:
        batch_op.alter_column("reponse_hash", existing_type=sa.VARCHAR(length=200), nullable=False)
        batch_op.alter_column(
            "question_secrete", existing_type=sa.VARCHAR(length=200), nullable=False
        )

    with op.batch_alter_table("demande_assistance", schema=None) as batch_op:
        batch_op.drop_index("ix_demande_assistance_state_created")
        batch_op.drop_index(batch_op.f("ix_demande_assistance_siret"))
        batch_op.drop_index(batch_op.f("ix_demande_assistance_courriel"))

    op.drop_table("demande_assistance")
