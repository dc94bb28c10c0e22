"""Submissions of standalone forms: state reçue / traitée, search text, indexes of the list

Revision ID: 0012_soumissions
Revises: 0011_formulaires
Create Date: 2026-11-23 20:30:00.000000

- ``state`` (``recue`` then ``traitee``, back to ``recue`` when reopened; existing rows are
  « reçue ») and ``updated_at``; the history is the journal (``audit_event``).
- ``texte``: the document's texts, lower case without accents, that the back-office searches
  (trigram GIN on PostgreSQL, extension ``pg_trgm`` created by 0009); existing rows are filled
  here, in batches.
- Indexes of the back-office list (``backoffice/vues/soumissions.py``): (form_id, state,
  created_at) and (state, created_at). The unique index of ``reference`` serves its search.
"""

import json
import unicodedata

import sqlalchemy as sa
from alembic import op

import models.types

# revision identifiers, used by Alembic.
revision = "0012_soumissions"
down_revision = "0011_formulaires"
branch_labels = None
depends_on = None

MAX_TEXTE = 4000  # models.submission.MAX_TEXTE when this migration was written
LOT = 500


def _texte(data) -> str:
    """models.submission.texte_de_recherche, frozen here as it was."""
    if isinstance(data, str):
        data = json.loads(data)
    morceaux = []

    def parcourir(valeur):
        if isinstance(valeur, dict):
            for element in valeur.values():
                parcourir(element)
        elif isinstance(valeur, list):
            for element in valeur:
                parcourir(element)
        elif isinstance(valeur, str | int | float) and not isinstance(valeur, bool):
            morceaux.append(str(valeur))

    parcourir(data)
    decompose = unicodedata.normalize("NFKD", " ".join(morceaux))
    sans_accents = "".join(c for c in decompose if not unicodedata.combining(c))
    return " ".join(sans_accents.lower().split())[:MAX_TEXTE]


def upgrade():
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sa.Enum("recue", "traitee", name="submission_state", native_enum=False, length=16),
                server_default="recue",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("updated_at", models.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("texte", sa.Text(), server_default="", nullable=False))

    bind = op.get_bind()
    submission = sa.table(
        "submission", sa.column("id", sa.Integer), sa.column("data"), sa.column("texte")
    )
    dernier = 0
    while True:
        lignes = bind.execute(
            sa.text("SELECT id, data FROM submission WHERE id > :dernier ORDER BY id LIMIT :lot"),
            {"dernier": dernier, "lot": LOT},
        ).all()
        if not lignes:
            break
        for identifiant, data in lignes:
            bind.execute(
                submission.update().where(submission.c.id == identifiant).values(texte=_texte(data))
            )
        dernier = lignes[-1][0]

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(
            "ix_submission_form_state_created", ["form_id", "state", "created_at"], unique=False
        )
        batch_op.create_index("ix_submission_state_created", ["state", "created_at"], unique=False)
        batch_op.create_index(
            "ix_submission_texte_trgm",
            ["texte"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"texte": "gin_trgm_ops"},
        )


def downgrade():
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_texte_trgm")
        batch_op.drop_index("ix_submission_state_created")
        batch_op.drop_index("ix_submission_form_state_created")
        batch_op.drop_column("texte")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("state")
