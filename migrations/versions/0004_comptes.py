"""Establishments, identities, habilitations, account requests, audit

Revision ID: 0004_comptes
Revises: 0003_notification
Create Date: 2026-11-23 12:27:09.178241

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.types

# revision identifiers, used by Alembic.
revision = '0004_comptes'
down_revision = '0003_notification'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', models.types.UtcDateTime(), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=True),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('state_from', sa.String(length=32), nullable=True),
    sa.Column('state_to', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_event_operation_occurred', ['operation', 'occurred_at'], unique=False)

    op.create_table('etablissement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('denomination', sa.String(length=120), nullable=False),
    sa.Column('numero_voie', sa.String(length=5), nullable=True),
    sa.Column('extension_voie', sa.String(length=1), nullable=True),
    sa.Column('type_voie', sa.String(length=4), nullable=True),
    sa.Column('libelle_voie', sa.String(length=100), nullable=False),
    sa.Column('complement_adresse', sa.String(length=100), nullable=True),
    sa.Column('code_postal', sa.String(length=5), nullable=False),
    sa.Column('ville', sa.String(length=100), nullable=False),
    sa.Column('departement', sa.String(length=3), nullable=False),
    sa.Column('courriel', sa.String(length=254), nullable=False),
    sa.Column('telephone', sa.String(length=20), nullable=False),
    sa.Column('fax', sa.String(length=20), nullable=True),
    sa.Column('created_at', models.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_etablissement')),
    sa.UniqueConstraint('siret', name=op.f('uq_etablissement_siret'))
    )
    with op.batch_alter_table('etablissement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_etablissement_departement'), ['departement'], unique=False)

    op.create_table('utilisateur',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifiant', sa.String(length=20), nullable=False),
    sa.Column('nom', sa.String(length=80), nullable=False),
    sa.Column('prenom', sa.String(length=80), nullable=False),
    sa.Column('courriel', sa.String(length=254), nullable=False),
    sa.Column('telephone', sa.String(length=20), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('question_secrete', sa.String(length=200), nullable=False),
    sa.Column('reponse_hash', sa.String(length=200), nullable=False),
    sa.Column('actif', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_utilisateur')),
    sa.UniqueConstraint('identifiant', name=op.f('uq_utilisateur_identifiant'))
    )
    with op.batch_alter_table('utilisateur', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_utilisateur_courriel'), ['courriel'], unique=False)

    op.create_table('demande_compte',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('departement', sa.String(length=3), nullable=False),
    sa.Column('state', sa.Enum('a_traiter', 'validee', 'rejetee', name='demande_compte_state', native_enum=False, length=16), nullable=False),
    sa.Column('form_id', sa.String(length=100), nullable=False),
    sa.Column('form_version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('reponse_hash', sa.String(length=200), nullable=False),
    sa.Column('utilisateur_existant_id', sa.Integer(), nullable=True),
    sa.Column('etablissement_id', sa.Integer(), nullable=True),
    sa.Column('motif_rejet', sa.String(length=2000), nullable=True),
    sa.Column('validation_auto', sa.Boolean(), nullable=False),
    sa.Column('decided_at', models.types.UtcDateTime(), nullable=True),
    sa.Column('decided_by', sa.String(length=254), nullable=True),
    sa.Column('created_at', models.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['etablissement_id'], ['etablissement.id'], name=op.f('fk_demande_compte_etablissement_id_etablissement')),
    sa.ForeignKeyConstraint(['utilisateur_existant_id'], ['utilisateur.id'], name=op.f('fk_demande_compte_utilisateur_existant_id_utilisateur')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demande_compte'))
    )
    with op.batch_alter_table('demande_compte', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demande_compte_departement'), ['departement'], unique=False)
        batch_op.create_index(batch_op.f('ix_demande_compte_siret'), ['siret'], unique=False)
        batch_op.create_index('ix_demande_compte_state_created', ['state', 'created_at'], unique=False)
        batch_op.create_index('uq_demande_compte_siret_a_traiter', ['siret'], unique=True, sqlite_where=sa.text("state = 'a_traiter'"), postgresql_where=sa.text("state = 'a_traiter'"))

    op.create_table('habilitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('utilisateur_id', sa.Integer(), nullable=False),
    sa.Column('etablissement_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('referent', 'utilisateur', name='habilitation_role', native_enum=False, length=16), nullable=False),
    sa.Column('actif', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.types.UtcDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.ForeignKeyConstraint(['etablissement_id'], ['etablissement.id'], name=op.f('fk_habilitation_etablissement_id_etablissement')),
    sa.ForeignKeyConstraint(['utilisateur_id'], ['utilisateur.id'], name=op.f('fk_habilitation_utilisateur_id_utilisateur')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_habilitation')),
    sa.UniqueConstraint('utilisateur_id', 'etablissement_id', name='uq_habilitation_utilisateur_etablissement')
    )
    with op.batch_alter_table('habilitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_habilitation_etablissement_id'), ['etablissement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_habilitation_utilisateur_id'), ['utilisateur_id'], unique=False)

    op.create_table('jeton_mot_de_passe',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('utilisateur_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', models.types.UtcDateTime(), nullable=False),
    sa.Column('used_at', models.types.UtcDateTime(), nullable=True),
    sa.Column('created_at', models.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['utilisateur_id'], ['utilisateur.id'], name=op.f('fk_jeton_mot_de_passe_utilisateur_id_utilisateur')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jeton_mot_de_passe')),
    sa.UniqueConstraint('digest', name=op.f('uq_jeton_mot_de_passe_digest'))
    )
    with op.batch_alter_table('jeton_mot_de_passe', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jeton_mot_de_passe_utilisateur_id'), ['utilisateur_id'], unique=False)



def downgrade():
    with op.batch_alter_table('jeton_mot_de_passe', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jeton_mot_de_passe_utilisateur_id'))

    op.drop_table('jeton_mot_de_passe')
    with op.batch_alter_table('habilitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_habilitation_utilisateur_id'))
        batch_op.drop_index(batch_op.f('ix_habilitation_etablissement_id'))

    op.drop_table('habilitation')
    with op.batch_alter_table('demande_compte', schema=None) as batch_op:
        batch_op.drop_index('uq_demande_compte_siret_a_traiter', sqlite_where=sa.text("state = 'a_traiter'"), postgresql_where=sa.text("state = 'a_traiter'"))
        batch_op.drop_index('ix_demande_compte_state_created')
        batch_op.drop_index(batch_op.f('ix_demande_compte_siret'))
        batch_op.drop_index(batch_op.f('ix_demande_compte_departement'))

    op.drop_table('demande_compte')
    with op.batch_alter_table('utilisateur', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_utilisateur_courriel'))

    op.drop_table('utilisateur')
    with op.batch_alter_table('etablissement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_etablissement_departement'))

    op.drop_table('etablissement')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_operation_occurred')
        batch_op.drop_index(batch_op.f('ix_audit_event_occurred_at'))
        batch_op.drop_index('ix_audit_event_object')

    op.drop_table('audit_event')
