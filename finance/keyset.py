"""Keyset pagination: the cursor of a page's last row, as text in a URL, and the condition for the rows
after it. One codec for every list (requests, the liaison's list, the to-do list)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from finance.params import FIRST_DAY, LAST_DAY, parse_id

Cursor = tuple[datetime, int]
_MICROS = re.compile(r"[0-9]{1,17}")  # up to the year 5138: bounded again by year below


def encode(at: datetime, row_id: int) -> str:
    """"<microseconds since the epoch, UTC>-<id>": exact (no float) and plain in a URL."""
    moment = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    micros = int(moment.timestamp()) * 1_000_000 + moment.microsecond
    return f"{micros}-{row_id}"


def decode(token: str | None) -> Cursor | None:
    """The cursor a URL carried, or None (the first page) for anything that is not one of ours: the id
    an id of the database (1 to 2^31-1), the time within the years the app handles (a 20-digit id or a
    time past 9999 was a 500)."""
    micros_text, found, id_text = (token or "").partition("-")
    row_id = parse_id(id_text)
    if not found or row_id is None or not _MICROS.fullmatch(micros_text):
        return None
    micros = int(micros_text)
    at = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
    if not FIRST_DAY.year <= at.year <= LAST_DAY.year:
        return None
    return at, row_id


def after(column: Any, id_column: Any, cursor: Cursor, *, descending: bool) -> ColumnElement[bool]:
    """Rows that come after `cursor` in the order (column, id), ascending or descending."""
    at, row_id = cursor
    if descending:
        return or_(column < at, and_(column == at, id_column < row_id))
    return or_(column > at, and_(column == at, id_column > row_id))
