"""bank: accounts with opening balances, statement imports and lines, receipts, matches, exceptions,
per-township settings for charges and interest, month closes (issue 10)

Revision ID: 0010
Revises: 0012
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import finance.db


revision = '0010'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('bank_name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('basic', 'general', 'special', name='accountkind', native_enum=False, length=16), nullable=False),
    sa.Column('opening_date', sa.Date(), nullable=False),
    sa.Column('opening_balance', finance.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('bank_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_account_village_id'), ['village_id'], unique=False)

    op.create_table('bank_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('fee_words', sa.String(length=200), nullable=False),
    sa.Column('fee_limit', finance.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('interest_words', sa.String(length=200), nullable=False),
    sa.Column('interest_limit', finance.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('paid_grace_days', sa.Integer(), nullable=False),
    sa.Column('mask_public_names', sa.Boolean(), nullable=False),
    sa.Column('updated_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('township_id')
    )
    op.create_table('month_close',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('balances', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('village_id', 'period', name='uq_month_close_period')
    )
    op.create_table('bank_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('payer_name', sa.String(length=100), nullable=False),
    sa.Column('payer_account', sa.String(length=40), nullable=False),
    sa.Column('amount', finance.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('type', sa.Enum('rent', 'contracting', 'subsidy', 'interest', 'other', name='receipttype', native_enum=False, length=16), nullable=False),
    sa.Column('receipt_number', sa.String(length=40), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('attachment_sha256', sa.String(length=64), nullable=True),
    sa.Column('attachment_name', sa.String(length=200), nullable=True),
    sa.Column('attachment_type', sa.String(length=64), nullable=True),
    sa.Column('client_key', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['bank_account.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_key'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('bank_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_receipt_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_receipt_village_id'), ['village_id'], unique=False)

    op.create_table('statement_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('added_count', sa.Integer(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['bank_account.id'], ),
    sa.ForeignKeyConstraint(['imported_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('statement_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_import_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_import_sha256'), ['sha256'], unique=False)

    op.create_table('statement_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('serial_key', sa.String(length=80), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('value_time', sa.Time(), nullable=True),
    sa.Column('debit', finance.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('credit', finance.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('balance', finance.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('counterparty_name', sa.String(length=100), nullable=False),
    sa.Column('counterparty_account', sa.String(length=40), nullable=False),
    sa.Column('counterparty_bank', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('payment', 'income', 'fee', 'interest', name='linekind', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['bank_account.id'], ),
    sa.ForeignKeyConstraint(['import_id'], ['statement_import.id'], ),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'serial_key', name='uq_statement_line_serial')
    )
    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.create_index('ix_statement_line_account_date', ['account_id', 'value_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_line_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_line_serial_key'), ['serial_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_line_village_id'), ['village_id'], unique=False)

    op.create_table('bank_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('unmatched_outflow', 'unregistered_income', 'paid_without_statement', 'amount_mismatch', 'counterparty_mismatch', name='exceptionkind', native_enum=False, length=32), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('amount', finance.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('raised_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['statement_line.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], ),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'line_id', name='uq_bank_exception_line'),
    sa.UniqueConstraint('kind', 'payment_id', name='uq_bank_exception_payment')
    )
    with op.batch_alter_table('bank_exception', schema=None) as batch_op:
        batch_op.create_index('ix_bank_exception_village_open', ['village_id', 'closed_at'], unique=False)

    op.create_table('bank_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('receipt_id', sa.Integer(), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.Enum('reference', 'amount_account_date', 'manual', name='matchrule', native_enum=False, length=24), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'confirmed', name='matchstatus', native_enum=False, length=16), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['statement_line.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], ),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['receipt_id'], ['bank_receipt.id'], ),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('line_id'),
    sa.UniqueConstraint('payment_id'),
    sa.UniqueConstraint('receipt_id')
    )
    with op.batch_alter_table('bank_match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_match_village_id'), ['village_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bank_match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_match_village_id'))

    op.drop_table('bank_match')
    with op.batch_alter_table('bank_exception', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_exception_village_open')

    op.drop_table('bank_exception')
    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_line_village_id'))
        batch_op.drop_index(batch_op.f('ix_statement_line_serial_key'))
        batch_op.drop_index(batch_op.f('ix_statement_line_import_id'))
        batch_op.drop_index('ix_statement_line_account_date')

    op.drop_table('statement_line')
    with op.batch_alter_table('statement_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_import_sha256'))
        batch_op.drop_index(batch_op.f('ix_statement_import_account_id'))

    op.drop_table('statement_import')
    with op.batch_alter_table('bank_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_receipt_village_id'))
        batch_op.drop_index(batch_op.f('ix_bank_receipt_account_id'))

    op.drop_table('bank_receipt')
    op.drop_table('month_close')
    op.drop_table('bank_settings')
    with op.batch_alter_table('bank_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_account_village_id'))

    op.drop_table('bank_account')
