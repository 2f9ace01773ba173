"""Writing many rows at once, for the trail's `record_many` and the bulk imports: COPY on PostgreSQL (the
fastest way in, one round trip per table), a multi-row INSERT elsewhere (SQLite). Values are written as
they are given (no ORM defaults, no type decorators): the caller passes every column it means to set,
already in its stored form (aware UTC datetimes, 2-place Decimals). Enums are written by their value."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Enum as SAEnum
from sqlalchemy import FromClause, Table, insert, text
from sqlalchemy.orm import Session


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def next_ids(session: Session, table: Table | FromClause, count: int) -> list[int] | None:
    """`count` ids drawn from the table's id sequence (PostgreSQL), so that rows written by COPY can be
    referred to before they exist; None elsewhere (the caller inserts with RETURNING)."""
    if not is_postgresql(session) or count == 0:
        return None if count else []
    rows = session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": _name(table), "n": count},
    ).scalars()
    return [int(i) for i in rows]


def _name(table: Table | FromClause) -> str:
    name = getattr(table, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"not a table: {table!r}")
    return name


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def insert_rows(session: Session, table: Table | FromClause, rows: Sequence[dict[str, Any]], chunk: int = 5000) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the caller's transaction."""
    if not rows:
        return
    columns = list(rows[0])
    if is_postgresql(session):
        session.flush()
        raw = session.connection().connection.driver_connection
        assert raw is not None
        names = ", ".join(f'"{c}"' for c in columns)
        # Enum columns (by their type) get their values' .value; everything else goes as it is.
        enums = [i for i, c in enumerate(columns) if isinstance(getattr(table.c.get(c), "type", None), SAEnum)]
        values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
        # Binary COPY, each value sent as its column's own type (read from the catalog): nothing to escape,
        # nothing for the server to parse (the trail's canonical bytes and JSON are most of a bulk import).
        oids: dict[str, int] = dict(session.execute(
            text("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = CAST(:table AS regclass) "
                 "AND attnum > 0 AND NOT attisdropped"), {"table": f'"{_name(table)}"'}).all())
        statement = f'COPY "{_name(table)}" ({names}) FROM STDIN (FORMAT BINARY)'
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types([oids[c] for c in columns])
            for row in rows:
                record = values(row)
                if enums:
                    record = list(record)
                    for i in enums:
                        record[i] = _plain(record[i])
                copy.write_row(record)
        return
    for start in range(0, len(rows), chunk):
        part = [{c: _plain(r[c]) for c in columns} for r in rows[start:start + chunk]]
        session.execute(insert(cast(Table, table)), part)
