"""Business calendars: when the desk works, and how much working time lies between two moments.

A calendar has working periods for each weekday in its own time zone (Moscow by default), public
holidays (days off), and working days moved onto a weekend (in Russia a Saturday is sometimes
worked in exchange for a bridge day). A 24x7 calendar counts every second. All arithmetic is in
UTC on aware datetimes, so it stays right across any offset change of the zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

Period = tuple[time, time]
NINE_TO_SIX: tuple[Period, ...] = ((time(9), time(18)),)
WORKWEEK: tuple[tuple[Period, ...], ...] = (NINE_TO_SIX,) * 5 + ((), ())
SEARCH_DAYS = 800  # how far `add` looks for working time before calling the calendar empty


@dataclass(frozen=True)
class Calendar:
    name: str = "Рабочие дни (Москва)"
    timezone: str = "Europe/Moscow"
    week: tuple[tuple[Period, ...], ...] = WORKWEEK  # Monday first; () is a day off
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked
    always: bool = False  # 24x7

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
        if day in self.workdays:
            return next((p for p in self.week if p), NINE_TO_SIX)
        return self.week[day.weekday()]

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


def russian_holidays(year: int) -> frozenset[date]:
    """The fixed public holidays of the Russian Labour Code (art. 112); the government's yearly
    transfers are added by the administrator as holidays and working days."""
    fixed = [(1, d) for d in range(1, 9)] + [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)]
    return frozenset(date(year, m, d) for m, d in fixed)
