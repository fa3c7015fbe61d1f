"""The Desk application: every command of the support desk, taking and returning plain values."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification, Recording, StoredEvent

from domain.access import WORKERS, Actor, Command, TicketScope, check, may_see
from domain.article import Article
from domain.cached_copy import CachedCopies
from domain.calls import RegisterCall, register_call
from domain.category import Category, FieldSpec, parse_fields
from domain.chain import ChainedAggregate, KeyedMapper, keyed_mapper
from domain.claim import Claim, claim_id
from domain.errors import (
    AlreadyReceived,
    Conflict,
    DeskError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from domain.fresh_reads import FreshReads
from domain.group_commit import Taken
from domain.group_commit import install as install_group_commit
from domain.incident_commands import IncidentCommands
from domain.knowledge import KnowledgeBase
from domain.links import derive
from domain.links import visitor_key as derived_visitor_key
from domain.numbers import TicketNumbers
from domain.people import Account, GroupKind, Role
from domain.quality_commands import QualityCommands
from domain.results import FiledTicket, Written
from domain.routing import ROUTING_ID, Routing, Rule
from domain.settings import Settings
from domain.setup import people as sp
from domain.setup.categories import DefineCategory
from domain.setup.dispatch import SetupCommands
from domain.setup.documents import SetRoutingRules
from domain.sla_commands import SlaCommands
from domain.stored_write import positions_if_stored
from domain.ticket import (
    Attachment,
    Channel,
    Contact,
    Priority,
    Ticket,
    Urgency,
)
from domain.ticket_commands import TicketCommands
from domain.tickets.commands import SYSTEM as SYSTEM  # the actor set-up and processes use

A = TypeVar("A", bound=ChainedAggregate)


EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")


def checked_contact(contact: Contact) -> Contact:
    """A contact with a name and a plausible e-mail address (trimmed), or InvalidInput."""
    name, email = contact.name.strip(), contact.email.strip()
    if not name or len(name) > 200:
        raise InvalidInput("Give your name (up to 200 characters).", ["contact_name"])
    if not EMAIL.fullmatch(email):
        raise InvalidInput("Give an e-mail address like name@example.ru.", ["contact_email"])
    return Contact(name, email)


def _notification(stored: StoredEvent, position: int) -> Notification:
    return Notification(stored.originator_id, stored.originator_version, stored.topic,
                        stored.state, id=position)  # fmt: skip


class Desk(TicketCommands, SetupCommands, KnowledgeBase, SlaCommands, IncidentCommands,
           QualityCommands, Application[UUID]):  # fmt: skip
    """The support desk. Tickets are snapshotted every 50 events so long tickets load fast."""

    name = "Desk"
    snapshotting_intervals = {Ticket: 50, Article: 50}

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(dict(env) if env is not None else Settings.from_env().store_env())
        self.group_commit = install_group_commit(self)  # None when SUZ_GROUP_COMMIT_US=0
        self.copies = CachedCopies(self.repository)  # ticket commands' loads (cached_copy.py)
        self.fresh = FreshReads(self)  # several set-up aggregates in one read (fresh_reads.py)
        self._numbers = TicketNumbers(self)
        key = getattr(self.mapper, "key", None)
        self.link_secret = derive(key, "visitor-links")  # private links' keys (domain/links.py)
        self.mail_secret = derive(key, "mail-replies")  # reply tokens of letters (mail/threads.py)
        self.on_saved: list[Callable[[int], None]] = []  # told the log position after each save

    def construct_mapper(self) -> KeyedMapper:
        """Events are stored with an HMAC of their chain under the chain key (domain/chain.py)."""
        return keyed_mapper(self)

    def _notify(self, recordings: list[Any]) -> None:
        super()._notify(recordings)
        if recordings:
            for listener in self.on_saved:
                listener(recordings[-1].notification.id)

    def _record(self, processing_event: Any) -> list[Recording[UUID]]:
        """Stores the events; a unique-key clash with rows that are exactly ours (a retried
        insert after the commit's answer was lost) is the write having succeeded."""
        try:
            return super()._record(processing_event)
        except Taken:
            raise  # refused before any insert (domain/group_commit.py): none of it is stored
        except IntegrityError:
            events = list(processing_event.events)
            stored = [self.mapper.to_stored_event(e) for e in events]
            positions = positions_if_stored(self.recorder, stored)
            if positions is None:
                raise
        return [Recording(e, _notification(s, p)) for e, s, p in zip(events, stored, positions,
                                                                       strict=True)]  # fmt: skip

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
        seen = first.saved_version  # the version the command was decided on
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
        """Saves one aggregate; a command that changed nothing (enabling an enabled account)
        writes nothing and answers where the log stands."""
        if not aggregate.pending_events:
            head = self.recorder.max_notification_id() or 0
            return Written(aggregate.id, head, aggregate.version)
        return Written(aggregate.id, self._save(aggregate), aggregate.version)

    def _unique(self, aggregate: ChainedAggregate, claim: Claim, taken: str, field: str) -> Written:
        """Saves an aggregate with the claim on its unique key; a key taken is `taken`."""
        try:
            recordings = self.save(aggregate, claim)
        except IntegrityError:
            raise InvalidInput(taken, [field]) from None
        return Written(aggregate.id, recordings[-1].notification.id, aggregate.version)

    # -- organisations, accounts, groups, categories: set-up commands (domain/setup/) by method,
    # for callers that hold plain values; each only builds the command and calls `handle` -----
    def register_organisation(
        self,
        actor: Actor,
        name: str,
        inn: str,
        kpp: str = "",
        legal_address: str = "",
        postal_address: str = "",
    ) -> Written:
        """Builds `RegisterOrganisation` and hands it to `handle`."""
        return self.handle(actor, sp.RegisterOrganisation(name, inn, kpp, legal_address,
                                                          postal_address))  # fmt: skip

    def register_account(self, actor: Actor, login: str, display_name: str,
                         roles: tuple[Role, ...], organisation_id: UUID | None = None,
                         email: str = "", phone: str = "") -> Written:  # fmt: skip
        """Builds `RegisterAccount` and hands it to `handle`."""
        return self.handle(actor, sp.RegisterAccount(login, display_name, roles, organisation_id,
                                                     email, phone))  # fmt: skip

    def form_group(self, actor: Actor, name: str, kind: GroupKind) -> Written:
        """Builds `FormGroup` and hands it to `handle`."""
        return self.handle(actor, sp.FormGroup(name, kind))

    def appoint_group_lead(self, actor: Actor, group_id: UUID, lead_id: UUID | None) -> Written:
        """Builds `AppointGroupLead` and hands it to `handle`."""
        return self.handle(actor, sp.AppointGroupLead(group_id, lead_id))

    def add_to_group(self, actor: Actor, account_id: UUID, group_id: UUID) -> Written:
        """Builds `JoinGroup` and hands it to `handle`."""
        return self.handle(actor, sp.JoinGroup(account_id, group_id))

    def set_away(self, actor: Actor, account_id: UUID, away: bool) -> Written:
        """Builds `SetAway` and hands it to `handle`."""
        return self.handle(actor, sp.SetAway(account_id, away))

    def record_password_change(self, actor: Actor, account_id: UUID) -> Written:
        """Builds `RecordPasswordChange` and hands it to `handle`."""
        return self.handle(actor, sp.RecordPasswordChange(account_id))

    def define_category(self, actor: Actor, name_ru: str, name_en: str,
                        form: tuple[FieldSpec, ...] = (), default_group_id: UUID | None = None,
                        parent_id: UUID | None = None) -> Written:  # fmt: skip
        """Builds `DefineCategory` and hands it to `handle`."""
        return self.handle(actor, DefineCategory(name_ru, name_en, form, default_group_id,
                                                 parent_id))  # fmt: skip

    def account_by_id(self, account_id: UUID | None) -> Account:
        if account_id is None:
            raise NotFound("No such account.")
        return self._get(Account, account_id, "account")

    def _claim_owner(self, key: str) -> UUID | None:
        try:
            claim: Claim = self.repository.get(claim_id(key))
        except AggregateNotFoundError:
            return None
        return claim.owner_id

    def letter_owner(self, message_id: str) -> UUID | None:
        """The request a letter (by its Message-ID) was taken into, if it was."""
        return self._claim_owner(f"letter:{message_id}")

    def ticket_by_number(self, number: int) -> UUID | None:
        """The request with this number, from its claim: current the moment it is filed (a
        view could lag behind)."""
        return self._claim_owner(f"ticket:{number}")

    def _check_new_letter(self, message_id: str) -> None:
        owner = self.letter_owner(message_id)
        if owner is not None:
            raise AlreadyReceived(owner)

    def account_by_login(self, login: str) -> Account | None:
        try:
            claim: Claim = self.repository.get(claim_id(f"login:{login.strip().lower()}"))
        except AggregateNotFoundError:
            return None
        return self._get(Account, claim.owner_id, "account")

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
        priority: Priority | None = None,
        urgency: Urgency = Urgency.NORMAL,
        letter: str | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> FiledTicket:
        """Files a request. `letter`: the Message-ID of the letter that files it (the mail
        intake's): recorded with it, so the letter files once (`AlreadyReceived` after); the
        category's required data it lacks is asked of the requester at once."""
        check(actor, Command.FILE)
        if priority is not None and not actor.has(*WORKERS):
            raise InvalidInput("Only the support staff set the priority; say how urgent it is "
                               "for you instead.", ["priority"])  # fmt: skip
        # the category and the routing rules as stored now, in one read (domain/fresh_reads.py)
        category, routing = self.fresh.current((category_id, ROUTING_ID))
        if not isinstance(category, Category):
            raise NotFound("No such category.")
        if category.archived:
            raise InvalidInput("This category is no longer in use; pick another.", ["category"])
        values = parse_fields(category.form, fields) if letter is None else {}
        asked = tuple(f.key for f in category.form if f.required) if letter is not None else ()
        if letter is not None:
            self._check_new_letter(letter)
        if actor.id is None and contact is None:
            raise InvalidInput("Leave your name and e-mail so we can answer you.", ["contact"])
        if contact is not None:
            contact = checked_contact(contact)
        requester = actor.id if actor.has(Role.REQUESTER) else None
        ticket_id = uuid4()
        visitor_key = self.visitor_key(ticket_id) if actor.id is None else None
        key_hash = hashlib.sha256(visitor_key.encode()).hexdigest() if visitor_key else ""
        organisation_id = actor.organisation_id if requester else None
        rules = routing if isinstance(routing, Routing) else Routing.start()
        rule = rules.route(category_id, values, channel, organisation_id)
        group_id = rule.group_id if rule else category.default_group_id
        if rule is not None and rule.priority is not None:
            priority = rule.priority
        priority = priority or Priority.NORMAL
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
                    organisation_id=organisation_id,
                    contact=contact,
                    priority=priority,
                    urgency=urgency,
                    visitor_key_hash=key_hash,
                )
            except DeskError:
                self._numbers.give_back(number)  # refused: nothing was stored
                raise
            if group_id is not None:
                ticket.assign(None, group_id, None, rule)
            for attachment in attachments:  # a letter's files, saved with it
                ticket.attach(None, attachment)
            if asked:  # a letter does not fill the category's form: the requester is asked
                ticket.request_information(None, asked, (), "")
            claims = [Claim.take(f"ticket:{number}", ticket.id)]
            if letter is not None:
                claims.append(Claim.take(f"letter:{letter}", ticket.id))
            try:
                recordings = self.save(*claims, ticket)
            except IntegrityError:
                if letter is not None:
                    self._check_new_letter(letter)  # another intake took this letter in
                self._numbers.conflicted()  # another process took it: read its claim
                continue
            position = recordings[-1].notification.id
            return FiledTicket(ticket.id, position, ticket.version, number, visitor_key)
        raise Conflict(ticket_id, None, 0)

    def register_call(self, actor: Actor, call: RegisterCall) -> FiledTicket:
        """Line 1 files a phone call for its caller, resolved or escalated in the same save."""
        return register_call(self, actor, call)

    def routing(self) -> Routing:
        return Routing.load(self.repository)

    def _routing_rule(self, category_id: UUID, fields: dict[str, Any], channel: Channel,
                      organisation_id: UUID | None) -> Rule | None:  # fmt: skip
        return self.routing().route(category_id, fields, channel, organisation_id)

    def set_routing_rules(self, actor: Actor, rules: tuple[Rule, ...],
                          expected_version: int | None = None) -> Written:  # fmt: skip
        """Builds `SetRoutingRules` and hands it to `handle`."""
        return self.handle(actor, SetRoutingRules(rules, expected_version))

    def visitor_key(self, ticket_id: UUID) -> str:
        """The private link's key of an anonymous request (domain/links.py): letters carry it."""
        return derived_visitor_key(self.link_secret, ticket_id)

    def visitor(self, ticket_id: UUID, key: str) -> Actor:
        """The anonymous requester holding a ticket's private link; NotFound for a wrong key."""
        ticket = self._get(Ticket, ticket_id, "request")
        given = hashlib.sha256(key.encode()).hexdigest()
        if not ticket.visitor_key_hash or not (
            hmac.compare_digest(given, ticket.visitor_key_hash)  # the key shown at filing
            or hmac.compare_digest(key.encode(), self.visitor_key(ticket.id).encode())
        ):  # or the derived one a letter carries (the same for requests filed since issue 16)
            raise NotFound("No such request.")
        return Actor.visitor(ticket.id)

    def _next_number(self) -> int:
        return self._numbers.next()

    def _give_back_number(self, number: int) -> None:
        self._numbers.give_back(number)

    def ticket(self, actor: Actor, ticket_id: UUID) -> Ticket:
        ticket = self._get(Ticket, ticket_id, "request")
        if not may_see(actor, TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id)):
            raise NotFound("No such request.")
        return ticket
