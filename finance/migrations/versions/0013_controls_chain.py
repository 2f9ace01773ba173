"""controls in the approval chain (issue 11): the route a request was submitted with (its step roles and
the amount a cumulative band routed it by), committee votes (k of n), the agency's 原件已收

Revision ID: 0013
Revises: 0014
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import finance.db

revision = '0013'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route_roles', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('route_amount', finance.db.Money(precision=14, scale=2), nullable=True))

    op.create_table('committee_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['payment_request.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'round', 'step', 'user_id', name='uq_committee_vote')
    )
    with op.batch_alter_table('committee_vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committee_vote_request_id'), ['request_id'], unique=False)

    op.create_table('originals_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('received_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['received_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['payment_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )


def downgrade() -> None:
    op.drop_table('originals_receipt')
    with op.batch_alter_table('committee_vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_committee_vote_request_id'))
    op.drop_table('committee_vote')
    with op.batch_alter_table('payment_request', schema=None) as batch_op:
        batch_op.drop_column('route_amount')
        batch_op.drop_column('route_roles')
