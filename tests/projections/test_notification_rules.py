"""Who is told what (projections/notifications.py `told`), without a store: every Ticket event
class and every MassIncident event class is built with realistic values and run through the
rules. Internal events tell no requester anything; only an allow-list of events and kinds ever
reaches one; a new event class nobody classified fails here."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import incidents, ticket
from domain.access import Actor, Visibility, event_visibility
from domain.chain import ChainedAggregate
from domain.incidents import Criteria, MassIncident
from domain.notifications import REQUESTER_KINDS, Kind
from domain.people import Role
from domain.ticket import Attachment, Channel, Contact, Priority, Ticket, TicketKind
from projections.notifications import QUIET, TICKET_RULES, Recipient, Request, Told, told

REQUESTER, AGENT, COLLEAGUE, LEAD, DEV = (uuid4() for _ in range(5))
GROUP = uuid4()
STAFF = {AGENT, COLLEAGUE, LEAD, DEV}
# The events a requester may be told of, and the kinds: anything else reaching him fails.
REQUESTER_EVENTS = {"Filed", "Replied", "InformationRequested", "Resolved", "Reopened"}
REQUESTER_SIDE = {"RequesterWrote", "InformationProvided", "Rated", "Reopened"}  # by him


class Directory:
    def lead_of(self, group_id: UUID) -> UUID | None:
        return LEAD if group_id == GROUP else None

    def alerted(self, group_ids: tuple[UUID, ...]) -> list[UUID]:
        return [COLLEAGUE] if group_ids else [DEV]

    def is_staff(self, account: UUID) -> bool:
        return account in STAFF


def request(**changes: Any) -> Request:
    base = Request(uuid4(), 1042, "Контракт не публикуется", TicketKind.REQUEST, Channel.CABINET,
                   REQUESTER, "", "", AGENT, GROUP)  # fmt: skip
    return dataclasses.replace(base, **changes)


def event_classes(owner: type) -> list[type]:
    return [c for n, c in vars(owner).items() if n not in ("Event", "Created")
            and isinstance(c, type) and issubclass(c, ChainedAggregate.Event)]  # fmt: skip


def value(name: str, kind: Any, cls: type) -> Any:
    """A realistic value for a field of an event."""
    if name == "by":
        return REQUESTER if cls.__name__ in REQUESTER_SIDE else COLLEAGUE
    if name == "alarm":
        return "resolution_breach"
    if name == "mentions":
        return (AGENT, REQUESTER)  # a requester mentioned in a note is still not told
    if name in ("assignee_id", "to_assignee_id", "requester_id", "lead_id"):
        return AGENT if name != "requester_id" else REQUESTER
    if typing.get_origin(kind) in (typing.Union, UnionType):
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    origin = typing.get_origin(kind)
    if origin is tuple:
        inner = typing.get_args(kind)[0]
        return () if inner is Attachment else (value(name, inner, cls),)
    if origin is dict:
        return {}
    simple: dict[Any, Any] = {
        UUID: uuid4(), str: "текст", int: 3, bool: True, datetime: datetime.now(UTC),
        Decimal: Decimal("1.5"), Channel: Channel.EMAIL, Priority: Priority.NORMAL,
        TicketKind: TicketKind.REQUEST, Criteria: Criteria(),
        Contact: Contact("Анна", "anna@org.ru"),
    }  # fmt: skip
    if kind in simple:
        return simple[kind]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return next(iter(kind))
    if dataclasses.is_dataclass(kind):
        return None
    raise AssertionError(f"no value for {cls.__name__}.{name}: {kind}")


def build(cls: type) -> Any:
    module = ticket if cls.__qualname__.startswith("Ticket.") else incidents
    args: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in ("originator_id", "originator_version", "timestamp", "chain"):
            continue
        kind = f.type if not isinstance(f.type, str) else eval(f.type, vars(module))
        args[f.name] = value(f.name, kind, cls)
    return cls(originator_id=uuid4(), originator_version=2, timestamp=datetime.now(UTC),
               chain="", **args)  # fmt: skip


ALL = [*event_classes(Ticket), *event_classes(MassIncident)]


@pytest.mark.parametrize("cls", ALL, ids=[c.__qualname__ for c in ALL])
def test_every_event_is_classified_and_internal_ones_tell_no_requester(cls: type) -> None:
    assert cls in TICKET_RULES or cls in QUIET or cls is MassIncident.Proposed, (
        f"{cls.__qualname__} is new: say in projections/notifications.py who is told of it"
    )
    event = build(cls)
    for r in (request(), request(requester_id=None, contact_email="anna@org.ru"),
              request(also=("boss@org.ru",))):  # fmt: skip
        found = told(event, r, Directory())
        to_requesters = [t for t in found if t.to.requester]
        name = cls.__name__
        seen_as = event_visibility(Actor(REQUESTER, frozenset({Role.REQUESTER})), name,
                                   dataclasses.asdict(event))  # fmt: skip
        requester_sees = seen_as is not Visibility.HIDDEN
        if not requester_sees or cls.__qualname__.startswith("MassIncident."):
            assert not to_requesters, f"internal {name} reached a requester"
        if to_requesters:
            assert name in REQUESTER_EVENTS, f"{name} is not on the requester allow-list"
            assert {t.kind for t in to_requesters} <= set(REQUESTER_KINDS)
        for t in found:
            assert t.to.requester or t.to.account in STAFF, f"{name}: staff news to outside"
            by = getattr(event, "by", None)
            assert t.to.account is None or t.to.account != by, f"{name} told its own actor"


def test_the_requester_is_told_of_replies_information_requests_resolution_and_reopening() -> None:
    r = request(also=("boss@org.ru",))
    for cls, kind in ((Ticket.Replied, Kind.REPLIED), (Ticket.Resolved, Kind.RESOLVED),
                      (Ticket.InformationRequested, Kind.INFORMATION_REQUESTED),
                      (Ticket.Reopened, Kind.REOPENED)):  # fmt: skip
        assert told(dataclasses.replace(build(cls), by=COLLEAGUE), r, Directory()) == [
            Told(kind, Recipient(REQUESTER, requester=True)),
            Told(kind, Recipient(None, "boss@org.ru", requester=True)),
        ], cls.__name__
    anonymous = request(requester_id=None, contact_email="anna@org.ru")
    assert told(build(Ticket.Replied), anonymous, Directory()) == [
        Told(Kind.REPLIED, Recipient(None, "anna@org.ru", requester=True))
    ]


def test_acknowledgement_by_channel_and_never_for_a_gap() -> None:
    filed = build(Ticket.Filed)
    for channel in (Channel.EMAIL, Channel.PUBLIC_FORM, Channel.CABINET):
        assert [t.kind for t in told(filed, request(channel=channel), Directory())] == [
            Kind.ACKNOWLEDGED
        ]
    for channel in (Channel.API, Channel.PHONE):
        assert told(filed, request(channel=channel), Directory()) == []
    assert told(filed, request(kind=TicketKind.KNOWLEDGE_GAP), Directory()) == []


def test_staff_rules() -> None:
    d = Directory()
    assigned = dataclasses.replace(build(Ticket.Assigned), assignee_id=COLLEAGUE, by=AGENT)
    assert told(assigned, request(), d) == [Told(Kind.ASSIGNED, Recipient(COLLEAGUE))]
    own = dataclasses.replace(assigned, by=COLLEAGUE)  # he took it himself: nobody is told
    assert told(own, request(), d) == []
    gap = told(assigned, request(kind=TicketKind.KNOWLEDGE_GAP), d)
    assert gap == [Told(Kind.GAP_ASSIGNED, Recipient(COLLEAGUE))]
    wrote = build(Ticket.RequesterWrote)
    assert told(wrote, request(), d) == [Told(Kind.REQUESTER_ANSWERED, Recipient(AGENT))]
    assert told(wrote, request(assignee_id=None), d) == []
    breach = build(Ticket.SlaAlarmed)
    assert told(breach, request(), d) == [Told(Kind.SLA_BREACH, Recipient(AGENT))]
    warning = dataclasses.replace(breach, alarm="first_response_warning")
    assert told(warning, request(assignee_id=None), d) == [Told(Kind.SLA_WARNING, Recipient(LEAD))]
    reopened_by_him = dataclasses.replace(build(Ticket.Reopened), by=REQUESTER)
    assert told(reopened_by_him, request(), d) == [Told(Kind.REQUESTER_ANSWERED, Recipient(AGENT))]
    proposed = build(MassIncident.Proposed)
    assert told(dataclasses.replace(proposed, groups=()), None, d) == [
        Told(Kind.INCIDENT_PROPOSED, Recipient(DEV))
    ]
    assert told(proposed, None, d) == [Told(Kind.INCIDENT_PROPOSED, Recipient(COLLEAGUE))]


def test_a_note_mentions_staff_only() -> None:
    note = build(Ticket.NoteAdded)
    if not any(f.name == "mentions" for f in dataclasses.fields(Ticket.NoteAdded)):
        pytest.skip("NoteAdded has no mentions yet (the @mentions work of issue 16)")
    assert told(note, request(), Directory()) == [Told(Kind.MENTIONED, Recipient(AGENT))]
