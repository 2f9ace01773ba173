"""Keyset pagination: the cursor of a page's last row, as text in a URL, and the condition for the rows
after it. One codec for every list (requests, the liaison's list, the to-do list)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

Cursor = tuple[datetime, int]


def encode(at: datetime, row_id: int) -> str:
    """"<microseconds since the epoch, UTC>-<id>": exact (no float) and plain in a URL."""
    moment = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    micros = int(moment.timestamp()) * 1_000_000 + moment.microsecond
    return f"{micros}-{row_id}"


def decode(token: str | None) -> Cursor | None:
    """The cursor a URL carried, or None (the first page) for anything that is not one of ours."""
    try:
        micros_text, id_text = (token or "").split("-", 1)
        micros, row_id = int(micros_text), int(id_text)
        at = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
    except (ValueError, OverflowError, OSError):
        return None
    return at, row_id


def after(column: Any, id_column: Any, cursor: Cursor, *, descending: bool) -> ColumnElement[bool]:
    """Rows that come after `cursor` in the order (column, id), ascending or descending."""
    at, row_id = cursor
    if descending:
        return or_(column < at, and_(column == at, id_column < row_id))
    return or_(column > at, and_(column == at, id_column > row_id))
