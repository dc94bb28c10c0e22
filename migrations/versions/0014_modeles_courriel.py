"""Mail templates edited in the back-office: versions, and the version each mail is rendered with

Revision ID: 0014_modeles_courriel
Revises: 0013_brouillons
Create Date: 2026-11-23 20:00:00.000000

- ``modele_courriel_version``: immutable published versions and at most one draft per mail
  template (``models/modeles_courriel.py``).
- ``notification.modele_version_id``: the published version a mail was queued with (NULL: the
  shipped files), so that a publication never changes a mail already queued.
"""

import sqlalchemy as sa
from alembic import op

import models.types

# revision identifiers, used by Alembic.
revision = "0014_modeles_courriel"
down_revision = "0013_brouillons"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "modele_courriel_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("modele", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column(
            "etat",
            sa.Enum(
                "brouillon", "publiee", name="etat_modele_courriel", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("sujet", sa.Text(), nullable=False),
        sa.Column("corps", sa.Text(), nullable=False),
        sa.Column("restauree_de", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", models.types.UtcDateTime(), nullable=False),
        sa.Column("published_at", models.types.UtcDateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modele_courriel_version")),
        sa.UniqueConstraint("modele", "version", name="uq_modele_courriel_version_modele_version"),
    )
    with op.batch_alter_table("modele_courriel_version", schema=None) as batch_op:
        batch_op.create_index("ix_modele_courriel_version_etat_id", ["etat", "id"], unique=False)
        batch_op.create_index(
            "uq_modele_courriel_version_brouillon",
            ["modele"],
            unique=True,
            sqlite_where=sa.text("etat = 'brouillon'"),
            postgresql_where=sa.text("etat = 'brouillon'"),
        )

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modele_version_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_modele_version_id_modele_courriel_version"),
            "modele_courriel_version",
            ["modele_version_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notification_modele_version_id_modele_courriel_version"),
            type_="foreignkey",
        )
        batch_op.drop_column("modele_version_id")

    with op.batch_alter_table("modele_courriel_version", schema=None) as batch_op:
        batch_op.drop_index("uq_modele_courriel_version_brouillon")
        batch_op.drop_index("ix_modele_courriel_version_etat_id")
    op.drop_table("modele_courriel_version")
