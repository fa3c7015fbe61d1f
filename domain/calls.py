"""Phone calls: line 1 registers a consultation as a request on the caller's behalf (issue 16).

`RegisterCall` is data, as the edges send it (the "Register a call" page, `POST /api/v1/calls`);
`register_call` (called by `Desk.register_call`) files it in one atomic save: the request
(channel phone, `raised_by` the member of staff who took the call), its routing, and, when the
question was answered on the call, its resolution (so first-contact resolution counts it), or
its escalation to a line 2 group. The requester of an account holder's call is that account, so
he sees it in his cabinet and is asked for his rating; another caller is a contact (name,
e-mail, phone), the e-mail the CSI survey goes to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from domain.access import CALL_TAKERS, Actor
from domain.category import Category, parse_fields
from domain.claim import Claim
from domain.errors import Conflict, DeskError, Forbidden, InvalidInput, NotFound
from domain.people import Account, Group, Organisation, Role
from domain.phones import checked_phone
from domain.results import FiledTicket
from domain.routing import Rule
from domain.ticket import Channel, Contact, Priority, Ticket

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")

REFUSED = Forbidden("Only the support staff register calls.")


@dataclass(frozen=True)
class RegisterCall:
    """A call line 1 took: who called (an account, or a contact), about what, and its outcome:
    `resolution` (answered on the call), `escalate_to` (a line 2 group, with a `reason`), or
    neither (left open in the queue it is routed to)."""

    category_id: UUID
    subject: str
    description: str
    fields: dict[str, Any] = field(default_factory=dict)
    caller_id: UUID | None = None  # the caller's account (a requester)
    contact_name: str = ""  # a caller without an account
    contact_email: str = ""
    phone: str = ""  # the number the call came from
    organisation_id: UUID | None = None  # a contact's organisation; an account's is its own
    priority: Priority | None = None
    resolution: str | None = None
    escalate_to: UUID | None = None
    reason: str = ""  # why it goes to line 2


class Ports(Protocol):
    """What registering a call asks of the desk."""

    _numbers: Any  # domain/numbers.py TicketNumbers

    def save(self, *aggregates: Any) -> Any: ...
    def _get(self, cls: Any, aggregate_id: UUID, what: str) -> Any: ...
    def _next_number(self) -> int: ...
    def _give_back_number(self, number: int) -> None: ...
    def _routing_rule(self, category_id: UUID, fields: dict[str, Any], channel: Channel,
                      organisation_id: UUID | None) -> Rule | None: ...  # fmt: skip


def check_call_taker(actor: Actor) -> None:
    """Only a signed-in worker (line 1 and up) registers calls; requesters never."""
    if actor.id is None or not actor.has(*CALL_TAKERS):
        raise REFUSED


def _get(desk: Ports, cls: Any, aggregate_id: UUID, what: str, field_name: str) -> Any:
    """The aggregate, or InvalidInput naming the field (a bad id in a form is bad input)."""
    try:
        return desk._get(cls, aggregate_id, what)
    except NotFound as e:
        raise InvalidInput(e.message, [field_name]) from None


def _caller(desk: Ports, c: RegisterCall) -> tuple[UUID | None, UUID | None, Contact | None]:
    """The requester, the organisation and the contact the request is filed with."""
    if c.caller_id is not None:
        account: Account = _get(desk, Account, c.caller_id, "account", "caller")
        if Role.REQUESTER not in account.roles:
            raise InvalidInput("The caller must be a requester's account.", ["caller"])
        if account.disabled:
            raise InvalidInput("The caller's account is disabled.", ["caller"])
        if c.organisation_id is not None and c.organisation_id != account.organisation_id:
            raise InvalidInput("The caller belongs to another organisation.", ["organisation"])
        return account.id, account.organisation_id, None
    name, email = c.contact_name.strip(), c.contact_email.strip()
    if not name or len(name) > 200:
        raise InvalidInput("Name the caller, or pick his account.", ["contact_name"])
    if email and not EMAIL.fullmatch(email):
        raise InvalidInput("Give an e-mail address like name@example.ru.", ["contact_email"])
    if not email and not c.phone.strip():
        raise InvalidInput("Give the caller's e-mail or phone.", ["contact_email"])
    if c.organisation_id is not None:
        _get(desk, Organisation, c.organisation_id, "organisation", "organisation")
    return None, c.organisation_id, Contact(name, email)


def register_call(desk: Ports, actor: Actor, c: RegisterCall) -> FiledTicket:
    """Files the call: Filed (+ Assigned by routing, or to the agent who answered it) (+
    Resolved | Escalated), with the number's claim, in one save; a refusal writes nothing."""
    check_call_taker(actor)
    assert actor.id is not None
    if c.resolution is not None and c.escalate_to is not None:
        raise InvalidInput("Either resolve the call or escalate it, not both.",
                           ["resolution", "escalate_to"])  # fmt: skip
    if c.resolution is not None and not c.resolution.strip():
        raise InvalidInput("Write the answer given on the call.", ["resolution"])
    if c.escalate_to is not None and not c.reason.strip():
        raise InvalidInput("Say what line 2 should do.", ["reason"])
    phone = checked_phone(c.phone)
    requester, organisation, contact = _caller(desk, c)
    category: Category = _get(desk, Category, c.category_id, "category", "category")
    if category.archived:
        raise InvalidInput("This category is no longer in use; pick another.", ["category"])
    values = parse_fields(category.form, c.fields)
    line2: Group | None = None
    if c.escalate_to is not None:
        line2 = _get(desk, Group, c.escalate_to, "group", "escalate_to")
        if line2.kind.line != 2:
            raise InvalidInput("Escalate a call to a line 2 group.", ["escalate_to"])
    rule = desk._routing_rule(c.category_id, values, Channel.PHONE, organisation)
    group_id = rule.group_id if rule else category.default_group_id
    priority = (rule.priority if rule and rule.priority else None) or c.priority
    ticket_id = uuid4()
    for _ in range(50):
        number = desk._next_number()
        try:
            ticket = Ticket.file(
                ticket_id=ticket_id, number=number, channel=Channel.PHONE,
                category_id=c.category_id, subject=c.subject, description=c.description,
                fields=values, requester_id=requester, organisation_id=organisation,
                contact=contact, priority=priority or Priority.NORMAL, raised_by=actor.id,
                caller_phone=phone,
            )  # fmt: skip
            if c.resolution is not None:  # the agent who answered it owns it
                ticket.assign(actor.id, group_id, actor.id)
                ticket.resolve(actor.id, c.resolution)
            else:
                if group_id is not None:
                    ticket.assign(None, group_id, None, rule)
                if line2 is not None:
                    ticket.escalate(actor.id, line2.id, 2, c.reason)
        except DeskError:
            desk._give_back_number(number)  # refused: nothing was stored
            raise
        try:
            recordings = desk.save(Claim.take(f"ticket:{number}", ticket.id), ticket)
        except IntegrityError:
            desk._numbers.conflicted()  # another process took the number: read its claim
            continue
        return FiledTicket(ticket.id, recordings[-1].notification.id, ticket.version, number)
    raise Conflict(ticket_id, None, 0)
