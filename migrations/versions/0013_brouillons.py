"""Drafts of the forms in steps

Revision ID: 0013_brouillons
Revises: 0012_soumissions
Create Date: 2026-11-23 19:50:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

import models.types

# revision identifiers, used by Alembic.
revision = "0013_brouillons"
down_revision = "0012_soumissions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "brouillon_formulaire",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.String(length=100), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("etape", sa.Integer(), nullable=False),
        sa.Column("utilisateur_id", sa.Integer(), nullable=True),
        sa.Column("jeton_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", models.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", models.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["utilisateur_id"],
            ["utilisateur.id"],
            name=op.f("fk_brouillon_formulaire_utilisateur_id_utilisateur"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brouillon_formulaire")),
        sa.UniqueConstraint("jeton_hash", name=op.f("uq_brouillon_formulaire_jeton_hash")),
    )
    with op.batch_alter_table("brouillon_formulaire", schema=None) as batch_op:
        batch_op.create_index(
            "ix_brouillon_formulaire_utilisateur_form", ["utilisateur_id", "form_id"], unique=False
        )
        batch_op.create_index("ix_brouillon_formulaire_expires", ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("brouillon_formulaire", schema=None) as batch_op:
        batch_op.drop_index("ix_brouillon_formulaire_expires")
        batch_op.drop_index("ix_brouillon_formulaire_utilisateur_form")
    op.drop_table("brouillon_formulaire")
