"""The Desk application: every command of the support desk, taking and returning plain values."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.access import Actor, Command, TicketScope, check, may_see
from domain.article import Article
from domain.category import Category, FieldSpec, parse_fields
from domain.chain import ChainedAggregate
from domain.claim import Claim, claim_id
from domain.errors import Conflict, DeskError, Forbidden, InvalidInput, NotFound
from domain.knowledge import KnowledgeBase
from domain.people import Account, Group, GroupKind, Organisation, Role
from domain.settings import Settings
from domain.ticket import (
    Attachment,
    Channel,
    Contact,
    LinkKind,
    Priority,
    TemplateUse,
    Ticket,
)

A = TypeVar("A", bound=ChainedAggregate)
SYSTEM = Actor(id=None, roles=frozenset({Role.ADMIN}))


@dataclass(frozen=True)
class Written:
    """What a command wrote: the log position of its last event and the aggregate's version."""

    id: UUID
    position: int
    version: int


@dataclass(frozen=True)
class FiledTicket(Written):
    number: int
    visitor_key: str | None = None  # the private link's key of an anonymous request; shown once


class Desk(KnowledgeBase, Application[UUID]):
    """The support desk. Tickets are snapshotted every 50 events so long tickets load fast."""

    name = "Desk"
    snapshotting_intervals = {Ticket: 50, Article: 50}

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(dict(env) if env is not None else Settings.from_env().store_env())
        self._numbers = threading.Lock()
        self._last_number: int | None = None
        self.on_saved: list[Callable[[int], None]] = []  # told the log position after each save

    def _notify(self, recordings: list[Any]) -> None:
        super()._notify(recordings)
        if recordings:
            for listener in self.on_saved:
                listener(recordings[-1].notification.id)

    # -- plumbing -----------------------------------------------------------------------------
    def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"No such {what}.") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"No such {what}.")
        return aggregate

    def _save(self, *aggregates: ChainedAggregate) -> int:
        first = aggregates[0]
        seen = first.version - len(first.pending_events)  # the version the command was decided on
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            current: int = self.repository.get(first.id).version
            raise Conflict(first.id, seen, current) from None
        self._cache(*aggregates)
        return recordings[-1].notification.id

    def _cache(self, *aggregates: ChainedAggregate) -> None:
        """Keeps what was just saved, so the next command need not re-apply its events (the
        cache still fast-forwards past writes made by other processes)."""
        cache = self.repository.cache
        if cache is not None:
            for aggregate in aggregates:
                cache.put(aggregate.id, aggregate)

    def _written(self, aggregate: ChainedAggregate) -> Written:
        return Written(aggregate.id, self._save(aggregate), aggregate.version)

    # -- organisations, accounts, groups, categories -------------------------------------------
    def _check_admin(self, actor: Actor) -> None:
        if not actor.has(Role.ADMIN):
            raise Forbidden("Only an administrator may change the desk's set-up.")

    def register_organisation(self, actor: Actor, name: str, inn: str) -> Written:
        self._check_admin(actor)
        org = Organisation.register(name, inn)
        claim = Claim.take(f"inn:{org.inn}", org.id)
        return self._unique(org, claim, f"An organisation with INN {org.inn} exists.", "inn")

    def register_account(
        self,
        actor: Actor,
        login: str,
        display_name: str,
        roles: tuple[Role, ...],
        organisation_id: UUID | None = None,
        email: str = "",
    ) -> Written:
        self._check_admin(actor)
        if organisation_id is not None:
            self._get(Organisation, organisation_id, "organisation")
        account = Account.register(login, display_name, roles, organisation_id, email)
        claim = Claim.take(f"login:{account.login}", account.id)
        return self._unique(account, claim, f"Login {account.login!r} is taken.", "login")

    def _unique(self, aggregate: ChainedAggregate, claim: Claim, taken: str, field: str) -> Written:
        try:
            recordings = self.save(aggregate, claim)
        except IntegrityError:
            raise InvalidInput(taken, [field]) from None
        return Written(aggregate.id, recordings[-1].notification.id, aggregate.version)

    def account_by_id(self, account_id: UUID | None) -> Account:
        if account_id is None:
            raise NotFound("No such account.")
        return self._get(Account, account_id, "account")

    def account_by_login(self, login: str) -> Account | None:
        try:
            claim: Claim = self.repository.get(claim_id(f"login:{login.strip().lower()}"))
        except AggregateNotFoundError:
            return None
        return self._get(Account, claim.owner_id, "account")

    def form_group(self, actor: Actor, name: str, kind: GroupKind) -> Written:
        self._check_admin(actor)
        return self._written(Group.form(name, kind))

    def change_account(
        self, actor: Actor, account_id: UUID, change: Callable[[Account], Any]
    ) -> Written:
        """Applies an administrator's change (join, leave, change_roles, disable, enable)."""
        self._check_admin(actor)
        account = self._get(Account, account_id, "account")
        change(account)
        return self._written(account)

    def set_password_hash(self, actor: Actor, account_id: UUID, password_hash: str) -> Written:
        """Records a new password hash: by the account itself or by an administrator."""
        if actor.id != account_id and not actor.has(Role.ADMIN):
            raise Forbidden("Only the account itself or an administrator may set its password.")
        account = self._get(Account, account_id, "account")
        account.set_password_hash(password_hash)
        return self._written(account)

    def add_to_group(self, actor: Actor, account_id: UUID, group_id: UUID) -> Written:
        self._get(Group, group_id, "group")
        return self.change_account(actor, account_id, lambda a: a.join(group_id))

    def define_category(
        self,
        actor: Actor,
        name_ru: str,
        name_en: str,
        form: tuple[FieldSpec, ...] = (),
        default_group_id: UUID | None = None,
        parent_id: UUID | None = None,
    ) -> Written:
        self._check_admin(actor)
        if default_group_id is not None:
            self._get(Group, default_group_id, "group")
        if parent_id is not None:
            self._get(Category, parent_id, "category")
        return self._written(Category.define(name_ru, name_en, form, default_group_id, parent_id))

    def change_category_form(
        self, actor: Actor, category_id: UUID, form: tuple[FieldSpec, ...]
    ) -> Written:
        """A new form applies to requests filed from now on; filed ones keep their values."""
        self._check_admin(actor)
        category = self._get(Category, category_id, "category")
        category.change_form(form)
        return self._written(category)

    def actor_for(self, account_id: UUID) -> Actor:
        """The Actor a signed-in account acts as; disabled accounts may do nothing."""
        account = self._get(Account, account_id, "account")
        if account.disabled:
            raise Forbidden("This account is disabled.")
        return Actor(
            id=account.id,
            roles=frozenset(account.roles),
            organisation_id=account.organisation_id,
            group_ids=frozenset(account.group_ids),
        )

    # -- tickets ------------------------------------------------------------------------------
    def file_ticket(
        self,
        actor: Actor,
        category_id: UUID,
        subject: str,
        description: str,
        fields: dict[str, Any],
        channel: Channel = Channel.CABINET,
        contact: Contact | None = None,
        priority: Priority = Priority.NORMAL,
    ) -> FiledTicket:
        check(actor, Command.FILE)
        category = self._get(Category, category_id, "category")
        if category.archived:
            raise InvalidInput("This category is no longer in use; pick another.", ["category"])
        values = parse_fields(category.form, fields)
        if actor.id is None and contact is None:
            raise InvalidInput("Leave your name and e-mail so we can answer you.", ["contact"])
        requester = actor.id if actor.has(Role.REQUESTER) else None
        visitor_key = secrets.token_urlsafe(24) if actor.id is None else None
        key_hash = hashlib.sha256(visitor_key.encode()).hexdigest() if visitor_key else ""
        ticket_id = uuid4()
        for _ in range(50):
            number = self._next_number()
            try:
                ticket = Ticket.file(
                    ticket_id=ticket_id,
                    number=number,
                    channel=channel,
                    category_id=category_id,
                    subject=subject,
                    description=description,
                    fields=values,
                    requester_id=requester,
                    organisation_id=actor.organisation_id if requester else None,
                    contact=contact,
                    priority=priority,
                    visitor_key_hash=key_hash,
                )
            except DeskError:
                self._last_number = None  # refused: the number stays free, probe again
                raise
            if category.default_group_id is not None:
                ticket.assign(None, category.default_group_id, None)
            try:
                recordings = self.save(Claim.take(f"ticket:{number}", ticket.id), ticket)
            except IntegrityError:
                self._last_number = None  # another process took it: probe again
                continue
            position = recordings[-1].notification.id
            return FiledTicket(ticket.id, position, ticket.version, number, visitor_key)
        raise Conflict(ticket_id, None, 0)

    def visitor(self, ticket_id: UUID, key: str) -> Actor:
        """The anonymous requester holding a ticket's private link; NotFound for a wrong key."""
        ticket = self._get(Ticket, ticket_id, "request")
        given = hashlib.sha256(key.encode()).hexdigest()
        if not ticket.visitor_key_hash or not hmac.compare_digest(given, ticket.visitor_key_hash):
            raise NotFound("No such request.")
        return Actor.visitor(ticket.id)

    def _next_number(self) -> int:
        with self._numbers:
            if self._last_number is None:
                self._last_number = self._probe_last_number()
            self._last_number += 1
            return self._last_number

    def _probe_last_number(self) -> int:
        """The highest ticket number taken, found in O(log n) claim lookups."""

        def taken(n: int) -> bool:
            return claim_id(f"ticket:{n}") in self.repository

        high = 1
        while taken(high):
            high *= 2
        low = high // 2  # taken(low) holds, or low == 0
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if taken(mid) else (low, mid)
        return low

    def ticket(self, actor: Actor, ticket_id: UUID) -> Ticket:
        ticket = self._get(Ticket, ticket_id, "request")
        if not may_see(actor, TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id)):
            raise NotFound("No such request.")
        return ticket

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
