"""The ticket commands: each one's data and, right below it, its handler.

A command is a frozen dataclass naming the ticket, the version its sender saw, and what he
asks for; `policy` is the access policy's Command it needs, `api` its path segment under
/api/v1/tickets/{id}/ and `actions` the names of the staff page's forms that send it. A handler
only decides: the dispatcher (domain/tickets/dispatch.py) has already checked the policy, loaded
the ticket and compared versions, and saves what the handler changed. Adding a command: see
docs/architecture.md, "Adding a ticket command".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID, uuid4

from domain.access import Actor, Command, TicketScope, may_see
from domain.article import Article
from domain.category import Category, parse_fields
from domain.chain import ChainedAggregate
from domain.claim import Claim
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.mentions import directory
from domain.people import Account, Group, Role, clean_text
from domain.ticket import Attachment, LinkKind, Priority, Status, TemplateUse, Ticket

A = TypeVar("A", bound=ChainedAggregate)


@dataclass(frozen=True)
class TicketCommand:
    """What every ticket command carries; `expected_version` None: decided on the latest."""

    ticket_id: UUID
    expected_version: int | None

    policy: ClassVar[Command]
    api: ClassVar[str | None] = None  # not sent through the JSON API when None
    actions: ClassVar[tuple[str, ...]] = ()
    versioned: ClassVar[bool] = True  # False: the version the sender saw is not compared


class Ports(Protocol):
    """What handlers may ask of the desk besides the ticket they were given."""

    def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...
    def _check_template(self, use: TemplateUse) -> Article: ...
    def render_template(
        self, actor: Actor, template_id: UUID, ticket_id: UUID, language: str = "ru"
    ) -> tuple[str, TemplateUse, Article]: ...
    def ticket_for(self, actor: Actor, command: Command, ticket_id: UUID) -> Ticket: ...
    def _check_new_letter(self, message_id: str) -> None: ...
    def _next_number(self) -> int: ...

    events: Any  # the event store: a ticket's events by version


C = TypeVar("C", bound=TicketCommand)
# A handler changes the ticket and returns the other aggregates to save with it, if any.
Handler = Callable[[Ports, Actor, Ticket, Any], tuple[ChainedAggregate, ...]]
HANDLERS: dict[type[TicketCommand], Handler] = {}


def handles(kind: type[C]) -> Callable[[Callable[[Ports, Actor, Ticket, C], tuple[ChainedAggregate, ...]]], Handler]:  # fmt: skip  # noqa: E501
    """Registers the handler of one command type (once: a second registration is a bug)."""

    def register(handler: Callable[[Ports, Actor, Ticket, C], tuple[ChainedAggregate, ...]]
                 ) -> Handler:  # fmt: skip
        assert kind not in HANDLERS, f"{kind.__name__} has a handler already"
        HANDLERS[kind] = handler
        return handler

    return register


def who(actor: Actor) -> UUID:
    """The signed-in actor's id; staff commands are never sent by a visitor."""
    if actor.id is None:
        raise Forbidden("Sign in to do this.")
    return actor.id


NOTHING: tuple[ChainedAggregate, ...] = ()


# -- conversation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplyToTicket(TicketCommand):
    body: str
    attachments: tuple[Attachment, ...] = ()
    template: TemplateUse | None = None

    policy = Command.REPLY
    api, actions = "replies", ("reply",)


@handles(ReplyToTicket)
def reply(desk: Ports, actor: Actor, t: Ticket, c: ReplyToTicket) -> tuple[ChainedAggregate, ...]:
    if c.template is not None:
        desk._check_template(c.template)
    t.reply(who(actor), c.body, c.attachments, c.template)
    return NOTHING


@dataclass(frozen=True)
class WriteMessage(TicketCommand):
    """The requester's (or the private link's holder's) message."""

    body: str
    attachments: tuple[Attachment, ...] = ()

    policy = Command.WRITE
    api = "messages"


@handles(WriteMessage)
def write(desk: Ports, actor: Actor, t: Ticket, c: WriteMessage) -> tuple[ChainedAggregate, ...]:
    t.write_as_requester(actor.id, c.body, c.attachments)
    return NOTHING


@dataclass(frozen=True)
class AddNote(TicketCommand):
    body: str
    attachments: tuple[Attachment, ...] = ()

    policy = Command.NOTE
    api, actions = "notes", ("note",)


