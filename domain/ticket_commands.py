"""The Desk's one write entry point for ticket (and incident) commands, and the method names
callers use.

`handle(actor, command)` consults the access policy, loads the ticket, compares the version the
sender saw, lets the command's handler (domain/tickets/commands.py) decide, and saves; a command
not tied to a version is decided again when the ticket changed meanwhile. The methods below it
(reply, note, assign...) only build a command and hand it over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import EventStore

from domain.access import Actor, Command, TicketScope, check
from domain.article import Article
from domain.cached_copy import CachedCopies
from domain.chain import ChainedAggregate
from domain.errors import Conflict, DeskError
from domain.incident_commands import IncidentCommand
from domain.results import Written
from domain.setup.base import SetupCommand
from domain.ticket import Attachment, LinkKind, Priority, TemplateUse, Ticket
from domain.tickets import commands as c
from domain.tickets.commands import HANDLERS, SYSTEM, TicketCommand, Unchanged
from domain.tickets.rebase import still_current

A = TypeVar("A", bound=ChainedAggregate)
RETRIES = 5


class TicketCommands:
    """The ticket command dispatcher (mixed into Desk)."""

    if TYPE_CHECKING:

        def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...
        def _save(self, *aggregates: ChainedAggregate) -> int: ...
        def _check_template(self, use: TemplateUse) -> Article: ...
        def handle_incident(self, actor: Actor, command: IncidentCommand) -> Written: ...
        def handle_setup(self, actor: Actor, command: SetupCommand) -> Written: ...

        copies: CachedCopies

        events: EventStore[UUID]

        def render_template(
            self, actor: Actor, template_id: UUID, ticket_id: UUID, language: str = "ru"
        ) -> tuple[str, TemplateUse, Article]: ...

    def ticket_for(self, actor: Actor, command: Command, ticket_id: UUID) -> Ticket:
        """The ticket, once the policy lets the actor issue `command` on it."""
        ticket = self._get(Ticket, ticket_id, "request")
        check(actor, command, TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id))
        return ticket

    def handle(self, actor: Actor, command: TicketCommand | IncidentCommand | SetupCommand
               ) -> Written:  # fmt: skip
        """Carries out one ticket command: policy, load, version, decision, save. An incident
        or set-up command goes to its own registry (domain/incident_commands.py,
        domain/setup/dispatch.py).

        The first attempt decides on this process's cached copy of the ticket without reading
        the store (domain/cached_copy.py): a stale copy's insert is refused by the store's
        unique version key, and a refusal, an `Unchanged` or a decision that inserts nothing
        for the ticket is decided again on a fresh load, so a stale copy is never answered
        from."""
        if isinstance(command, IncidentCommand):
            return self.handle_incident(actor, command)
        if isinstance(command, SetupCommand):
            return self.handle_setup(actor, command)
        handler = HANDLERS[type(command)]
        expected = command.expected_version if command.versioned else None
        fresh = False  # whether the ticket decided on was read from the store
        for attempt in range(RETRIES):
            ticket, fresh = self._to_decide(command.ticket_id, expected, fresh)
            try:
                scope = TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id)
                check(actor, command.policy, scope)
                if expected is not None and expected != ticket.version:
                    self._check_current(command, ticket, expected)
                others = handler(self, actor, ticket, command)  # type: ignore[arg-type]
            except (DeskError, Unchanged):
                if fresh:
                    raise
                fresh = True  # said on the cached copy alone: decided again on what is stored
                continue
            if not fresh and not ticket.pending_events:
                fresh = True  # no insert of the ticket's would prove the copy current
                continue
            try:
                return Written(ticket.id, self._save(ticket, *others), ticket.version)
            except Conflict:
                # Changed meanwhile: decided again on the new version (a versioned command
                # only if what came between leaves its sender's view current: rebase.py).
                if not fresh:
                    self.copies.suspect(ticket.id)
                fresh = True
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _to_decide(self, ticket_id: UUID, expected: int | None, fresh: bool) -> tuple[Ticket, bool]:
        """The ticket to decide on, and whether it was read from the store: a copy of the cached
        one unless `fresh` is asked for, the ticket is not cached or suspect, or the sender saw a
        later version than the copy's (which proves it stale)."""
        if fresh:
            return self._get(Ticket, ticket_id, "request"), True
        copy = self.copies.copy(ticket_id)
        if isinstance(copy, Ticket):
            if expected is None or expected <= copy.version:
                return copy, False
            self.copies.suspect(ticket_id)
            return self._get(Ticket, ticket_id, "request"), True
        return self.copies.read(ticket_id, lambda: self._get(Ticket, ticket_id, "request")), True

    def _check_current(self, command: TicketCommand, ticket: Ticket, expected: int) -> None:
        """Conflict unless the events since `expected` leave the sender's view current."""
        if expected > ticket.version or expected < 1:
            raise Conflict(ticket.id, expected, ticket.version)
        meanwhile = self.events.get(ticket.id, gt=expected, lte=ticket.version)
        if not still_current(command, meanwhile):
            raise Conflict(ticket.id, expected, ticket.version)

    def send(self, command: TicketCommand | IncidentCommand | SetupCommand) -> Written | None:
        """A process's command, handled as the system actor; None when it found nothing left
        to do (processes repeat themselves after a restart or a lagging view)."""
        try:
            return self.handle(SYSTEM, command)
        except Unchanged:
            return None

    # -- the same commands by method, for callers that hold plain values ----------------------
    def reply(self, actor: Actor, ticket_id: UUID, body: str, *,
              expected_version: int | None = None, attachments: tuple[Attachment, ...] = (),
              template: TemplateUse | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.ReplyToTicket(ticket_id, expected_version, body, attachments,
                                                  template))  # fmt: skip

    def write(self, actor: Actor, ticket_id: UUID, body: str, *,
              expected_version: int | None = None, attachments: tuple[Attachment, ...] = ()
              ) -> Written:  # fmt: skip
        return self.handle(actor, c.WriteMessage(ticket_id, expected_version, body, attachments))

    def note(self, actor: Actor, ticket_id: UUID, body: str, *,
             expected_version: int | None = None, attachments: tuple[Attachment, ...] = ()
             ) -> Written:  # fmt: skip
        return self.handle(actor, c.AddNote(ticket_id, expected_version, body, attachments))

    def request_information(self, actor: Actor, ticket_id: UUID, fields: tuple[str, ...],
                            questions: tuple[str, ...], message: str, *,
                            expected_version: int | None = None,
                            template: TemplateUse | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.RequestInformation(ticket_id, expected_version, fields,
                                                       questions, message, template))  # fmt: skip

    def provide_information(self, actor: Actor, ticket_id: UUID, values: dict[str, Any],
                            answers: tuple[str, ...] = (), *,
                            expected_version: int | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.ProvideInformation(ticket_id, expected_version, values,
                                                       answers))  # fmt: skip

    def assign(self, actor: Actor, ticket_id: UUID, group_id: UUID | None,
               assignee_id: UUID | None, *, expected_version: int | None = None
               ) -> Written:  # fmt: skip
        return self.handle(actor, c.Assign(ticket_id, expected_version, group_id, assignee_id))

    def transfer(self, actor: Actor, ticket_id: UUID, to_group_id: UUID, reason: str,
                 to_assignee_id: UUID | None = None, *, expected_version: int | None = None
                 ) -> Written:  # fmt: skip
        return self.handle(actor, c.Transfer(ticket_id, expected_version, to_group_id, reason,
                                             to_assignee_id))  # fmt: skip

    def escalate(self, actor: Actor, ticket_id: UUID, to_group_id: UUID, reason: str, *,
                 expected_version: int | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.Escalate(ticket_id, expected_version, to_group_id, reason))

    def change_priority(self, actor: Actor, ticket_id: UUID, priority: Priority,
                        reason: str = "", *, expected_version: int | None = None
                        ) -> Written:  # fmt: skip
        return self.handle(actor, c.ChangePriority(ticket_id, expected_version, priority, reason))

    def resolve(self, actor: Actor, ticket_id: UUID, resolution: str, *,
                expected_version: int | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.Resolve(ticket_id, expected_version, resolution))

    def reopen(self, actor: Actor, ticket_id: UUID, reason: str, *,
               expected_version: int | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.Reopen(ticket_id, expected_version, reason))

    def close_ticket(self, actor: Actor, ticket_id: UUID, reason: str = "", *,
                     expected_version: int | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.Close(ticket_id, expected_version, reason))

    def rate(self, actor: Actor, ticket_id: UUID, score: int, comment: str = "", *,
             expected_version: int | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.Rate(ticket_id, expected_version, score, comment))

    def attach(self, actor: Actor, ticket_id: UUID, attachment: Attachment, *,
               expected_version: int | None = None) -> Written:  # fmt: skip
        return self.handle(actor, c.Attach(ticket_id, expected_version, attachment))

    def link(self, actor: Actor, ticket_id: UUID, other_id: UUID,
             kind: LinkKind = LinkKind.RELATED) -> Written:  # fmt: skip
        return self.handle(actor, c.Link(ticket_id, None, other_id, kind))
