"""approval policy versions append-only: the database refuses UPDATE, DELETE and TRUNCATE on
routing_policy, like the trail (a version is published once and never edited; a request keeps the
version it was submitted under)

Revision ID: 0015
Revises: 0011
Create Date: 2026-11-30
"""
from alembic import op

from finance.migrations.append_only import create_append_only, drop_append_only

revision = '0015'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_append_only(op.get_bind(), ['routing_policy'])


def downgrade() -> None:
    drop_append_only(op.get_bind(), ['routing_policy'], drop_function=False)