@handles(AddNote)
def note(desk: Ports, actor: Actor, t: Ticket, c: AddNote) -> tuple[ChainedAggregate, ...]:
    """`@login` and `@group-handle` in the note name staff to consult (domain/mentions.py):
    the event records them; unknown handles, requesters and the author are left out."""
    named = directory(desk).resolve(c.body, actor.id)
    role = "curator" if actor.has(Role.CURATOR) else ""  # marked as the curator's (issue 18)
    t.add_note(who(actor), c.body, c.attachments, named.accounts, named.handles, role)
    return NOTHING


@dataclass(frozen=True)
class Attach(TicketCommand):
    attachment: Attachment

    policy = Command.ATTACH


@handles(Attach)
def attach(desk: Ports, actor: Actor, t: Ticket, c: Attach) -> tuple[ChainedAggregate, ...]:
    if c.attachment.internal and not actor.is_staff:
        raise Forbidden("Only staff may add internal attachments.")
    t.attach(actor.id, c.attachment)
    return NOTHING


# -- information -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestInformation(TicketCommand):
    fields: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    message: str = ""
    template: TemplateUse | None = None

    policy = Command.REQUEST_INFO
    api, actions = "information-requests", ("request-info",)


@handles(RequestInformation)
def request_information(desk: Ports, actor: Actor, t: Ticket, c: RequestInformation
                        ) -> tuple[ChainedAggregate, ...]:  # fmt: skip
    fields, questions, message = c.fields, c.questions, c.message
    if c.template is not None:  # an information-request template supplies what is left out
        used = desk._check_template(c.template).published
        assert used is not None
        fields, questions = fields or used.fields, questions or used.questions
        if not message.strip():
            message, _, _ = desk.render_template(actor, c.template.article_id, t.id)
    category = desk._get(Category, t.category_id, "category")
    unknown = [f for f in fields if category.spec(f) is None]
    if unknown:
        raise InvalidInput(f"Not fields of this category: {', '.join(unknown)}.", unknown)
    t.request_information(who(actor), fields, questions, message, c.template)
    return NOTHING


@dataclass(frozen=True)
class ProvideInformation(TicketCommand):
    values: dict[str, Any] = field(default_factory=dict)
    answers: tuple[str, ...] = ()

    policy = Command.PROVIDE_INFO
    api = "information"


@handles(ProvideInformation)
def provide_information(desk: Ports, actor: Actor, t: Ticket, c: ProvideInformation
                        ) -> tuple[ChainedAggregate, ...]:  # fmt: skip
    category = desk._get(Category, t.category_id, "category")
    parsed = parse_fields(category.form, c.values, only=t.requested_fields)
    t.provide_information(actor.id, parsed, c.answers)
    return NOTHING


# -- who works it ------------------------------------------------------------------------------
def _check_destination(desk: Ports, group_id: UUID | None, assignee_id: UUID | None) -> None:
    if group_id is not None:
        desk._get(Group, group_id, "group")
    if assignee_id is not None:
        agent = desk._get(Account, assignee_id, "agent")
        if agent.disabled or (Role.REQUESTER in agent.roles and len(agent.roles) == 1):
            raise InvalidInput("Requests can be assigned only to active staff.", ["assignee"])


@dataclass(frozen=True)
class Assign(TicketCommand):
    group_id: UUID | None = None
    assignee_id: UUID | None = None

    policy = Command.ASSIGN
    api, actions = "assignment", ("assign", "take")  # take: the sender assigns himself


@handles(Assign)
def assign(desk: Ports, actor: Actor, t: Ticket, c: Assign) -> tuple[ChainedAggregate, ...]:
    _check_destination(desk, c.group_id, c.assignee_id)
    t.assign(actor.id, c.group_id, c.assignee_id)
    return NOTHING


@dataclass(frozen=True)
class Transfer(TicketCommand):
    group_id: UUID
    reason: str
    assignee_id: UUID | None = None

    policy = Command.TRANSFER
    api, actions = "transfers", ("transfer",)


@handles(Transfer)
def transfer(desk: Ports, actor: Actor, t: Ticket, c: Transfer) -> tuple[ChainedAggregate, ...]:
    _check_destination(desk, c.group_id, c.assignee_id)
    t.transfer(who(actor), c.group_id, c.assignee_id, c.reason)
    return NOTHING


