"""Back-office agents, their départements and recovery codes

Revision ID: 0008_agents
Revises: 0007_assistance
Create Date: 2026-11-23 16:07:14.142024

"""

import sqlalchemy as sa
from alembic import op

import models.types

# revision identifiers, used by Alembic.
revision = "0008_agents"
down_revision = "0007_assistance"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("nom", sa.String(length=80), nullable=False),
        sa.Column("prenom", sa.String(length=80), nullable=False),
        sa.Column(
            "role",
            sa.Enum("administrateur", "asp", "ud", name="agent_role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("totp_secret_chiffre", sa.String(length=255), nullable=False),
        sa.Column("totp_enrolled_at", models.types.UtcDateTime(), nullable=True),
        sa.Column("totp_dernier_pas", sa.Integer(), nullable=True),
        sa.Column("actif", sa.Boolean(), nullable=False),
        sa.Column("jeton_session", sa.String(length=32), nullable=False),
        sa.Column("derniere_connexion_at", models.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", models.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.UniqueConstraint("email", name=op.f("uq_agent_email")),
    )
    op.create_table(
        "agent_code_secours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("utilise_le", models.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", models.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_agent_code_secours_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_code_secours")),
    )
    with op.batch_alter_table("agent_code_secours", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_code_secours_agent_digest", ["agent_id", "code_hash"], unique=False
        )

    op.create_table(
        "agent_departement",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_agent_departement_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "code", name=op.f("pk_agent_departement")),
    )
    with op.batch_alter_table("agent_departement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_departement_code"), ["code"], unique=False)


def downgrade():
    with op.batch_alter_table("agent_departement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_departement_code"))

    op.drop_table("agent_departement")
    with op.batch_alter_table("agent_code_secours", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_code_secours_agent_digest")

    op.drop_table("agent_code_secours")
    op.drop_table("agent")
