"""Working days in China: Monday to Friday, less the public holidays, plus the make-up working days
(调休) the State Council announces each year. The calendar comes from the `chinesecalendar` package
(import name `chinese_calendar`), which is updated every year when the next year's holidays are
published.

A year the package does not know yet (2027 with chinesecalendar 1.11, the newest release) is counted
*provisionally*: Monday to Friday less the statutory holidays the law itself fixes (全国年节及纪念日放假
办法 as amended in 2024: 元旦 1 day, 春节 4 days from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3),
the lunar ones from `lunardate` and 清明 from the package's solar terms. What only the yearly notice
says (the bridged days and the make-up Saturdays and Sundays) is missing, so the clock may run a day
or two early around a long holiday. It says so: a warning in the log, and `provisional_years` for the
admin's page, until the package is upgraded.

The clock of reminders counts whole working days: a request that began waiting on some day has waited
one working day at the start of the next working day, and so on. So a step that arrives on Friday
afternoon has waited 1 working day on Monday, 2 on Tuesday; one that arrives on 30 September waits
through the National Day week without the clock moving."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar
from lunardate import LunarDate

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
        return day.weekday() < 5 and day not in statutory_holidays(day.year)


@lru_cache(maxsize=64)
def _warn_unknown_year(year: int) -> None:
    log.warning("chinese_calendar has no holidays for %s: counting Monday to Friday less the statutory "
                "holidays, without make-up working days (upgrade the chinesecalendar package)", year)


@lru_cache(maxsize=64)
def calendar_knows(year: int) -> bool:
    """Does the installed chinesecalendar know `year`'s holidays and make-up days?"""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def provisional_years(today: date, ahead_days: int = 45) -> list[int]:
    """The years from `today` to `ahead_days` later that are counted provisionally (see the module)."""
    years = range(today.year, (today + timedelta(days=ahead_days)).year + 1)
    return [y for y in years if not calendar_knows(y)]


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[date]:
    """The days off the law fixes in `year` (without the yearly notice's bridges and make-up days)."""
    spring = LunarDate(year, 1, 1).to_solar_date()
    qingming = next(d for d, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10))
                    if name == "清明")
    days = {
        date(year, 1, 1),
        *(spring + timedelta(days=i) for i in range(-1, 3)),  # 除夕 to 初三
        qingming,
        date(year, 5, 1), date(year, 5, 2),
        LunarDate(year, 5, 5).to_solar_date(),  # 端午
        LunarDate(year, 8, 15).to_solar_date(),  # 中秋
        date(year, 10, 1), date(year, 10, 2), date(year, 10, 3),
    }
    return frozenset(days)


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
