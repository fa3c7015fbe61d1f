"""Business calendars: when the desk works, and how much working time lies between two moments.

A calendar has working periods for each weekday in its own time zone (Moscow by default), public
holidays (days off), and working days moved onto a weekend (in Russia a Saturday is sometimes
worked in exchange for a bridge day). A 24x7 calendar counts every second. All arithmetic is in
UTC on aware datetimes, so it stays right across any offset change of the zone.

A calendar that follows the Russian production calendar (`production=True`) takes each year's
days off, transferred working weekend days and shortened pre-holiday days from the `holidays`
package (computed once per year, on first use), and the administrator's own dates win over it:
his `holidays` are days off, his `workdays` are worked (a weekend day, or a package day off he
does not observe). A shortened day ends one hour early (Labour Code art. 95).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

Period = tuple[time, time]
NINE_TO_SIX: tuple[Period, ...] = ((time(9), time(18)),)
WORKWEEK: tuple[tuple[Period, ...], ...] = (NINE_TO_SIX,) * 5 + ((), ())
HOUR = timedelta(hours=1)
# How far `add` looks for working time before calling the calendar empty: a resolution target
# may be a year of minutes (525,600), which at 8-9 working hours a day is about four years.
SEARCH_DAYS = 4000


@dataclass(frozen=True)
class Calendar:
    name: str = "Рабочие дни (Москва)"
    timezone: str = "Europe/Moscow"
    week: tuple[tuple[Period, ...], ...] = WORKWEEK  # Monday first; () is a day off
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked
    always: bool = False  # 24x7
    production: bool = False  # the Russian production calendar under the admin's own dates

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise InvalidInput("A calendar's week has seven days.", ["week"])
        for day in self.week:
            for start, end in day:
                if not start < end:
                    raise InvalidInput("A working period must end after it starts.", ["week"])
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            raise InvalidInput("Unknown time zone.", ["timezone"]) from None

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def periods(self, day: date) -> tuple[Period, ...]:
        """The working periods of a local date."""
        if day in self.holidays:
            return ()
        if not self.production:
            if day in self.workdays:
                return next((p for p in self.week if p), NINE_TO_SIX)
            return self.week[day.weekday()]
        year = production_year(day.year)
        if day in self.workdays or day in year.workdays:
            periods = self.week[day.weekday()] or next((p for p in self.week if p), NINE_TO_SIX)
        elif day in year.days_off:
            return ()
        else:
            periods = self.week[day.weekday()]
        return shortened(periods) if day in year.shortened else periods

    def _spans(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        for start, end in self.periods(day):
            yield (datetime.combine(day, start, self.zone).astimezone(UTC),
                   datetime.combine(day, end, self.zone).astimezone(UTC))  # fmt: skip

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two aware moments (0 when `end` is not after `start`)."""
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds()
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = 0.0
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for lo, hi in self._spans(day):
                lo, hi = max(lo, start), min(hi, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment when `seconds` of working time have passed since `start`."""
        start = start.astimezone(UTC)
        if self.always:
            return start + timedelta(seconds=seconds)
        left = max(seconds, 0.0)
        day = start.astimezone(self.zone).date()
        for _ in range(SEARCH_DAYS):
            for lo, hi in self._spans(day):
                lo = max(lo, start)
                if hi <= lo:
                    continue
                available = (hi - lo).total_seconds()
                if left <= available:
                    return lo + timedelta(seconds=left)
                left -= available
            day += timedelta(days=1)
        raise InvalidInput(f"The calendar «{self.name}» has no working time.", ["week"])

    def after_working_days(self, start: datetime, days: int) -> datetime:
        """The end of the `days`-th working day after the day of `start` (for closing requests
        left unanswered); a 24x7 calendar counts whole days."""
        if self.always:
            return start.astimezone(UTC) + timedelta(days=days)
        day, counted = start.astimezone(self.zone).date(), 0
        for _ in range(SEARCH_DAYS):
            day += timedelta(days=1)
            spans = list(self._spans(day))
            if spans:
                counted += 1
                if counted >= days:
                    return spans[-1][1]
        raise InvalidInput(f"The calendar «{self.name}» has no working time.", ["week"])


ALWAYS = Calendar(name="24x7", always=True)


def shortened(periods: tuple[Period, ...], by: timedelta = HOUR) -> tuple[Period, ...]:
    """The periods of a day one hour shorter, taken off the end of its last period (and off the
    period before it when the last one is shorter than that)."""
    left, kept = by, list(periods)
    while kept and left > timedelta(0):
        start, end = kept.pop()
        length = _seconds(end) - _seconds(start)
        if length > left:
            kept.append((start, _time(_seconds(end) - left)))
            left = timedelta(0)
        else:
            left -= length
    return tuple(kept)


def _seconds(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _time(span: timedelta) -> time:
    return (datetime.min + span).time()


@dataclass(frozen=True)
class ProductionYear:
    """One year of the Russian production calendar, as the `holidays` package gives it."""

    days_off: frozenset[date]  # public holidays and the weekdays off they were moved to
    workdays: frozenset[date]  # weekend days worked in exchange
    shortened: frozenset[date]  # pre-holiday working days, one hour shorter


_SUBSTITUTED = re.compile(r"substituted from (\d\d)/(\d\d)/(\d{4})")


@cache
def _package_year(year: int) -> tuple[frozenset[date], frozenset[date], dict[date, date]]:
    """The package's days off and worked weekend days of a year, and for each day off moved
    from another day, that day (read from the holiday's name, in the package's English)."""
    import holidays  # about 0.1 s of imports, paid only by a desk that uses it

    ru = holidays.country_holidays("RU", years=year, language="en_US")
    off = frozenset(d for d in ru if d.year == year)
    moved: dict[date, date] = {}
    for day in off:
        m = _SUBSTITUTED.search(ru.get(day) or "")
        if m:
            moved[day] = date(int(m[3]), int(m[1]), int(m[2]))
    return off, frozenset(ru.weekend_workdays), moved


@cache
def production_year(year: int) -> ProductionYear:
    """A year of the production calendar, computed on first use and kept.

    The package lists days off and transferred working weekend days but not shortened days, so
    they are derived by the rule of the Labour Code (art. 95) as the government applies it: the
    working day right before a public holiday of art. 112 is one hour shorter; when that day was
    made a day off in exchange for a worked weekend day, the worked weekend day is the short one
    (1 November 2025); a day off moved from a holiday shortens nothing (7 May 2025 is whole)."""
    workdays = frozenset(
        d for y in (year - 1, year, year + 1) for d in _package_year(y)[1] if d.year == year
    )
    short = set()
    for y in (year, year + 1):  # 1 January's eve is in the year before
        for holiday in russian_holidays(y) & _package_year(y)[0]:
            eve = _shortened_eve(holiday)
            if eve is not None:
                short.add(eve)
    days_off = _package_year(year)[0]
    short_days = frozenset(d for d in short if d.year == year and d not in days_off)
    return ProductionYear(days_off, workdays, short_days)


def _shortened_eve(holiday: date) -> date | None:
    """The working day shortened before a holiday: the day before it if worked; if that day is
    off in exchange for a worked weekend day, that weekend day. A day off moved from another
    holiday is passed over to find such an exchange (31 December 2024, moved from 7 January,
    then 30 December, exchanged for Saturday 28 December: short), but the working day before it
    stays whole (8 May 2025, moved from 23 February: 7 May is a full day)."""
    eve, passed = holiday - timedelta(days=1), False
    for _ in range(14):
        off, worked, moved = _package_year(eve.year)
        if eve not in off:
            return eve if not passed and (eve.weekday() < 5 or eve in worked) else None
        source = moved.get(eve)
        if source is None:
            return None  # a holiday: its own eve is shortened, not this one's
        if source not in russian_holidays(source.year):
            return source  # the worked weekend day it was exchanged for
        eve, passed = eve - timedelta(days=1), True
    return None


def russian_holidays(year: int) -> frozenset[date]:
    """The fixed public holidays of the Russian Labour Code (art. 112); the government's yearly
    transfers are added by the administrator as holidays and working days."""
    fixed = [(1, d) for d in range(1, 9)] + [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)]
    return frozenset(date(year, m, d) for m, d in fixed)
