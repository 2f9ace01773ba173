"""notices: the outbox (notice, notice_delivery), people's channel settings, townships' reminder policy

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa
import finance.db


revision = '0007'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice_policy',
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('remind_after_days', sa.Integer(), nullable=False),
    sa.Column('escalate_after_days', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('township_id')
    )
    op.create_table('notice_setting',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email_on', sa.Boolean(), nullable=False),
    sa.Column('sms_on', sa.Boolean(), nullable=False),
    sa.Column('wecom_on', sa.Boolean(), nullable=False),
    sa.Column('dingtalk_on', sa.Boolean(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('wecom_key', sa.String(length=100), nullable=True),
    sa.Column('dingtalk_token', sa.String(length=100), nullable=True),
    sa.Column('dingtalk_secret', sa.String(length=100), nullable=True),
    sa.Column('quiet_start', sa.Integer(), nullable=True),
    sa.Column('quiet_end', sa.Integer(), nullable=True),
    sa.Column('updated_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('turn', 'pay_due', 'returned', 'rejected', 'paid', 'question', 'answer', 'reminder', 'escalation', 'alert', name='noticekind', native_enum=False, length=16), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('village_name', sa.String(length=100), nullable=False),
    sa.Column('amount', finance.db.Money(precision=14, scale=2), nullable=True),
    sa.Column('link', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('to_role', sa.String(length=32), nullable=True),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_village_id'), ['village_id'], unique=False)

    op.create_table('notice_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('email', 'sms', 'wecom', 'dingtalk', name='channel', native_enum=False, length=16), nullable=False),
    sa.Column('dedupe_key', sa.String(length=100), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'failed', name='deliverystate', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_ref', sa.String(length=100), nullable=True),
    sa.Column('sent_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('notice_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_notice_delivery_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_delivery_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_delivery_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notice_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_delivery_user_id'))
        batch_op.drop_index(batch_op.f('ix_notice_delivery_notice_id'))
        batch_op.drop_index('ix_notice_delivery_due')

    op.drop_table('notice_delivery')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_village_id'))
        batch_op.drop_index(batch_op.f('ix_notice_request_id'))

    op.drop_table('notice')
    op.drop_table('notice_setting')
    op.drop_table('notice_policy')