@dataclass(frozen=True)
class Escalate(TicketCommand):
    group_id: UUID
    reason: str

    policy = Command.ESCALATE
    api, actions = "escalations", ("escalate",)


@handles(Escalate)
def escalate(desk: Ports, actor: Actor, t: Ticket, c: Escalate) -> tuple[ChainedAggregate, ...]:
    group = desk._get(Group, c.group_id, "group")
    t.escalate(actor.id, c.group_id, group.kind.line or 0, c.reason)
    return NOTHING


@dataclass(frozen=True)
class ChangePriority(TicketCommand):
    priority: Priority
    reason: str = ""

    policy = Command.PRIORITY
    api, actions = "priority", ("priority",)


@handles(ChangePriority)
def change_priority(desk: Ports, actor: Actor, t: Ticket, c: ChangePriority
                    ) -> tuple[ChainedAggregate, ...]:  # fmt: skip
    t.change_priority(who(actor), c.priority, c.reason)
    return NOTHING


@dataclass(frozen=True)
class ChangeCategory(TicketCommand):
    category_id: UUID
    reason: str

    policy = Command.CATEGORY
    api, actions = "category", ("category",)


@handles(ChangeCategory)
def change_category(desk: Ports, actor: Actor, t: Ticket, c: ChangeCategory
                    ) -> tuple[ChainedAggregate, ...]:  # fmt: skip
    try:
        category = desk._get(Category, c.category_id, "category")
    except NotFound:
        raise InvalidInput("No such category.", ["category"]) from None
    if category.archived:
        raise InvalidInput("This category is no longer in use; pick another.", ["category"])
    t.change_category(who(actor), c.category_id, c.reason)
    return NOTHING


# -- tags (staff only) -------------------------------------------------------------------------
@dataclass(frozen=True)
class AddTag(TicketCommand):
    """A staff label on the request (trimmed, lower-cased: domain/tickets/values.py
    `clean_tag`); unversioned: a tag is added to the request as it stands."""

    tag: str

    policy = Command.TAG
    api, actions = "tags", ("tag",)
    versioned = False


@handles(AddTag)
def add_tag(desk: Ports, actor: Actor, t: Ticket, c: AddTag) -> tuple[ChainedAggregate, ...]:
    t.add_tag(who(actor), c.tag)
    return NOTHING


@dataclass(frozen=True)
class RemoveTag(TicketCommand):
    tag: str

    policy = Command.TAG
    api, actions = "tag-removal", ("untag",)
    versioned = False


@handles(RemoveTag)
def remove_tag(desk: Ports, actor: Actor, t: Ticket, c: RemoveTag) -> tuple[ChainedAggregate, ...]:
    t.remove_tag(who(actor), c.tag)
    return NOTHING


# -- merge and split (issue 18) ----------------------------------------------------------------
@dataclass(frozen=True)
class MergeInto(TicketCommand):
    """Closes this request as a repeat of `other_id` (the ticket this command names is the one
    merged away). `message`, when given, is a public reply to its requester first."""

    other_id: UUID
    message: str = ""

    policy = Command.MERGE
    api, actions = "merge", ("merge",)


@handles(MergeInto)
def merge(desk: Ports, actor: Actor, t: Ticket, c: MergeInto) -> tuple[ChainedAggregate, ...]:
    into = desk.ticket_for(actor, c.policy, c.other_id)  # refused where the actor may not
    follow = t.requester_id is not None and may_see(
        Actor(t.requester_id, frozenset({Role.REQUESTER}), t.organisation_id),
        TicketScope(into.id, into.requester_id, into.organisation_id),
    )  # his requester is told the other's number only when he may open it
    t.merge_into(who(actor), into, follow, c.message)
    return (into,)


SPLIT_FROM = ("Filed", "RequesterWrote")  # the requester's own words


@dataclass(frozen=True)
class SplitOff(TicketCommand):
    """Files a new request for the same requester from one of his entries (its `entry` version):
    its text the new description, `subject` its subject, the files he sent with it attached
    (as his); both requests record the link."""

    entry: int
    subject: str

    policy = Command.SPLIT
    api, actions = "split", ("split",)
    versioned = False


