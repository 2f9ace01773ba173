"""Bounded parsing of what a URL carries (path parts, query strings, hidden fields): ids, days, page
numbers (keyset cursors are finance.keyset's). Every value either parses into something the database and
the datetime library accept, or is refused; no value reaches a query unbounded (a 20-digit id overflowed
the INTEGER columns, 9999-12-31 plus a day overflowed `datetime`, a naive time met aware columns: each
was a 500).

`BoundedInt` replaces werkzeug's `int` converter for every route (an id past the column is a 404)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # INTEGER columns on both databases
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
MAX_PAGE = 1_000_000
_DIGITS = re.compile(r"[0-9]{1,10}")


class BadParam(ValueError):
    """A parameter that cannot be accepted; the message is for the user."""


class OutOfRange(BadParam):
    """A well-formed value outside the range the app handles."""


class BoundedInt(IntegerConverter):
    """`<int:...>` in every route: 0 to MAX_ID, so a value past the database's integers never matches."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, 0 if min is None else min, MAX_ID if max is None else max, signed)


def parse_id(text: str | None) -> int | None:
    """A database id from text: 1 to MAX_ID in plain digits, else None."""
    text = (text or "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def parse_day(text: str | None) -> date | None:
    """A day typed as YYYY-MM-DD (None when blank), between FIRST_DAY and LAST_DAY; BadParam otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise BadParam(_("日期格式不正确，请按 2026-01-31 的格式填写。"))
    return check_day(day)


def check_day(day: date) -> date:
    """`day` when it lies between FIRST_DAY and LAST_DAY, else BadParam."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise OutOfRange(_("日期须在 %(a)s 至 %(b)s 之间。", a=FIRST_DAY.isoformat(), b=LAST_DAY.isoformat()))
    return day


def parse_page(text: str | None) -> int:
    """A page number, 1 to MAX_PAGE (anything else is page 1; past the last page is the last page)."""
    value = parse_id(text)
    return min(value, MAX_PAGE) if value is not None else 1
