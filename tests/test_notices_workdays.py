"""The working-day clock of reminders around the Spring Festival (春节) and National Day (国庆) holidays,
with their make-up working days (调休), from the chinesecalendar package."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finance.notices.workdays import (
    add_working_days,
    calendar_knows,
    is_workday,
    nth_working_day_back,
    provisional_years,
    statutory_holidays,
    waiting_cutoff,
    working_days_between,
    working_days_waited,
)
from finance.timefmt import CST

D = date


@pytest.mark.parametrize(("day", "works"), [
    (D(2026, 10, 1), False), (D(2026, 10, 7), False), (D(2026, 10, 8), True),  # 国庆 2026: 1-7 Oct
    (D(2026, 9, 20), True),  # a Sunday, made a working day for 国庆
    (D(2026, 10, 10), True),  # a Saturday, made a working day
    (D(2026, 9, 25), False),  # 中秋 2026, a Friday
    (D(2026, 2, 14), True),  # a Saturday before 春节 2026, made a working day
    (D(2026, 2, 15), False), (D(2026, 2, 23), False), (D(2026, 2, 24), True),  # 春节 2026: 15-23 Feb
    (D(2026, 2, 28), True),  # a Saturday after 春节, made a working day
    (D(2025, 1, 26), True), (D(2025, 1, 28), False), (D(2025, 2, 4), False), (D(2025, 2, 8), True),  # 春节 2025
    (D(2025, 9, 28), True), (D(2025, 10, 8), False), (D(2025, 10, 9), True), (D(2025, 10, 11), True),  # 国庆 2025
    (D(2026, 11, 28), False), (D(2026, 11, 30), True),  # an ordinary weekend and Monday
])
def test_is_workday_knows_holidays_and_make_up_days(day, works):
    assert is_workday(day) is works


def test_a_step_arriving_before_national_day_waits_through_the_holiday_without_the_clock_moving():
    since = datetime(2026, 9, 30, 16, 0, tzinfo=CST)  # Wednesday afternoon, the last working day before
    waited = {day: working_days_waited(since, datetime(2026, 10, day, 9, 0, tzinfo=CST)) for day in range(1, 13)}
    assert [waited[d] for d in range(1, 8)] == [0] * 7  # 1-7 October: holiday
    assert waited[8] == 1 and waited[9] == 2  # the reminder (N = 2) is due on 9 October ...
    assert waited[10] == 3  # ... Saturday 10 October is a working day and counts ...
    assert waited[11] == 3 and waited[12] == 4  # ... Sunday does not; escalation (M = 4) on the 12th


def test_spring_festival_with_its_make_up_saturdays():
    since = datetime(2026, 2, 12, 10, 0, tzinfo=CST)  # Thursday
    assert working_days_waited(since, datetime(2026, 2, 13, 10, 0, tzinfo=CST)) == 1  # Friday
    assert working_days_waited(since, datetime(2026, 2, 14, 10, 0, tzinfo=CST)) == 2  # Saturday, make-up day
    assert working_days_waited(since, datetime(2026, 2, 23, 10, 0, tzinfo=CST)) == 2  # the whole festival
    assert working_days_waited(since, datetime(2026, 2, 24, 10, 0, tzinfo=CST)) == 3
    assert working_days_waited(since, datetime(2026, 2, 28, 10, 0, tzinfo=CST)) == 7  # make-up Saturday


def test_days_are_china_days_not_utc_days():
    # 23:30 China time on Friday is 15:30 UTC the same day; midnight China time starts Saturday.
    since = datetime(2026, 11, 27, 23, 30, tzinfo=CST)
    assert working_days_waited(since, datetime(2026, 11, 30, 0, 5, tzinfo=CST)) == 1  # Monday just begun


def test_add_working_days_and_counting_agree_around_the_holidays():
    assert add_working_days(D(2026, 9, 30), 2) == D(2026, 10, 9)
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)
    assert nth_working_day_back(D(2026, 10, 9), 2) == D(2026, 10, 8)
    assert nth_working_day_back(D(2026, 10, 8), 2) == D(2026, 9, 30)


def test_a_year_the_calendar_does_not_know_counts_monday_to_friday():
    assert is_workday(D(2031, 1, 6)) and not is_workday(D(2031, 1, 4))  # Monday, Saturday


@pytest.mark.parametrize(("day", "works"), [
    (D(2027, 1, 1), False),  # 元旦, a Friday
    (D(2027, 1, 4), True),
    (D(2027, 2, 5), False), (D(2027, 2, 8), False),  # 春节 2027: 除夕 (Fri 5 Feb) to 初三 (Mon 8 Feb)
    (D(2027, 2, 9), True),
    (D(2027, 4, 5), False),  # 清明, a Monday
    (D(2027, 4, 30), True), (D(2027, 5, 3), True),  # 劳动节 is 1-2 May (a weekend): no make-up known
    (D(2027, 6, 9), False),  # 端午, a Wednesday
    (D(2027, 9, 15), False),  # 中秋, a Wednesday
    (D(2027, 10, 1), False), (D(2027, 10, 4), True),  # 国庆: 1-3 Oct by law; the bridge is not known yet
])
def test_2027_is_counted_provisionally_with_the_statutory_holidays(day, works):
    """chinesecalendar 1.11 (the newest release) stops at 2026: 2027 counts Monday to Friday less the
    holidays the law fixes, the lunar ones computed, and says so."""
    assert not calendar_knows(2027) and calendar_knows(2026)
    assert is_workday(day) is works


def test_the_statutory_holidays_of_a_known_year_agree_with_the_package():
    """The provisional rule, checked against 2025 and 2026 as the State Council published them: every
    statutory day off is a holiday in the package (the notice adds bridges and make-up days on top)."""
    for year in (2025, 2026):
        off = statutory_holidays(year)
        assert len(off) == 13
        assert all(not is_workday(day) for day in off), sorted(d for d in off if is_workday(d))


def test_spring_festival_2027_holds_the_clock_for_its_working_days():
    assert working_days_between(D(2027, 2, 4), D(2027, 2, 10)) == 2  # Tue 9 and Wed 10 Feb
    assert add_working_days(D(2027, 2, 4), 1) == D(2027, 2, 9)


def test_the_admin_is_told_which_years_are_provisional():
    assert provisional_years(D(2026, 11, 30)) == [2027]  # 45 days ahead reaches January
    assert provisional_years(D(2026, 10, 1)) == []
    assert provisional_years(D(2027, 3, 1)) == [2027]


days = st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 12, 20))


@pytest.mark.slow  # hypothesis: many generated examples
@given(start=days, span=st.integers(0, 40), n=st.integers(1, 6), hour=st.integers(0, 23))
def test_the_cutoff_instant_says_exactly_when_n_working_days_have_passed(start, span, n, hour):
    since = datetime(start.year, start.month, start.day, hour, 0, tzinfo=CST)
    now = since + timedelta(days=span, hours=3)
    assert (working_days_waited(since, now) >= n) == (since < waiting_cutoff(now, n))
    assert working_days_between(start, add_working_days(start, n)) == n