@handles(SplitOff)
def split(desk: Ports, actor: Actor, t: Ticket, c: SplitOff) -> tuple[ChainedAggregate, ...]:
    found = list(desk.events.get(t.id, gt=c.entry - 1, lte=c.entry)) if c.entry > 0 else []
    entry = found[0] if found else None
    if entry is None or type(entry).__name__ not in SPLIT_FROM:
        raise InvalidInput("Only the requester's own message can become a request of its own.",
                           ["entry"])  # fmt: skip
    text = entry.description if isinstance(entry, Ticket.Filed) else entry.body
    t.check_not_closed()
    clean_text(c.subject, "subject")  # refused before a number is taken
    new = Ticket.file(
        ticket_id=uuid4(), number=desk._next_number(), channel=t.channel,
        category_id=t.category_id, subject=c.subject, description=text, fields=dict(t.fields),
        requester_id=t.requester_id, organisation_id=t.organisation_id, contact=t.contact,
        priority=t.priority, visitor_key_hash=t.visitor_key_hash, urgency=t.urgency,
    )  # fmt: skip
    if t.group_id is not None:
        new.assign(None, t.group_id, None)
    for attachment in _files_of(desk, t, entry):  # the requester's files go along, as his
        new.attach(t.requester_id, attachment)
    t.split_off(who(actor), c.entry, new)
    return (new, Claim.take(f"ticket:{new.number}", new.id))


def _files_of(desk: Ports, t: Ticket, entry: Any) -> tuple[Attachment, ...]:
    """The files the requester sent with `entry`: a message's own; for the filing, the files
    the requester's side attached after it (the form uploads them one by one once the request
    is filed) up to his next message. Never an internal file (the staff's, or one marked so)."""
    if isinstance(entry, Ticket.RequesterWrote):
        return tuple(a for a in entry.attachments if not a.internal)
    found: list[Attachment] = []
    for e in desk.events.get(t.id, gt=entry.originator_version):
        if isinstance(e, Ticket.RequesterWrote | Ticket.InformationProvided):
            break
        if isinstance(e, Ticket.AttachmentAdded) and e.by in (None, t.requester_id) \
                and not e.attachment.internal:  # fmt: skip
            found.append(e.attachment)
    return tuple(found)


# -- outcome -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolve(TicketCommand):
    resolution: str

    policy = Command.RESOLVE
    api, actions = "resolution", ("resolve",)


@handles(Resolve)
def resolve(desk: Ports, actor: Actor, t: Ticket, c: Resolve) -> tuple[ChainedAggregate, ...]:
    t.resolve(who(actor), c.resolution)
    return NOTHING


@dataclass(frozen=True)
class Reopen(TicketCommand):
    reason: str

    policy = Command.REOPEN
    api, actions = "reopening", ("reopen",)


@handles(Reopen)
def reopen(desk: Ports, actor: Actor, t: Ticket, c: Reopen) -> tuple[ChainedAggregate, ...]:
    t.reopen(actor.id, c.reason)
    return NOTHING


@dataclass(frozen=True)
class Close(TicketCommand):
    reason: str = ""

    policy = Command.CLOSE
    api, actions = "closing", ("close",)


@handles(Close)
def close(desk: Ports, actor: Actor, t: Ticket, c: Close) -> tuple[ChainedAggregate, ...]:
    t.close(actor.id, c.reason)
    return NOTHING


@dataclass(frozen=True)
class Rate(TicketCommand):
    score: int
    comment: str = ""

    policy = Command.RATE
    api = "rating"


@handles(Rate)
def rate(desk: Ports, actor: Actor, t: Ticket, c: Rate) -> tuple[ChainedAggregate, ...]:
    t.rate(who(actor), c.score, c.comment)
    return NOTHING


@dataclass(frozen=True)
class Link(TicketCommand):
    """Links two requests both ways, atomically (decided on both as they stand now)."""

    other_id: UUID
    kind: LinkKind = LinkKind.RELATED

    policy = Command.LINK
    api, actions = "links", ("link",)
    versioned = False


@handles(Link)
def link(desk: Ports, actor: Actor, t: Ticket, c: Link) -> tuple[ChainedAggregate, ...]:
    other = desk.ticket_for(actor, c.policy, c.other_id)
    t.link(actor.id, other.id, c.kind)
    back = LinkKind.KNOWLEDGE_GAP if c.kind is LinkKind.KNOWLEDGE_GAP else LinkKind.RELATED
    other.link(actor.id, t.id, back)
    return (other,)


# -- what the processes send (as the system actor; never from an edge: no api, no actions) ----
SYSTEM = Actor(id=None, roles=frozenset({Role.ADMIN}))  # what processes and set-up act as


