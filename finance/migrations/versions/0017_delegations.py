"""delegations: A names B to act for A in a role over villages between two dates; a request's history
records on whose behalf a delegate acted

Revision ID: 0017
Revises: 0009
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import finance.db

revision = '0017'
down_revision = '0009'
branch_labels = None
depends_on = None

ROLE = sa.Enum('accountant', 'village_lead', 'village_supervisor', 'agency_reviewer', 'township_leader',
               'township_head', 'cashier', 'liaison', 'admin', name='role', native_enum=False, length=32)


def upgrade() -> None:
    op.create_table('delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=False),
    sa.Column('role', ROLE, nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['principal_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['delegate_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['ended_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.create_index('ix_delegation_delegate_dates', ['delegate_id', 'ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_delegation_principal_id'), ['principal_id'], unique=False)
    op.create_table('delegation_village',
    sa.Column('delegation_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delegation_id'], ['delegation.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('delegation_id', 'village_id')
    )
    with op.batch_alter_table('request_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_behalf_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_request_action_on_behalf_of_id_user_account', 'user_account',
                                    ['on_behalf_of_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('request_action', schema=None) as batch_op:
        batch_op.drop_constraint('fk_request_action_on_behalf_of_id_user_account', type_='foreignkey')
        batch_op.drop_column('on_behalf_of_id')
    op.drop_table('delegation_village')
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delegation_principal_id'))
        batch_op.drop_index('ix_delegation_delegate_dates')
    op.drop_table('delegation')
