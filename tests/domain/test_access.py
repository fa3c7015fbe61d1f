"""The access policy as an explicit matrix, what each reader sees, and the Desk enforcing it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import Actor, Command, TicketScope, Visibility, check, event_visibility, may
from domain.access import visible_data as seen_by
from domain.errors import Forbidden, NotFound
from domain.people import Role
from domain.ticket import Attachment, Priority
from domain.tickets.commands import SYSTEM
from tests.domain.support import history, refused
from tests.world import World

ORG, OTHER_ORG = uuid4(), uuid4()
REQUESTER = uuid4()
TICKET = TicketScope(uuid4(), REQUESTER, ORG)


def staff(role: Role) -> Actor:
    return Actor(uuid4(), frozenset({role}))


ACTORS: dict[str, Actor] = {
    "requester (own)": Actor(REQUESTER, frozenset({Role.REQUESTER}), ORG),
    "colleague (same org)": Actor(uuid4(), frozenset({Role.REQUESTER}), ORG),
    "other organisation": Actor(uuid4(), frozenset({Role.REQUESTER}), OTHER_ORG),
    "visitor with link": Actor.visitor(TICKET.id),
    "visitor, other link": Actor.visitor(uuid4()),
    "visitor, no link": Actor.visitor(),
    "agent": staff(Role.AGENT),
    "methodologist": staff(Role.METHODOLOGIST),
    "analyst": staff(Role.ANALYST),
    "developer": staff(Role.DEVELOPER),
    "operations": staff(Role.OPERATIONS),
    "quality": staff(Role.QUALITY),
    "curator": staff(Role.CURATOR),
    "auditor": staff(Role.AUDITOR),
    "admin": staff(Role.ADMIN),
    "the system": SYSTEM,  # what processes and the mail intake act as
}

COLUMNS = (
    Command.FILE,
    Command.REPLY,
    Command.WRITE,
    Command.NOTE,
    Command.REQUEST_INFO,
    Command.PROVIDE_INFO,
    Command.ASSIGN,
    Command.TRANSFER,
    Command.ESCALATE,
    Command.PRIORITY,
    Command.CATEGORY,
    Command.RESOLVE,
    Command.REOPEN,
    Command.CLOSE,
    Command.RATE,
    Command.LINK,
    Command.ATTACH,
    Command.RECEIVE_LETTER,
    Command.TAG,
    Command.MERGE,
    Command.SPLIT,
)
# Columns, in COLUMNS order: file, reply, write (as requester), note, request info, provide
# info, assign, transfer, escalate, priority, category, resolve, reopen, close, rate, link, attach,
# a letter threaded in (the mail intake's: the system's alone), tag, merge, split (staff work,
# issue 18).
# fmt: off
MATRIX = {
    #                        fi re wr no as an ag tr es pr ca rs ro cl ra ln at ma tg mg sp
    "requester (own)":      "Y  .  Y  .  .  Y  .  .  .  .  .  .  Y  .  Y  .  Y  .  .  .  .",
    "colleague (same org)": "Y  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
    "other organisation":   "Y  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
    "visitor with link":    ".  .  Y  .  .  Y  .  .  .  .  .  .  Y  .  .  .  Y  .  .  .  .",
    "visitor, other link":  ".  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
    "visitor, no link":     "Y  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
    "agent":                "Y  Y  .  Y  Y  .  Y  Y  Y  Y  Y  Y  Y  Y  .  Y  Y  .  Y  Y  Y",
    "methodologist":        "Y  Y  .  Y  Y  .  Y  Y  Y  Y  Y  Y  Y  Y  .  Y  Y  .  Y  Y  Y",
    "analyst":              "Y  Y  .  Y  Y  .  Y  Y  Y  Y  Y  Y  Y  Y  .  Y  Y  .  Y  Y  Y",
    "developer":            "Y  Y  .  Y  Y  .  Y  Y  Y  Y  Y  Y  Y  Y  .  Y  Y  .  Y  Y  Y",
    "operations":           "Y  Y  .  Y  Y  .  Y  Y  Y  Y  Y  Y  Y  Y  .  Y  Y  .  Y  Y  Y",
    "quality":              ".  .  .  Y  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
    "curator":              ".  .  .  Y  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
    "auditor":              ".  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
    "admin":                "Y  Y  .  Y  Y  .  Y  Y  Y  Y  Y  Y  Y  Y  .  Y  Y  .  Y  Y  Y",
    "the system":           "Y  Y  .  Y  Y  .  Y  Y  Y  Y  Y  Y  Y  Y  .  Y  Y  Y  Y  Y  Y",
}
# fmt: on
CELLS = [
    pytest.param(who, command, mark == "Y", id=f"{who}-{command.value}")
    for who, row in MATRIX.items()
    for command, mark in zip(COLUMNS, row.split(), strict=True)
]


def test_the_matrix_covers_every_actor_and_command() -> None:
    assert set(MATRIX) == set(ACTORS)
    assert set(COLUMNS) == set(Command)


@pytest.mark.parametrize(("who", "command", "allowed"), CELLS)
def test_the_access_matrix(who: str, command: Command, allowed: bool) -> None:
    actor = ACTORS[who]
    assert may(actor, command, None if command is Command.FILE else TICKET) is allowed


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        ("colleague (same org)", Forbidden),
        ("auditor", Forbidden),
        ("other organisation", NotFound),
        ("visitor, other link", NotFound),
        ("visitor, no link", NotFound),
    ],
)
def test_check_tells_invisible_from_forbidden(who: str, refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        check(ACTORS[who], Command.RESOLVE, TICKET)


# -- what each reader sees of a ticket's history ---------------------------------------------
NOW = datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
PUBLIC_FILE = Attachment("screen.png", 2048, "ab" * 32, "image/png")
INTERNAL_FILE = Attachment("server.log", 4096, "cd" * 32, "text/plain", internal=True)
EVENTS: dict[str, dict[str, Any]] = {
    "Filed": {"subject": "Контракт", "number": 1, "priority": "high", "visitor_key_hash": "ab12"},
    "Replied": {"by": uuid4(), "body": "Ответ", "attachments": (PUBLIC_FILE,)},
    "RequesterWrote": {"by": REQUESTER, "body": "Вопрос", "attachments": ()},
    "NoteAdded": {"by": uuid4(), "body": "Внутреннее", "attachments": (INTERNAL_FILE,)},
    "Assigned": {"by": uuid4(), "group_id": uuid4(), "assignee_id": uuid4()},
    "PriorityChanged": {"by": uuid4(), "priority": Priority.HIGH, "reason": "VIP"},
    "Linked": {"by": uuid4(), "other_id": uuid4(), "kind": "related"},
    "Escalated": {
        "by": uuid4(), "from_line": 1, "to_line": 2, "to_group_id": uuid4(), "reason": "Логи",
    },
    "Transferred": {
        "by": uuid4(), "from_group_id": uuid4(), "to_group_id": uuid4(), "to_assignee_id": None,
        "reason": "Не наш профиль",
    },
    "InformationRequested": {"fields": ("signed_on",), "questions": (), "message": "Уточните"},
    "InformationProvided": {"values": {}, "answers": ()},
    "Resolved": {"by": uuid4(), "resolution": "Готово"},
    "Reopened": {"by": REQUESTER, "reason": "Не помогло"},
    "Closed": {"by": uuid4(), "reason": ""},
    "Rated": {"by": REQUESTER, "score": 5, "comment": ""},
}  # fmt: skip
PUBLIC_VIEW = {
    "Filed": {"subject", "number", "timestamp"},  # not the link's key hash, not the priority
    "Replied": None,
    "RequesterWrote": None,
    "InformationRequested": None,
    "InformationProvided": None,
    "Resolved": None,
    "Reopened": None,
    "Closed": None,
    "Rated": None,
    "Escalated": {"from_line", "to_line", "timestamp"},
    "Transferred": {"timestamp"},
}  # None: shown whole; a set: shown with only these keys; absent: hidden
READERS = ["requester (own)", "colleague (same org)", "visitor with link"]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("name", list(EVENTS))
def test_requesters_see_public_events_and_redacted_routing(reader: str, name: str) -> None:
    data = {**EVENTS[name], "timestamp": NOW}
    shown = seen_by(ACTORS[reader], name, data)
    if name not in PUBLIC_VIEW:
        assert shown is None
    elif (keys := PUBLIC_VIEW[name]) is None:
        assert shown == data
    else:
        assert shown is not None and set(shown) == keys and "reason" not in shown


@pytest.mark.parametrize("who", [w for w, a in ACTORS.items() if a.is_staff])
def test_staff_see_every_event_whole(who: str) -> None:
    actor = ACTORS[who]
    for name, data in EVENTS.items():
        assert event_visibility(actor, name, data) is Visibility.FULL
        assert seen_by(actor, name, data) == data


@pytest.mark.parametrize("reader", READERS)
def test_an_internal_attachment_is_hidden_and_a_public_one_shown(reader: str) -> None:
    actor = ACTORS[reader]
    assert seen_by(actor, "AttachmentAdded", {"attachment": INTERNAL_FILE}) is None
    assert seen_by(actor, "AttachmentAdded", {"attachment": PUBLIC_FILE}) == {
        "attachment": PUBLIC_FILE
    }


# -- the Desk enforces the policy ---------------------------------------------------------------
def changes(world: World, ticket_id: UUID) -> dict[str, Callable[[Actor], object]]:
    desk = world.desk
    return {
        "reply": lambda a: desk.reply(a, ticket_id, "Ответ"),
        "request_information": lambda a: desk.request_information(
            a, ticket_id, ("signed_on",), (), "Дата?"
        ),
        "assign": lambda a: desk.assign(a, ticket_id, world.line1, world.agent.id),
        "transfer": lambda a: desk.transfer(a, ticket_id, world.line2, "Профиль"),
        "escalate": lambda a: desk.escalate(a, ticket_id, world.line2, "Логи"),
        "priority": lambda a: desk.change_priority(a, ticket_id, Priority.HIGH),
        "resolve": lambda a: desk.resolve(a, ticket_id, "Готово"),
        "attach": lambda a: desk.attach(a, ticket_id, PUBLIC_FILE),
        "write": lambda a: desk.write(a, ticket_id, "Сообщение"),
        "rate": lambda a: desk.rate(a, ticket_id, 5),
    }


@pytest.mark.parametrize("who", ["auditor", "curator"])
def test_auditors_and_curators_change_nothing(world: World, who: str) -> None:
    actor: Actor = getattr(world, who)
    filed = world.file()
    for name, command in changes(world, filed.id).items():
        with refused(world.desk, Forbidden):
            command(actor)
        assert world.desk.ticket(actor, filed.id).version == filed.version, name
    assert history(world.desk, filed.id) == ["Filed", "Assigned"]


def test_a_curator_may_add_a_note_and_an_auditor_may_not(world: World) -> None:
    filed = world.file()
    with refused(world.desk, Forbidden):
        world.desk.note(world.auditor, filed.id, "Замечание аудитора")
    written = world.desk.note(world.curator, filed.id, "Проверить сроки ответа")
    note = list(world.desk.events.get(filed.id))[-1]
    assert (type(note).__name__, note.by, note.body, written.version) == (  # type: ignore[attr-defined]
        "NoteAdded",
        world.curator.id,
        "Проверить сроки ответа",
        filed.version + 1,
    )


def test_a_stranger_cannot_tell_another_organisations_request_exists(world: World) -> None:
    filed = world.file()
    with refused(world.desk, NotFound):
        world.desk.ticket(world.stranger, filed.id)
    for command in changes(world, filed.id).values():
        with refused(world.desk, NotFound):
            command(world.stranger)
    assert world.desk.ticket(world.colleague, filed.id).number == filed.number