class Unchanged(Exception):  # a signal, not a refusal
    """A process command found nothing left to do: the dispatcher saves nothing. Processes
    repeat their commands after a restart or a lagging view, so this is their normal answer."""


@dataclass(frozen=True)
class AssignAutomatically(TicketCommand):
    """The assigner's pick; assigns only a request still unassigned, open, in that group."""

    group_id: UUID
    assignee_id: UUID

    policy = Command.ASSIGN
    versioned = False


@handles(AssignAutomatically)
def assign_automatically(desk: Ports, actor: Actor, t: Ticket, c: AssignAutomatically
                         ) -> tuple[ChainedAggregate, ...]:  # fmt: skip
    if t.group_id != c.group_id or t.assignee_id is not None or t.status not in (
            Status.NEW, Status.OPEN):  # fmt: skip
        raise Unchanged  # someone acted meanwhile
    t.assign(actor.id, c.group_id, c.assignee_id)
    return NOTHING


BREACH_REASON = "SLA: the resolution target passed"


@dataclass(frozen=True)
class RaiseSlaAlarm(TicketCommand):
    """An SLA warning or breach, once per kind and deadline; a resolution breach also escalates
    to `escalate_to` when that group is the next line."""

    alarm: str
    due: datetime
    policy_name: str
    escalate_to: UUID | None = None

    policy = Command.ESCALATE
    versioned = False


@handles(RaiseSlaAlarm)
def raise_sla_alarm(desk: Ports, actor: Actor, t: Ticket, c: RaiseSlaAlarm
                    ) -> tuple[ChainedAggregate, ...]:  # fmt: skip
    if t.status in (Status.RESOLVED, Status.CLOSED) or not t.raise_sla_alarm(
            c.alarm, c.due, c.policy_name):  # fmt: skip
        raise Unchanged  # answered meanwhile, or raised already
    if c.alarm == "resolution_breach" and c.escalate_to is not None and t.line < 3:
        line = desk._get(Group, c.escalate_to, "group").kind.line
        if line == t.line + 1:
            t.escalate(actor.id, c.escalate_to, line, BREACH_REASON)
    return NOTHING


@dataclass(frozen=True)
class CloseUnanswered(TicketCommand):
    """Closes a request left resolved; a reopened one is left alone."""

    reason: str

    policy = Command.CLOSE
    versioned = False


@handles(CloseUnanswered)
def close_unanswered(desk: Ports, actor: Actor, t: Ticket, c: CloseUnanswered
                     ) -> tuple[ChainedAggregate, ...]:  # fmt: skip
    if t.status is not Status.RESOLVED:
        raise Unchanged
    t.close(actor.id, c.reason)
    return NOTHING


# -- letters (the mail intake's, as the system) -------------------------------------------------
LETTER_REOPENS = "Reopened by a letter from the requester's side."


@dataclass(frozen=True)
class ReceiveLetter(TicketCommand):
    """A letter that threads into the request: the requester's message, by whoever of his side
    sent it (`sender_id` when the address is an account's). Recorded once per Message-ID: its
    claim is saved with it. A resolved request is reopened by it; a closed one takes nothing
    (the intake files a new request, related to it)."""

    letter_id: str  # the Message-ID
    sender: str  # the From address
    sender_id: UUID | None
    body: str
    quoted: str = ""
    attachments: tuple[Attachment, ...] = ()

    policy = Command.RECEIVE_LETTER
    versioned = False


@handles(ReceiveLetter)
def receive_letter(desk: Ports, actor: Actor, t: Ticket, c: ReceiveLetter
                   ) -> tuple[ChainedAggregate, ...]:  # fmt: skip
    desk._check_new_letter(c.letter_id)
    if t.status is Status.RESOLVED:
        t.reopen(c.sender_id, LETTER_REOPENS)
    t.write_as_requester(c.sender_id, c.body, c.attachments, sender=c.sender, quoted=c.quoted)
    return (Claim.take(f"letter:{c.letter_id}", t.id),)


# -- the registry: every command by its API segment and by its form's name --------------------
COMMANDS: tuple[type[TicketCommand], ...] = tuple(HANDLERS)
BY_API: dict[str, type[TicketCommand]] = {c.api: c for c in COMMANDS if c.api}
BY_ACTION: dict[str, type[TicketCommand]] = {a: c for c in COMMANDS for a in c.actions}
