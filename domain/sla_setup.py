"""SLA set-up: calendars, policies per category and priority, and automatic closing.

One aggregate holds it all, so each change is one event and the SLA view recomputes every open
clock from the tickets' own histories when it sees that event (domain/sla.py keeps the intervals,
so nothing measured before the change is lost).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, time
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid5

from domain.calendar import Calendar
from domain.chain import ChainedAggregate
from domain.errors import InvalidInput
from domain.setup_document import SetupDocument
from domain.ticket import Priority

SLA_SETUP_ID = uuid5(UUID("5d0c2a53-5bd1-4c39-9a57-6b2f1d8f2a11"), "suz:sla")
# A calendar's kind: "custom" counts only the administrator's own holidays and worked days (what
# every calendar stored before kinds existed means: a stored calendar without a kind decodes as
# custom); "ru" is the Russian production calendar, with his dates kept on top of it.
CUSTOM, RUSSIAN = "custom", "ru"
KINDS = (CUSTOM, RUSSIAN)
_PERIOD = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


@dataclass(frozen=True)
class CalendarSpec:
    """A calendar as stored: periods like "09:00-18:00" for each weekday, Monday first."""

    key: str
    name: str
    timezone: str = "Europe/Moscow"
    week: tuple[tuple[str, ...], ...] = (("09:00-18:00",),) * 5 + ((), ())
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()
    always: bool = False
    kind: str = CUSTOM  # see KINDS

    def calendar(self) -> Calendar:
        if self.kind not in KINDS:
            raise InvalidInput("A calendar is custom or the Russian production calendar.",
                               ["kind"])  # fmt: skip
        week = tuple(tuple(_period(p) for p in day) for day in self.week)
        return Calendar(self.name, self.timezone, week, frozenset(self.holidays),
                        frozenset(self.workdays), self.always, self.kind == RUSSIAN)  # fmt: skip


def _period(text: str) -> tuple[time, time]:
    m = _PERIOD.fullmatch(text.strip())
    if not m:
        raise InvalidInput(f"Write working hours like 09:00-18:00, not {text!r}.", ["week"])
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    end = time(23, 59, 59, 999999) if (h2, m2) == (24, 0) else time(h2, m2)
    return time(h1, m1), end


@dataclass(frozen=True)
class Policy:
    id: UUID
    name: str
    first_response_minutes: int
    resolution_minutes: int
    warn_percent: int = 80  # warn when this share of the target is used
    category_id: UUID | None = None  # None: any category
    priority: Priority | None = None  # None: any priority
    calendar: str = "business"
    escalate_on_breach: bool = True  # a breached resolution target goes up one line

    def specificity(self) -> int:
        return (self.category_id is not None) * 2 + (self.priority is not None)


def check_policy(p: Policy, calendars: Collection[str]) -> None:
    """Raised (InvalidInput naming the policy's field) unless `p` is a policy the set-up may
    hold beside calendars with these keys."""
    if p.calendar not in calendars:
        raise InvalidInput(f"Policy «{p.name}» names an unknown calendar.", ["calendar"])
    if not (0 < p.first_response_minutes <= p.resolution_minutes <= 525_600):
        raise InvalidInput("Targets are minutes: 0 < first response <= resolution.",
                           ["first_response_minutes", "resolution_minutes"])  # fmt: skip
    if not 1 <= p.warn_percent <= 99:
        raise InvalidInput("Warn between 1% and 99% of the target.", ["warn_percent"])


def check_auto_close(days: int) -> None:
    if not 0 <= days <= 365:
        raise InvalidInput("Close resolved requests after 0-365 working days.",
                           ["auto_close_days"])  # fmt: skip


# A new desk works by the Russian production calendar: a Russian operation's working time is the
# one the government publishes each year (New Year holidays, transfers, short pre-holiday days),
# and a desk that counted 1-8 January as working days would breach every target it sets. Set-ups
# saved before keep their stored calendars (custom): only a desk that never saved one changes.
DEFAULT_CALENDARS = (
    CalendarSpec("business", "Рабочие дни, 9-18 (Москва)", kind=RUSSIAN),
    CalendarSpec("24x7", "Круглосуточно", always=True),
)


class SlaSetup(SetupDocument):
    FIXED_ID = SLA_SETUP_ID

    if TYPE_CHECKING:
        calendars: tuple[CalendarSpec, ...]
        policies: tuple[Policy, ...]
        auto_close_days: int

    class Started(ChainedAggregate.Created):
        def apply(self, aggregate: Any) -> None:
            s = cast(SlaSetup, aggregate)
            s.calendars, s.policies, s.auto_close_days = DEFAULT_CALENDARS, (), 5

    class Changed(ChainedAggregate.Event):
        by: UUID | None
        calendars: tuple[CalendarSpec, ...]
        policies: tuple[Policy, ...]
        auto_close_days: int

        def apply(self, aggregate: Any) -> None:
            s = cast(SlaSetup, aggregate)
            s.calendars, s.policies = self.calendars, self.policies
            s.auto_close_days = self.auto_close_days

    def change(self, by: UUID | None, calendars: tuple[CalendarSpec, ...],
               policies: tuple[Policy, ...], auto_close_days: int) -> None:  # fmt: skip
        keys = [c.key for c in calendars]
        if len(set(keys)) != len(keys) or not all(re.fullmatch(r"[a-z0-9_x-]{1,40}", k)
                                                  for k in keys):  # fmt: skip
            raise InvalidInput("Calendar keys are unique, lower-case latin.", ["calendars"])
        for c in calendars:
            c.calendar()  # refuses bad hours or an unknown time zone
        for p in policies:
            check_policy(p, keys)
        check_auto_close(auto_close_days)
        self.trigger_event(self.Changed, by=by, calendars=tuple(calendars),
                           policies=tuple(policies), auto_close_days=auto_close_days)  # fmt: skip

    def policy_for(self, category_id: UUID, priority: Priority) -> Policy | None:
        """The most specific policy that fits: category and priority, then category, then
        priority, then a default with neither."""
        fitting = [
            p for p in self.policies
            if p.category_id in (None, category_id) and p.priority in (None, priority)
        ]  # fmt: skip
        return max(fitting, key=Policy.specificity, default=None)

    def calendar(self, key: str) -> Calendar:
        spec = next((c for c in self.calendars if c.key == key), DEFAULT_CALENDARS[0])
        return spec.calendar()
