"""Times are stored in UTC and shown in China Standard Time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def to_local(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(CST)


def local_time(value: datetime | None) -> str:
    return "" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M")


def local_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return to_local(value).strftime("%Y-%m-%d")
    return value.isoformat()


def today_local() -> date:
    return datetime.now(CST).date()


def waited_days(since: datetime | None, now: datetime | None = None) -> int:
    if since is None:
        return 0
    now = now or datetime.now(UTC)
    return max(0, (to_local(now).date() - to_local(since).date()).days)
