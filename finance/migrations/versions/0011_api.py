"""api: personal API tokens, Idempotency-Key rows of the API's POSTs, system accounts

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import finance.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, also on SQLite (a batch copy of user_account would drop a referenced table).
    op.add_column('user_account', sa.Column('system_account', sa.Boolean(), server_default=sa.false(),
                                            nullable=False))
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('api_idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('location', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'key', name='uq_api_idempotency_user_key')
    )
    with op.batch_alter_table('api_idempotency_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_idempotency_key_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_idempotency_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_idempotency_key_expires_at'))
    op.drop_table('api_idempotency_key')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
    op.drop_table('api_token')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE user_account DROP COLUMN system_account')
    else:
        with op.batch_alter_table('user_account', schema=None) as batch_op:
            batch_op.drop_column('system_account')
