"""Security-check challenges

Revision ID: 0006_controle
Revises: 0005_jeton_session
Create Date: 2026-11-23 13:03:03.290423

"""
import sqlalchemy as sa
from alembic import op

import models.types


# revision identifiers, used by Alembic.
revision = '0006_controle'
down_revision = '0005_jeton_session'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('defi_controle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jeton', sa.String(length=32), nullable=False),
    sa.Column('reponse_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', models.types.UtcDateTime(), nullable=False),
    sa.Column('created_at', models.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_defi_controle')),
    sa.UniqueConstraint('jeton', name=op.f('uq_defi_controle_jeton'))
    )
    with op.batch_alter_table('defi_controle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_defi_controle_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('defi_controle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_defi_controle_expires_at'))

    op.drop_table('defi_controle')
