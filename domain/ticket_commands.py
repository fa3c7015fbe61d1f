"""The Desk's ticket commands: everything that happens to a request once it is filed.

A mixin of the Desk application (it uses the Desk's _get/_written and the knowledge base's
template check); each command checks the access policy and the expected version first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from domain.access import Actor, Command, TicketScope, check
from domain.article import Article
from domain.category import Category, parse_fields
from domain.chain import ChainedAggregate
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.people import Account, Group, Role
from domain.results import Written
from domain.ticket import Attachment, LinkKind, Priority, TemplateUse, Ticket

A = TypeVar("A", bound=ChainedAggregate)


class TicketCommands:
    """Commands on a filed ticket (mixed into Desk)."""

    if TYPE_CHECKING:

        def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...
        def _save(self, *aggregates: ChainedAggregate) -> int: ...
        def _written(self, aggregate: ChainedAggregate) -> Written: ...
        def _check_template(self, use: TemplateUse) -> Article: ...
        def render_template(
            self, actor: Actor, template_id: UUID, ticket_id: UUID, language: str = "ru"
        ) -> tuple[str, TemplateUse, Article]: ...

    def _act(
        self,
        actor: Actor,
        command: Command,
        ticket_id: UUID,
        expected_version: int | None,
        change: Callable[[Ticket], Any],
    ) -> Written:
        for attempt in range(5):
            ticket = self._get(Ticket, ticket_id, "request")
            scope = TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id)
            check(actor, command, scope)
            if expected_version is not None and expected_version != ticket.version:
                raise Conflict(ticket.id, expected_version, ticket.version)
            change(ticket)
            try:
                return self._written(ticket)
            except Conflict:
                # Changed meanwhile: a command not tied to a version is decided again.
                if expected_version is not None or attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def reply(
        self,
        actor: Actor,
        ticket_id: UUID,
        body: str,
        *,
        expected_version: int | None = None,
        attachments: tuple[Attachment, ...] = (),
        template: TemplateUse | None = None,
    ) -> Written:
        if template is not None:
            self._check_template(template)
        return self._act(
            actor,
            Command.REPLY,
            ticket_id,
            expected_version,
            lambda t: t.reply(_who(actor), body, attachments, template),
        )

    def write(
        self,
        actor: Actor,
        ticket_id: UUID,
        body: str,
        *,
        expected_version: int | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> Written:
        return self._act(
            actor,
            Command.WRITE,
            ticket_id,
            expected_version,
            lambda t: t.write_as_requester(actor.id, body, attachments),
        )

    def note(
        self,
        actor: Actor,
        ticket_id: UUID,
        body: str,
        *,
        expected_version: int | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> Written:
        return self._act(
            actor,
            Command.NOTE,
            ticket_id,
            expected_version,
            lambda t: t.add_note(_who(actor), body, attachments),
        )

    def request_information(
        self,
        actor: Actor,
        ticket_id: UUID,
        fields: tuple[str, ...],
        questions: tuple[str, ...],
        message: str,
        *,
        expected_version: int | None = None,
        template: TemplateUse | None = None,
    ) -> Written:
        if template is not None:  # an information-request template supplies what is left out
            used = self._check_template(template).published
            assert used is not None
            fields, questions = fields or used.fields, questions or used.questions
            if not message.strip():
                message, _, _ = self.render_template(actor, template.article_id, ticket_id)

        def change(t: Ticket) -> None:
            category = self._get(Category, t.category_id, "category")
            unknown = [f for f in fields if category.spec(f) is None]
            if unknown:
                raise InvalidInput(f"Not fields of this category: {', '.join(unknown)}.", unknown)
            t.request_information(_who(actor), fields, questions, message, template)

        return self._act(actor, Command.REQUEST_INFO, ticket_id, expected_version, change)

    def provide_information(
        self,
        actor: Actor,
        ticket_id: UUID,
        values: dict[str, Any],
        answers: tuple[str, ...] = (),
        *,
        expected_version: int | None = None,
    ) -> Written:
        def change(t: Ticket) -> None:
            category = self._get(Category, t.category_id, "category")
            parsed = parse_fields(category.form, values, only=t.requested_fields)
            t.provide_information(actor.id, parsed, answers)

        return self._act(actor, Command.PROVIDE_INFO, ticket_id, expected_version, change)

    def assign(
        self,
        actor: Actor,
        ticket_id: UUID,
        group_id: UUID | None,
        assignee_id: UUID | None,
        *,
        expected_version: int | None = None,
    ) -> Written:
        self._check_destination(group_id, assignee_id)
        return self._act(
            actor,
            Command.ASSIGN,
            ticket_id,
            expected_version,
            lambda t: t.assign(actor.id, group_id, assignee_id),
        )

    def transfer(
        self,
        actor: Actor,
        ticket_id: UUID,
        to_group_id: UUID,
        reason: str,
        to_assignee_id: UUID | None = None,
        *,
        expected_version: int | None = None,
    ) -> Written:
        self._check_destination(to_group_id, to_assignee_id)
        return self._act(
            actor,
            Command.TRANSFER,
            ticket_id,
            expected_version,
            lambda t: t.transfer(_who(actor), to_group_id, to_assignee_id, reason),
        )

    def _check_destination(self, group_id: UUID | None, assignee_id: UUID | None) -> None:
        if group_id is not None:
            self._get(Group, group_id, "group")
        if assignee_id is not None:
            agent = self._get(Account, assignee_id, "agent")
            if agent.disabled or (Role.REQUESTER in agent.roles and len(agent.roles) == 1):
                raise InvalidInput("Requests can be assigned only to active staff.", ["assignee"])

    def escalate(
        self,
        actor: Actor,
        ticket_id: UUID,
        to_group_id: UUID,
        reason: str,
        *,
        expected_version: int | None = None,
    ) -> Written:
        group = self._get(Group, to_group_id, "group")
        line = group.kind.line or 0
        return self._act(
            actor,
            Command.ESCALATE,
            ticket_id,
            expected_version,
            lambda t: t.escalate(actor.id, to_group_id, line, reason),
        )

    def change_priority(
        self,
        actor: Actor,
        ticket_id: UUID,
        priority: Priority,
        reason: str = "",
        *,
        expected_version: int | None = None,
    ) -> Written:
        return self._act(
            actor,
            Command.PRIORITY,
            ticket_id,
            expected_version,
            lambda t: t.change_priority(_who(actor), priority, reason),
        )

    def resolve(
        self, actor: Actor, ticket_id: UUID, resolution: str, *, expected_version: int | None = None
    ) -> Written:
        return self._act(
            actor,
            Command.RESOLVE,
            ticket_id,
            expected_version,
            lambda t: t.resolve(_who(actor), resolution),
        )

    def reopen(
        self, actor: Actor, ticket_id: UUID, reason: str, *, expected_version: int | None = None
    ) -> Written:
        return self._act(
            actor, Command.REOPEN, ticket_id, expected_version, lambda t: t.reopen(actor.id, reason)
        )

    def close_ticket(
        self,
        actor: Actor,
        ticket_id: UUID,
        reason: str = "",
        *,
        expected_version: int | None = None,
    ) -> Written:
        return self._act(
            actor, Command.CLOSE, ticket_id, expected_version, lambda t: t.close(actor.id, reason)
        )

    def rate(
        self,
        actor: Actor,
        ticket_id: UUID,
        score: int,
        comment: str = "",
        *,
        expected_version: int | None = None,
    ) -> Written:
        return self._act(
            actor,
            Command.RATE,
            ticket_id,
            expected_version,
            lambda t: t.rate(_who(actor), score, comment),
        )

    def attach(
        self,
        actor: Actor,
        ticket_id: UUID,
        attachment: Attachment,
        *,
        expected_version: int | None = None,
    ) -> Written:
        if attachment.internal and not actor.is_staff:
            raise Forbidden("Only staff may add internal attachments.")
        return self._act(
            actor,
            Command.ATTACH,
            ticket_id,
            expected_version,
            lambda t: t.attach(actor.id, attachment),
        )

    def link(
        self, actor: Actor, ticket_id: UUID, other_id: UUID, kind: LinkKind = LinkKind.RELATED
    ) -> Written:
        """Links two tickets both ways, atomically."""
        ticket = self._get(Ticket, ticket_id, "request")
        other = self._get(Ticket, other_id, "request")
        for t in (ticket, other):
            check(actor, Command.LINK, TicketScope(t.id, t.requester_id, t.organisation_id))
        ticket.link(actor.id, other.id, kind)
        other.link(
            actor.id,
            ticket.id,
            LinkKind.RELATED if kind is not LinkKind.KNOWLEDGE_GAP else LinkKind.KNOWLEDGE_GAP,
        )
        return Written(ticket.id, self._save(ticket, other), ticket.version)


def _who(actor: Actor) -> UUID:
    if actor.id is None:
        raise Forbidden("Sign in to do this.")
    return actor.id
