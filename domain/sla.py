"""SLA clocks, computed from a ticket's history so any policy or calendar change recomputes them.

A clock runs while the ticket is with the desk (new or open) and stops while it waits for the
requester, and when it is resolved or closed; a reopened ticket's clock runs on from where it
stopped. A clock keeps the moments it ran (`intervals`), not a running total, so a new calendar
or target applies to the whole history: no pause is ever lost or counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from domain.calendar import Calendar
from domain.ticket import SLA_ALARMS, Status, Ticket

RUNNING = frozenset({Status.NEW, Status.OPEN})  # the statuses a resolution clock runs in
RUNNING_VALUES = frozenset(s.value for s in RUNNING)  # the same, as views store them

# The desk's first response: the first of these the requester reads (all written by staff). The
# SLA's first-response clock and the analytics' first response time both stop at it.
FIRST_RESPONSES = (Ticket.Replied, Ticket.InformationRequested, Ticket.Resolved)

# The alarm kinds of `Ticket.SlaAlarmed`.
FIRST_RESPONSE_WARNING, FIRST_RESPONSE_BREACH, RESOLUTION_WARNING, RESOLUTION_BREACH = SLA_ALARMS


@dataclass(frozen=True)
class Clock:
    intervals: tuple[tuple[datetime, datetime], ...] = ()  # the spans in which it ran, ended
    running_since: datetime | None = None

    def run(self, at: datetime) -> Clock:
        return self if self.running_since is not None else replace(self, running_since=at)

    def stop(self, at: datetime) -> Clock:
        if self.running_since is None:
            return self
        span = (self.running_since, max(at, self.running_since))
        return Clock((*self.intervals, span), None)

    def elapsed(self, calendar: Calendar, now: datetime) -> float:
        """Working seconds the clock has run until `now`."""
        spent = sum(calendar.working_seconds(a, b) for a, b in self.intervals)
        if self.running_since is not None:
            spent += calendar.working_seconds(self.running_since, now)
        return spent

    def due(self, calendar: Calendar, target_seconds: float) -> datetime | None:
        """When the clock reaches `target_seconds`, if it keeps running; None while stopped."""
        if self.running_since is None:
            return None
        spent = sum(calendar.working_seconds(a, b) for a, b in self.intervals)
        return calendar.add(self.running_since, target_seconds - spent)


def resolution_clock(history: Iterable[tuple[datetime, Status]]) -> Clock:
    """The resolution clock from the ticket's status after each of its events, in order."""
    clock = Clock()
    for at, status in history:
        clock = clock.run(at) if status in RUNNING else clock.stop(at)
    return clock


def first_response_clock(filed_at: datetime, answered_at: datetime | None) -> Clock:
    """Runs from filing until the desk's first answer the requester reads."""
    clock = Clock().run(filed_at)
    return clock.stop(answered_at) if answered_at is not None else clock
