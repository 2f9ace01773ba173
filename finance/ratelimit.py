"""Counters shared by every app server: rows of `rate_limit`, one per (scope, key), read and changed
under a row lock in the caller's transaction. Login throttling (finance.auth.throttle) and the limit on
attachment churn (finance.payment_requests hooks) keep their counts here, so a limit holds however many
app processes serve the district, on PostgreSQL and on SQLite alike, without Redis.

On PostgreSQL the row lock (SELECT ... FOR UPDATE) serialises two requests counting on one key; on
SQLite the app takes the write lock at BEGIN, which serialises every writer. Locks are taken in
(scope, key) order so that two requests never wait for each other in a circle."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import TooManyRequests

from finance.db import Base, UTCDateTime, utcnow
from finance.extensions import db


class RateLimit(Base):
    """A counter: `count` in the fixed window that began at `window_started_at` (for a back-off, the
    consecutive failures since the last success, and the time of the newest); `blocked_until`, when a
    back-off lets the next attempt in."""

    __tablename__ = "rate_limit"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RateLimited(TooManyRequests):
    """Too many of something in a short time: a 429 with a message for the user, nothing changed."""

    def __init__(self, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(description=message or _("操作过于频繁，请稍后再试。"))
        self.retry_after = retry_after


def lock(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], RateLimit]:
    """The rows for these (scope, key) pairs, created when missing, each under a row lock."""
    wanted = sorted({(scope, key[:128]) for scope, key in keys})
    rows: dict[tuple[str, str], RateLimit] = {}
    for scope, key in wanted:
        stmt = (select(RateLimit).where(RateLimit.scope == scope, RateLimit.key == key)
                .with_for_update().execution_options(populate_existing=True))
        row = db.session.execute(stmt).scalar_one_or_none()
        if row is None:
            try:
                with db.session.begin_nested():
                    db.session.add(RateLimit(scope=scope, key=key, count=0, window_started_at=utcnow()))
            except IntegrityError:
                pass  # another request made it first; its lock is taken below
            row = db.session.execute(stmt).scalar_one()
        rows[(scope, key)] = row
    return rows


def window_count(row: RateLimit, window: timedelta, now: datetime | None = None) -> int:
    """The row's count in its current fixed window (a window that has run out starts again at 0)."""
    now = now or utcnow()
    if row.window_started_at <= now - window:
        row.count = 0
        row.window_started_at = now
    return row.count


def count(scope: str, key: str, *, limit: int, window: timedelta, message: str) -> None:
    """Count one more on (scope, key), or raise RateLimited when `limit` were counted in the window."""
    now = utcnow()
    row = lock([(scope, key)])[(scope, key)]
    if window_count(row, window, now) >= limit:
        wait = max(1, int((row.window_started_at + window - now).total_seconds()) + 1)
        raise RateLimited(message, wait)
    row.count += 1
