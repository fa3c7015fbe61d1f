"""The Russian production calendar from the `holidays` package, under the administrator's dates.

The known dates are the government's decrees for 2024-2027 (days off, transfers) and the
shortened pre-holiday days the published production calendars list (2024: 22 February, 7 March,
8 May, 11 June, 2 November, 28 December; 2025: 7 March, 30 April, 11 June, 1 November).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import Calendar, production_year, shortened
from domain.errors import InvalidInput
from domain.sla import first_response_clock, resolution_clock
from domain.sla_setup import CUSTOM, DEFAULT_CALENDARS, RUSSIAN, CalendarSpec, SlaSetup
from domain.ticket import Status
from domain.transcoder import from_plain, to_plain

MSK = ZoneInfo("Europe/Moscow")
RU = Calendar(production=True)
HOUR = 3600


def moment(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=MSK)


def day_hours(cal: Calendar, day: date) -> float:
    start = datetime.combine(day, time(0), MSK)
    return cal.working_seconds(start, start + timedelta(days=1)) / HOUR


@pytest.mark.parametrize(("year", "back"), [(2025, date(2025, 1, 9)), (2026, date(2026, 1, 12))])
def test_the_public_holidays_are_days_off(year: int, back: date) -> None:
    fixed = [(1, d) for d in range(1, 9)] + [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)]
    for m, d in fixed:
        assert RU.periods(date(year, m, d)) == (), f"{year}-{m}-{d}"
    assert day_hours(RU, back) == 9, "the first working day after the New Year holidays"
    assert day_hours(RU, back - timedelta(days=1)) == 0


def test_the_transfers_of_2025_and_2026() -> None:
    # 2025: Saturday 1 November worked for Monday 3 November; 2 and 8 May, 13 June, 31 December
    # off in exchange for holidays that fell on a weekend
    assert RU.periods(date(2025, 11, 1)) == ((time(9), time(17)),), "worked, and pre-holiday"
    assert production_year(2025).workdays == {date(2025, 11, 1)}
    for day in (date(2025, 11, 3), date(2025, 5, 2), date(2025, 5, 8), date(2025, 6, 13),
                date(2025, 12, 31), date(2026, 1, 9)):  # fmt: skip
        assert RU.periods(day) == (), day
    assert RU.periods(date(2025, 11, 8)) == (), "an ordinary Saturday stays off"
    assert day_hours(RU, date(2027, 2, 20)) == 8, "Saturday 20 February 2027, worked and short"
    # the plain calendar knows none of it
    assert Calendar().periods(date(2025, 11, 1)) == ()
    assert day_hours(Calendar(), date(2025, 11, 3)) == 9


def test_a_pre_holiday_day_ends_an_hour_early() -> None:
    for day in (date(2025, 3, 7), date(2025, 4, 30), date(2025, 6, 11), date(2026, 5, 8),
                date(2024, 2, 22), date(2024, 12, 28)):  # fmt: skip
        assert RU.periods(day) == ((time(9), time(17)),), day
        assert day_hours(RU, day) == 8
    # 7 May 2025 is followed by 8 May, a day off moved from 23 February: no holiday's eve
    # 30 December 2025 is followed by 31 December, moved from 5 January: a whole day too
    for day in (date(2025, 5, 7), date(2025, 12, 30), date(2025, 2, 21)):
        assert day_hours(RU, day) == 9, day
    assert production_year(2025).shortened == {
        date(2025, 3, 7), date(2025, 4, 30), date(2025, 6, 11), date(2025, 11, 1)
    }  # fmt: skip
    assert production_year(2024).shortened == {
        date(2024, 2, 22), date(2024, 3, 7), date(2024, 5, 8), date(2024, 6, 11),
        date(2024, 11, 2), date(2024, 12, 28),
    }  # fmt: skip
    # the arithmetic: from 16:00 on 7 March 2025, two working hours are 16-17 and Monday 9-10
    assert RU.add(moment(2025, 3, 7, 16), 2 * HOUR) == moment(2025, 3, 10, 10).astimezone(UTC)
    assert RU.working_seconds(moment(2025, 3, 7, 16, 30), moment(2025, 3, 7, 23)) == HOUR / 2


def test_shortening_takes_the_hour_off_the_end_of_the_day() -> None:
    two = ((time(9), time(13)), (time(14), time(14, 30)))
    assert shortened(two) == ((time(9), time(12, 30)),)
    assert shortened(((time(9), time(9, 30)),)) == ()
    assert shortened(()) == ()


def test_the_administrators_dates_win_over_the_package() -> None:
    mine_off = frozenset({date(2025, 7, 1), date(2025, 11, 1)})
    mine_worked = frozenset({date(2025, 1, 8), date(2025, 11, 8), date(2025, 7, 1)})
    cal = Calendar(production=True, holidays=mine_off, workdays=mine_worked)
    assert cal.periods(date(2025, 7, 1)) == (), "his holiday, even though also listed as worked"
    assert cal.periods(date(2025, 11, 1)) == (), "his holiday on the package's working Saturday"
    assert day_hours(cal, date(2025, 1, 8)) == 9, "a package holiday he does not observe"
    assert day_hours(cal, date(2025, 11, 8)) == 9, "an extra worked Saturday"
    assert day_hours(cal, date(2025, 3, 7)) == 8, "the rest of the package still holds"
    # his worked day on a pre-holiday day keeps it short; a 24x7 calendar ignores it all
    assert day_hours(Calendar(production=True, workdays=frozenset({date(2025, 3, 7)})),
                     date(2025, 3, 7)) == 8  # fmt: skip
    assert day_hours(Calendar(production=True, always=True), date(2025, 1, 1)) == 24


def test_sla_clocks_across_the_new_year_holidays() -> None:
    setup = SlaSetup.start()
    cal = setup.calendar("business")  # a new desk's default: the production calendar
    assert cal.production
    filed = moment(2025, 12, 30, 17)  # one working hour left in 2025: 31 Dec to 11 Jan are off
    first = first_response_clock(filed, None)
    assert first.due(cal, 4 * HOUR) == moment(2026, 1, 12, 12).astimezone(UTC)
    assert first.elapsed(cal, moment(2026, 1, 12, 10)) == 2 * HOUR
    # a request that waits for the requester over the holidays uses none of its time either
    history = [(filed, Status.NEW), (moment(2025, 12, 30, 17, 30), Status.WAITING),
               (moment(2026, 1, 5, 12), Status.OPEN)]  # fmt: skip
    clock = resolution_clock(history)
    assert clock.elapsed(cal, moment(2026, 1, 12, 9, 30)) == HOUR
    assert clock.due(cal, 8 * HOUR) == moment(2026, 1, 12, 16, 30).astimezone(UTC)
    # the old custom calendar counted 31 December and the holidays as working days
    plain = Calendar()
    assert first.due(plain, 4 * HOUR) == moment(2025, 12, 31, 12).astimezone(UTC)


def test_a_new_desk_defaults_to_the_production_calendar_and_stored_ones_keep_theirs() -> None:
    assert DEFAULT_CALENDARS[0].kind == RUSSIAN
    # a calendar stored before kinds existed (no "kind" in its stored data) stays custom
    stored = to_plain(CalendarSpec("business", "Рабочие дни", holidays=(date(2025, 11, 4),)))
    del stored["_data_"][1]["kind"]
    spec = from_plain(orjson.loads(orjson.dumps(stored)))
    assert spec.kind == CUSTOM and not spec.calendar().production
    assert day_hours(spec.calendar(), date(2025, 1, 8)) == 9
    assert asdict(spec) == {**asdict(CalendarSpec("business", "Рабочие дни")),
                            "holidays": (date(2025, 11, 4),)}  # fmt: skip
    with pytest.raises(InvalidInput):
        CalendarSpec("x", "x", kind="martian").calendar()
    setup = SlaSetup.start()
    with pytest.raises(InvalidInput):
        setup.change(None, (CalendarSpec("x", "x", kind="martian"),), (), 5)


START, END = moment(2025, 1, 1), moment(2028, 1, 1)
instants = st.integers(0, int((END - START).total_seconds()) // 60).map(
    lambda m: START + timedelta(minutes=m)
)
VLADIVOSTOK = Calendar(production=True, timezone="Asia/Vladivostok")
MINE = Calendar(production=True, workdays=frozenset({date(2026, 1, 5)}))
calendars = st.sampled_from([RU, VLADIVOSTOK, MINE])


@settings(max_examples=150, deadline=None)
@given(calendars, instants, st.integers(0, 60 * 24 * 60))
def test_add_and_working_seconds_are_inverse(cal: Calendar, a: datetime, minutes: int) -> None:
    due = cal.add(a, minutes * 60)
    assert cal.working_seconds(a, due) == minutes * 60
    if minutes:  # and not a minute later than needed
        assert cal.working_seconds(a, due - timedelta(minutes=1)) < minutes * 60


@settings(max_examples=150, deadline=None)
@given(calendars, instants, instants)
def test_working_seconds_adds_up_and_add_lands_on_it(
    cal: Calendar, a: datetime, b: datetime
) -> None:
    a, b = min(a, b), max(a, b)
    seconds, middle = cal.working_seconds(a, b), a + (b - a) // 120 * 60
    assert seconds == cal.working_seconds(a, middle) + cal.working_seconds(middle, b)
    if seconds:  # (no working time at all: `add` of nothing waits for the next working moment)
        assert cal.add(a, seconds) <= b
        assert cal.working_seconds(a, cal.add(a, seconds)) == seconds
