"""Session token of identities

Revision ID: 0005_jeton_session
Revises: 0004_comptes
Create Date: 2026-11-23 12:50:42.569427

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005_jeton_session'
down_revision = '0004_comptes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('utilisateur', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jeton_session', sa.String(length=32), nullable=True))



def downgrade():
    with op.batch_alter_table('utilisateur', schema=None) as batch_op:
        batch_op.drop_column('jeton_session')

