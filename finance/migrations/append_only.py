"""Triggers that make the audit tables (and the approval policy versions, 0015) append-only, on
PostgreSQL and on SQLite.

PostgreSQL: row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE, and all are
ENABLE ALWAYS so they fire under `session_replication_role = replica` too. SQLite has no TRUNCATE; its
"DELETE FROM t" without WHERE still fires the row trigger when one exists.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection


def create_append_only(bind: Connection, tables: list[str]) -> None:
    if bind.dialect.name == "postgresql":
        bind.execute(text(
            "CREATE OR REPLACE FUNCTION sanzi_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'sanzi: % on % is refused: the audit trail is append-only', "
            "TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
        ))
        for table in tables:
            bind.execute(text(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION sanzi_refuse_change()"))
            bind.execute(text(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                              "FOR EACH STATEMENT EXECUTE FUNCTION sanzi_refuse_change()"))
            bind.execute(text(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_change"))
            bind.execute(text(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate"))
    elif bind.dialect.name == "sqlite":
        for table in tables:
            for op in ("UPDATE", "DELETE"):
                bind.execute(text(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, 'sanzi: {op} on {table} is refused: the audit trail is append-only'); "
                    "END"
                ))


def drop_append_only(bind: Connection, tables: list[str], *, drop_function: bool = True) -> None:
    """Drop the triggers of `tables` (and the PostgreSQL function they share, unless other tables keep
    theirs: `drop_function=False`)."""
    if bind.dialect.name == "postgresql":
        for table in tables:
            bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}"))
            bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
        if drop_function:
            bind.execute(text("DROP FUNCTION IF EXISTS sanzi_refuse_change()"))
    elif bind.dialect.name == "sqlite":
        for table in tables:
            bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
