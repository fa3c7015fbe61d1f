"""SLA commands of the Desk: the administrators' set-up, and what the SLA process records.

A mixin of the Desk application (it uses the Desk's _get/_written/repository). The process's
commands are ticket commands (domain/tickets/commands.py: `RaiseSlaAlarm`, `CloseUnanswered`)
sent through the one dispatcher; they are idempotent: an alarm already on the ticket, or a close
that no longer applies, writes nothing, so a process that restarts (or two that overlap) never
double-fires.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from domain.access import Actor
from domain.chain import ChainedAggregate, check_seen
from domain.errors import Forbidden
from domain.people import Role
from domain.results import Written
from domain.sla_setup import CalendarSpec, Policy, SlaSetup
from domain.tickets.commands import CloseUnanswered, RaiseSlaAlarm

A = TypeVar("A", bound=ChainedAggregate)


class SlaCommands:
    if TYPE_CHECKING:
        repository: Any

        def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...

        def _written(self, aggregate: ChainedAggregate) -> Written: ...
        def send(self, command: Any) -> Written | None: ...

    def sla_setup(self) -> SlaSetup:
        return SlaSetup.load(self.repository)

    def set_sla(self, actor: Actor, calendars: tuple[CalendarSpec, ...],
                policies: tuple[Policy, ...], auto_close_days: int,
                expected_version: int | None = None) -> Written:  # fmt: skip
        if not actor.has(Role.ADMIN):
            raise Forbidden("Only an administrator may change the SLA policies.")
        setup = self.sla_setup()
        check_seen(setup, expected_version)
        setup.change(actor.id, calendars, policies, auto_close_days)
        return self._written(setup)

    def raise_sla_alarm(self, ticket_id: UUID, alarm: str, due: datetime, policy: str,
                        escalate_to: UUID | None = None) -> Written | None:  # fmt: skip
        """Records an alarm once; a resolution breach also escalates to `escalate_to`."""
        return self.send(RaiseSlaAlarm(ticket_id, None, alarm, due, policy, escalate_to))

    def close_unanswered(self, ticket_id: UUID, reason: str) -> Written | None:
        """Closes a request still resolved (a reopened one is left alone)."""
        return self.send(CloseUnanswered(ticket_id, None, reason))
