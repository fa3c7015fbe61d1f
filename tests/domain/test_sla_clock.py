"""Business calendars and SLA clocks against an independent minute-by-minute count."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import ALWAYS, Calendar, russian_holidays
from domain.errors import InvalidInput
from domain.sla import Clock, first_response_clock, resolution_clock
from domain.ticket import Status

MSK = ZoneInfo("Europe/Moscow")
# a week in Moscow: Mon 2026-11-02 ... ; 4 November is a public holiday (a Wednesday)
START = datetime(2026, 11, 2, 0, 0, tzinfo=MSK)
CAL = Calendar(holidays=frozenset({date(2026, 11, 4)}), workdays=frozenset({date(2026, 11, 7)}))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK)


def working_minutes(calendar: Calendar, start: datetime, end: datetime) -> int:
    """The oracle: count the minutes whose start lies in a working period, one by one."""
    n, moment = 0, start
    while moment < end:
        local = moment.astimezone(calendar.zone)
        if calendar.always or any(a <= local.time() < b for a, b in calendar.periods(local.date())):
            n += 1
        moment += timedelta(minutes=1)
    return n


def test_working_time_skips_nights_weekends_and_holidays_and_counts_a_worked_saturday() -> None:
    assert CAL.working_seconds(at(2, 17), at(3, 10)) == 2 * 3600  # 17-18 and 9-10
    assert CAL.working_seconds(at(3, 17), at(5, 10)) == 2 * 3600  # the holiday counts nothing
    assert CAL.working_seconds(at(6, 17), at(9, 10)) == (1 + 9 + 1) * 3600  # Saturday worked
    assert CAL.working_seconds(at(2, 12), at(2, 11)) == 0
    assert ALWAYS.working_seconds(at(7, 0), at(8, 0)) == 24 * 3600


def test_add_finds_the_moment_and_skips_a_holiday() -> None:
    assert CAL.add(at(3, 17), 2 * 3600) == at(5, 10).astimezone(UTC)
    assert CAL.add(at(2, 20), 0) == at(3, 9).astimezone(UTC), "starts at the next working hour"
    with pytest.raises(InvalidInput):
        Calendar(week=((),) * 7).add(at(2, 9), 60)
    with pytest.raises(InvalidInput):
        Calendar(week=(((time(18), time(9)),),) * 7)


def test_the_fixed_russian_holidays() -> None:
    days = russian_holidays(2027)
    assert date(2027, 1, 7) in days and date(2027, 11, 4) in days and len(days) == 14


moments = st.integers(min_value=0, max_value=14 * 24 * 60).map(
    lambda m: START + timedelta(minutes=m)
)
calendars = st.sampled_from([CAL, ALWAYS, Calendar(timezone="Asia/Vladivostok")])


@settings(max_examples=60, deadline=None)
@given(calendars, moments, moments)
def test_working_seconds_equals_the_minute_count(cal: Calendar, a: datetime, b: datetime) -> None:
    assert cal.working_seconds(a, b) == 60 * working_minutes(cal, a, b)


@settings(max_examples=60, deadline=None)
@given(calendars, moments, st.integers(min_value=0, max_value=50 * 60))
def test_add_is_the_inverse_of_working_seconds(cal: Calendar, a: datetime, minutes: int) -> None:
    due = cal.add(a, minutes * 60)
    assert cal.working_seconds(a, due) == minutes * 60
    if minutes:  # and not a minute later than needed
        assert cal.working_seconds(a, due - timedelta(minutes=1)) < minutes * 60


statuses = st.sampled_from(list(Status))


@settings(max_examples=80, deadline=None)
@given(calendars, st.lists(st.tuples(st.integers(1, 3 * 24 * 60), statuses), max_size=12),
       st.integers(0, 3 * 24 * 60))  # fmt: skip
def test_elapsed_is_the_working_time_in_which_the_ticket_was_not_waiting(
    cal: Calendar, steps: list[tuple[int, Status]], tail: int
) -> None:
    history, moment = [(START, Status.NEW)], START
    for gap, status in steps:
        moment += timedelta(minutes=gap)
        history.append((moment, status))
    now = moment + timedelta(minutes=tail)
    clock = resolution_clock(history)
    expected = 0
    for (t0, s0), (t1, _s1) in zip(history, [*history[1:], (now, Status.NEW)], strict=True):
        if s0 in (Status.NEW, Status.OPEN):
            expected += working_minutes(cal, t0, t1)
    assert clock.elapsed(cal, now) == 60 * expected
    # and a new calendar recomputes the same history without losing a pause
    assert clock.elapsed(ALWAYS, now) == 60 * sum(
        (t1 - t0).total_seconds() // 60
        for (t0, s0), (t1, _) in zip(history, [*history[1:], (now, Status.NEW)], strict=True)
        if s0 in (Status.NEW, Status.OPEN)
    )


def test_a_request_waiting_over_a_weekend_does_not_use_its_time() -> None:
    history = [(at(6, 17), Status.NEW), (at(6, 17, 30), Status.WAITING),
               (at(9, 11), Status.OPEN)]  # fmt: skip
    clock = resolution_clock(history)
    assert clock.elapsed(CAL, at(9, 12)) == 30 * 60 + 60 * 60
    # 8 working hours: 30 min used on Friday, the rest from Monday 11:00
    due = clock.due(CAL, 8 * 3600)
    assert due is not None and CAL.working_seconds(at(9, 11), due) == 7.5 * 3600
    assert resolution_clock([*history, (at(9, 12), Status.RESOLVED)]).due(CAL, 3600) is None


def test_first_response_stops_at_the_first_answer() -> None:
    clock = first_response_clock(at(2, 10), at(2, 12))
    assert clock.elapsed(CAL, at(5, 12)) == 2 * 3600 and clock.due(CAL, 3600) is None
    assert first_response_clock(at(2, 10), None).due(CAL, 3600) == at(2, 11).astimezone(UTC)
    assert Clock().elapsed(CAL, at(2, 10)) == 0
