"""imports (issue 13 item 5): import batches, account activations, the chart's classes and parents, the
township's level name, payment history (the imported flag, history records and receipts), the village
member roll; an invoice of imported history may have no photo

Revision ID: 0012
Revises: 0013 (reserved id 0012; follows main's head after merging main)
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import finance.db


revision = '0012'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.create_index('ix_import_batch_file', ['kind', 'sha256'], unique=False)

    op.create_table('account_activation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('account_activation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_activation_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('account_subject', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.Enum('asset', 'liability', 'equity', 'cost', 'profit_loss', name='subjectcategory', native_enum=False, length=16), nullable=True))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_account_subject_parent_id_account_subject', 'account_subject', ['parent_id'], ['id'])

    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level_name', sa.String(length=8), nullable=True))

    with op.batch_alter_table('payment_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('imported', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('invoice_fact', schema=None) as batch_op:
        batch_op.alter_column('attachment_id', existing_type=sa.Integer(), nullable=True)

    op.create_table('history_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('line_sha256', sa.String(length=64), nullable=False),
    sa.Column('requester_name', sa.String(length=64), nullable=False),
    sa.Column('approvals', sa.Text(), nullable=False),
    sa.Column('paid_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('bank_reference', sa.String(length=64), nullable=True),
    sa.Column('payer_account', sa.String(length=40), nullable=True),
    sa.Column('payee_id_number', sa.String(length=32), nullable=True),
    sa.Column('imported_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['payment_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('history_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_record_batch_id'), ['batch_id'], unique=False)

    op.create_table('history_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('received_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payer_name', sa.String(length=100), nullable=False),
    sa.Column('payer_account', sa.String(length=40), nullable=False),
    sa.Column('amount', finance.db.Money(), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('receipt_number', sa.String(length=40), nullable=False),
    sa.Column('account', sa.String(length=40), nullable=False),
    sa.Column('line_sha256', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('history_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_receipt_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_receipt_village_id'), ['village_id'], unique=False)

    op.create_table('village_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('name_key', sa.String(length=64), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('status', sa.Enum('on_roll', 'moved_out', 'deceased', name='memberstatus', native_enum=False, length=16), nullable=False),
    sa.Column('status_date', sa.Date(), nullable=True),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('village_id', 'id_number', name='uq_village_member')
    )
    with op.batch_alter_table('village_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_village_member_id_number'), ['id_number'], unique=False)
        batch_op.create_index('ix_village_member_name', ['village_id', 'name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_village_member_village_id'), ['village_id'], unique=False)


def downgrade() -> None:
    op.drop_table('village_member')
    op.drop_table('history_receipt')
    op.drop_table('history_record')
    with op.batch_alter_table('invoice_fact', schema=None) as batch_op:
        batch_op.alter_column('attachment_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('payment_request', schema=None) as batch_op:
        batch_op.drop_column('imported')
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_column('level_name')
    with op.batch_alter_table('account_subject', schema=None) as batch_op:
        batch_op.drop_constraint('fk_account_subject_parent_id_account_subject', type_='foreignkey')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('category')
    op.drop_table('account_activation')
    op.drop_table('import_batch')
