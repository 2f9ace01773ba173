"""security: normalised bank references, server-side login sessions, shared rate limits (login
throttling replaces login_failure), passwords an admin set

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

import finance.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _normalise_reference(text: str | None) -> str:
    """finance.payments.references.normalise_reference as it was written with this migration (kept
    here so that the migration does not depend on the application's code as it is later)."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in ("L", "N"))


def _old_reference_unique(bind: sa.engine.Connection) -> str | None:
    for uq in sa.inspect(bind).get_unique_constraints('payment'):
        if uq['column_names'] == ['bank_reference']:
            return uq['name']
    return None


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table('login_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('client_addr', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)

    op.create_table('rate_limit',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('window_started_at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', finance.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('scope', 'key')
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failure_username'))
        batch_op.drop_index(batch_op.f('ix_login_failure_at'))
    op.drop_table('login_failure')
    # A plain ADD COLUMN, also on SQLite: a batch copy of user_account would drop a table that other rows
    # refer to, which foreign keys refuse once there is data.
    op.add_column('user_account', sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                            nullable=False))

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference_key', sa.String(length=80), nullable=True))

    # Existing payments: the key is the normalised reference. Two old rows that normalise alike were one
    # transfer settling two requests: both are kept (the trail names them), the later one's key gets its
    # row id so the index can be built, and they are listed for the district to look into.
    taken: set[str] = set()
    rows = bind.execute(sa.text("SELECT id, bank_reference FROM payment ORDER BY id")).all()
    for row_id, reference in rows:
        key = _normalise_reference(reference)[:64]
        if key in taken or not key:
            print(f"sanzi 0004: payment {row_id}: bank reference {reference!r} was already used; "
                  "kept, to be looked into")
            key = f"{key}~{row_id}"
        taken.add(key)
        bind.execute(sa.text("UPDATE payment SET reference_key = :key WHERE id = :id"), {"key": key, "id": row_id})

    old = _old_reference_unique(bind)
    naming = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
    with op.batch_alter_table('payment', schema=None, naming_convention=naming) as batch_op:
        if old is not None or bind.dialect.name == 'sqlite':
            batch_op.drop_constraint(old or 'uq_payment_bank_reference', type_='unique')
        batch_op.alter_column('reference_key', existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint('uq_payment_reference_key', ['reference_key'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # Native DROP COLUMN (SQLite 3.35+): a batch copy of user_account would drop a table that other
        # rows refer to, which foreign keys refuse once there is data.
        op.execute('ALTER TABLE user_account DROP COLUMN must_change_password')
    else:
        with op.batch_alter_table('user_account', schema=None) as batch_op:
            batch_op.drop_column('must_change_password')
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('at', finance.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('client_addr', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failure_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failure_username'), ['username'], unique=False)
    op.drop_table('rate_limit')
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))
    op.drop_table('login_session')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_payment_reference_key', type_='unique')
        batch_op.drop_column('reference_key')
        batch_op.create_unique_constraint('payment_bank_reference_key', ['bank_reference'])
