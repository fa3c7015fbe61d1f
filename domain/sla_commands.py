"""SLA commands of the Desk by method: the administrators' set-up, and what the SLA process sends.

A mixin of the Desk application; every method only builds a command and hands it to the one
dispatcher. The set-up is `SetSlaSetup` (domain/setup/documents.py); the process's commands are
ticket commands (domain/tickets/commands.py: `RaiseSlaAlarm`, `CloseUnanswered`), idempotent: an
alarm already on the ticket, or a close that no longer applies, writes nothing, so a process that
restarts (or two that overlap) never double-fires.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.access import Actor
from domain.results import Written
from domain.setup.documents import SetSlaSetup
from domain.sla_setup import CalendarSpec, Policy, SlaSetup
from domain.tickets.commands import CloseUnanswered, RaiseSlaAlarm


class SlaCommands:
    if TYPE_CHECKING:
        repository: Any

        def handle(self, actor: Actor, command: SetSlaSetup) -> Written: ...
        def send(self, command: Any) -> Written | None: ...

    def sla_setup(self) -> SlaSetup:
        return SlaSetup.load(self.repository)

    def set_sla(self, actor: Actor, calendars: tuple[CalendarSpec, ...],
                policies: tuple[Policy, ...], auto_close_days: int,
                expected_version: int | None = None) -> Written:  # fmt: skip
        """Builds `SetSlaSetup` and hands it to `handle`."""
        return self.handle(actor, SetSlaSetup(calendars, policies, auto_close_days,
                                              expected_version))  # fmt: skip

    def raise_sla_alarm(self, ticket_id: UUID, alarm: str, due: datetime, policy: str,
                        escalate_to: UUID | None = None) -> Written | None:  # fmt: skip
        """Records an alarm once; a resolution breach also escalates to `escalate_to`."""
        return self.send(RaiseSlaAlarm(ticket_id, None, alarm, due, policy, escalate_to))

    def close_unanswered(self, ticket_id: UUID, reason: str) -> Written | None:
        """Closes a request still resolved (a reopened one is left alone)."""
        return self.send(CloseUnanswered(ticket_id, None, reason))
