"""Working days in China: Monday to Friday, less the public holidays, plus the make-up working days
(调休) the State Council announces each year. The calendar comes from the `chinesecalendar` package
(import name `chinese_calendar`), which is updated every year when the next year's holidays are
published; a year it does not know yet falls back to plain Monday-to-Friday, and says so in the log.

The clock of reminders counts whole working days: a request that began waiting on some day has waited
one working day at the start of the next working day, and so on. So a step that arrives on Friday
afternoon has waited 1 working day on Monday, 2 on Tuesday; one that arrives on 30 September waits
through the National Day week without the clock moving."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from finance.timefmt import CST, to_local

log = logging.getLogger(__name__)
DAY = timedelta(days=1)


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    """Is `day` a working day in mainland China (holidays off, make-up days on)?"""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the package does not cover yet
        _warn_unknown_year(day.year)
        return day.weekday() < 5


@lru_cache(maxsize=64)
def _warn_unknown_year(year: int) -> None:
    log.warning("chinese_calendar has no holidays for %s: counting Monday to Friday only "
                "(upgrade the chinesecalendar package)", year)


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after `start` and up to `end` inclusive (0 when end <= start)."""
    count = 0
    day = start + DAY
    while day <= end:
        count += is_workday(day)
        day += DAY
    return count


def working_days_waited(since: datetime, now: datetime) -> int:
    """Whole working days a step that began at `since` has waited by `now` (China time)."""
    return working_days_between(to_local(since).date(), to_local(now).date())


def nth_working_day_back(today: date, n: int) -> date:
    """The n-th working day counted back from `today` (today itself counts when it is one); n >= 1."""
    day = today
    seen = 0
    while True:
        if is_workday(day):
            seen += 1
            if seen >= n:
                return day
        day -= DAY


def waiting_cutoff(now: datetime, n: int) -> datetime:
    """The instant before which a step must have begun to have waited at least `n` working days by `now`:
    waited >= n exactly when since < waiting_cutoff(now, n). Lets a query compare `waiting_since`
    with one timestamp instead of counting days row by row."""
    if n <= 0:
        return now + DAY
    day = nth_working_day_back(to_local(now).date(), n)
    return datetime.combine(day, time(0), tzinfo=CST)


def add_working_days(start: date, n: int) -> date:
    """The day on which something that began on `start` has waited `n` working days."""
    day = start
    while n > 0:
        day += DAY
        n -= is_workday(day)
    return day
