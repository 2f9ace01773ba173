"""waiting role: whose move it is, for a one-query to-do list

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
import json
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

ROLES = ('accountant', 'village_lead', 'village_supervisor', 'agency_reviewer', 'township_leader',
         'township_head', 'cashier', 'liaison', 'admin')


# finance.routing.DEFAULT_RULES' steps, for a request submitted where the township had no policy.
DEFAULT_STEPS = [{"role": "village_lead"}, {"role": "village_supervisor"}, {"role": "agency_reviewer"},
                 {"role": "township_leader", "min_amount": "10000"}, {"role": "township_head", "min_amount": "50000"}]


def _step_role(rules_json: str | None, amount: Decimal | None, subject: str | None, step: int) -> str | None:
    """The role of step `step` (1-based) under a policy's rules, as finance.routing computes it (kept
    here so the migration does not depend on the application's code as it is later)."""
    if amount is None:
        return None
    all_steps = json.loads(rules_json)["steps"] if rules_json else DEFAULT_STEPS
    steps = [s for s in all_steps
             if (s.get("min_amount") is None or amount >= Decimal(s["min_amount"]))
             and (not s.get("subjects") or subject in s["subjects"])]
    return steps[step - 1]["role"] if 1 <= step <= len(steps) else None


def upgrade() -> None:
    with op.batch_alter_table('payment_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_role', sa.Enum(*ROLES, name='role', native_enum=False, length=32),
                                      nullable=True))
        batch_op.create_index('ix_payment_request_waiting', ['village_id', 'waiting_role', 'waiting_since', 'id'],
                              unique=False)

    bind = op.get_bind()
    bind.execute(sa.text("UPDATE payment_request SET waiting_role = 'accountant' WHERE state IN ('draft', 'returned')"))
    bind.execute(sa.text("UPDATE payment_request SET waiting_role = 'cashier' WHERE state = 'approved'"))
    rows = bind.execute(sa.text(
        "SELECT r.id, r.amount, r.step, p.rules, s.code FROM payment_request r "
        "LEFT JOIN routing_policy p ON p.id = r.policy_id LEFT JOIN account_subject s ON s.id = r.subject_id "
        "WHERE r.state = 'pending'"
    )).all()
    sqlite = bind.dialect.name == "sqlite"
    for row_id, amount, step, rules, subject in rows:
        if amount is not None:
            amount = Decimal(amount) / 100 if sqlite else Decimal(amount)  # SQLite keeps integer cents
        role = _step_role(rules, amount, subject, step)
        bind.execute(sa.text("UPDATE payment_request SET waiting_role = :role WHERE id = :id"),
                     {"role": role, "id": row_id})


def downgrade() -> None:
    with op.batch_alter_table('payment_request', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_request_waiting')
        batch_op.drop_column('waiting_role')
