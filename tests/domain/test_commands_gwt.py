"""Given / When / Then for every ticket command, in memory (POPO): given a request's events,
when one command is handled, then exactly these events are recorded, or this refusal and none.

The desk is the real one (policy, dispatcher, handlers, aggregate), only its store is in memory,
so the whole tier runs in seconds. `given` steps are what happened before, through the desk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import incident_commands as ic
from domain.access import SETUP_POLICY, Actor, Setup, visible_data
from domain.desk import Desk
from domain.errors import (
    AlreadyReceived,
    Conflict,
    DeskError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
)
from domain.incidents import Criteria, TriggerRule
from domain.ticket import Attachment, LinkKind, Priority
from domain.tickets import commands as c
from domain.tickets.commands import COMMANDS, TicketCommand
from tests.domain.support import memory_env, refused, refused_story
from tests.world import World

FILE = Attachment("log.txt", 10, "ab" * 32, "text/plain")
DUE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class Scene:
    world: World
    ticket: UUID
    other: UUID  # a second request of the same requester
    category: UUID  # another category the staff may move a request to

    @property
    def desk(self) -> Desk:
        return self.world.desk

    def version(self) -> int:
        version: int = self.desk.repository.get(self.ticket).version
        return version


@pytest.fixture(scope="module")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return memory_env(tmp_path_factory, "gwt")


@pytest.fixture
def scene(base_env: dict[str, str]) -> Scene:
    desk = Desk(base_env)
    w = World.build(desk)
    fields = {"contract_number": "1234567890123456789"}
    filed = [desk.file_ticket(w.requester, w.contracts, f"Заявка {i}", "Не подписывается", fields)
             for i in (1, 2)]  # fmt: skip
    category = desk.define_category(w.admin, "Оплата", "Payments").id
    return Scene(w, filed[0].id, filed[1].id, category)


Step = Callable[[Scene], Any]
When = Callable[[Scene], tuple[Actor, TicketCommand]]


def resolved(s: Scene) -> None:
    s.desk.resolve(s.world.agent, s.ticket, "Готово")


def asked(s: Scene) -> None:
    s.desk.request_information(s.world.agent, s.ticket, ("signed_on",), ("Когда?",), "Уточните")


def closed(s: Scene) -> None:
    resolved(s)
    s.desk.close_ticket(s.world.agent, s.ticket)


def tagged(s: Scene) -> None:
    s.desk.handle(s.world.agent, c.AddTag(s.ticket, None, "банк-оплата"))


def wrote(s: Scene) -> None:
    s.desk.handle(s.world.requester, c.WriteMessage(s.ticket, None, "И ещё: не грузится акт"))


def merged(s: Scene) -> None:
    s.desk.handle(s.world.agent, c.MergeInto(s.ticket, None, s.other))


def other_closed(s: Scene) -> None:
    s.desk.resolve(s.world.agent, s.other, "Готово")
    s.desk.close_ticket(s.world.agent, s.other)


def then(s: Scene, before: int) -> list[tuple[str, dict[str, Any]]]:
    """The events recorded on the ticket since version `before`, with their own values."""
    skip = {"originator_id", "originator_version", "timestamp", "chain", "originator_topic"}
    return [(type(e).__name__, {k: v for k, v in vars(e).items() if k not in skip})
            for e in s.desk.events.get(s.ticket, gt=before)]  # fmt: skip


def uid(actor: Actor) -> UUID:
    assert actor.id is not None
    return actor.id


def v(s: Scene) -> int:
    return s.version()


# (story, given, when, the events recorded: name and some of their values)
RECORDED: list[tuple[str, list[Step], When, list[tuple[str, dict[str, Any]]]]] = [
    ("an agent replies", [], lambda s: (s.world.agent, c.ReplyToTicket(s.ticket, v(s), "Смотрим")),
     [("Replied", {"body": "Смотрим", "template": None})]),
    ("the requester writes", [],
     lambda s: (s.world.requester, c.WriteMessage(s.ticket, v(s), "Ещё")),
     [("RequesterWrote", {"body": "Ещё", "by": "requester"})]),
    ("an agent notes, files become internal", [],
     lambda s: (s.world.agent, c.AddNote(s.ticket, v(s), "Заметка", (FILE,))),
     [("NoteAdded", {"body": "Заметка", "attachments": (replace(FILE, internal=True),)})]),
    ("an agent's note consults a line-2 colleague and the developers' group by @handles", [],
     lambda s: (s.world.agent, c.AddNote(s.ticket, v(s), "@engineer2, глянь; и @development.")),
     [("NoteAdded", {"handles": ("engineer2", "development")})]),
    ("the requester attaches a file", [],
     lambda s: (s.world.requester, c.Attach(s.ticket, v(s), FILE)),
     [("AttachmentAdded", {"attachment": FILE})]),
    ("an agent asks for a field and a question", [],
     lambda s: (s.world.agent, c.RequestInformation(s.ticket, v(s), ("signed_on",), ("Когда?",))),
     [("InformationRequested", {"fields": ("signed_on",), "questions": ("Когда?",)})]),
    ("the requester provides it", [asked],
     lambda s: (s.world.requester, c.ProvideInformation(s.ticket, v(s), {"signed_on": "2026-11-20"},
                                                         ("Вчера",))),
     [("InformationProvided", {"answers": ("Вчера",)})]),
    ("an agent takes the request", [],
     lambda s: (s.world.agent, c.Assign(s.ticket, v(s), s.world.line1, s.world.agent.id)),
     [("Assigned", {"group_id": "line1", "assignee_id": "agent"})]),
    ("an agent transfers it to line 2", [],
     lambda s: (s.world.agent, c.Transfer(s.ticket, v(s), s.world.line2, "Туда")),
     [("Transferred", {"to_group_id": "line2", "reason": "Туда"})]),
    ("an agent escalates it", [],
     lambda s: (s.world.agent, c.Escalate(s.ticket, v(s), s.world.line2, "Сложно")),
     [("Escalated", {"from_line": 1, "to_line": 2, "reason": "Сложно"})]),
    ("an agent raises the priority", [],
     lambda s: (s.world.agent, c.ChangePriority(s.ticket, v(s), Priority.HIGH, "Срочно")),
     [("PriorityChanged", {"priority": Priority.HIGH, "reason": "Срочно"})]),
    ("an agent moves it to another category", [],
     lambda s: (s.world.agent, c.ChangeCategory(s.ticket, v(s), s.category, "Это оплата")),
     [("CategoryChanged", {"category_id": "category", "from_category_id": "contracts",
                           "reason": "Это оплата"})]),
    ("an agent resolves it", [],
     lambda s: (s.world.agent, c.Resolve(s.ticket, v(s), "Переподпишите")),
     [("Resolved", {"resolution": "Переподпишите"})]),
    ("the requester reopens it", [resolved],
     lambda s: (s.world.requester, c.Reopen(s.ticket, v(s), "Не помогло")),
     [("Reopened", {"reason": "Не помогло"})]),
    ("an agent closes it", [resolved],
     lambda s: (s.world.agent, c.Close(s.ticket, v(s))), [("Closed", {"reason": ""})]),
    ("the requester rates it", [resolved],
     lambda s: (s.world.requester, c.Rate(s.ticket, v(s), 5, "Спасибо")),
     [("Rated", {"score": 5, "comment": "Спасибо"})]),
    ("an agent links two requests", [],
     lambda s: (s.world.agent, c.Link(s.ticket, None, s.other, LinkKind.DUPLICATE_OF)),
     [("Linked", {"other_id": "other", "kind": LinkKind.DUPLICATE_OF})]),
    ("an agent tags the request: trimmed, lower-cased, inner spaces joined", [],
     lambda s: (s.world.agent, c.AddTag(s.ticket, None, "  Банк Оплата ")),
     [("TagAdded", {"by": "agent", "tag": "банк-оплата"})]),
    ("an agent removes a tag, however it is spelled", [tagged],
     lambda s: (s.world.agent, c.RemoveTag(s.ticket, None, "#БАНК-оплата")),
     [("TagRemoved", {"by": "agent", "tag": "банк-оплата"})]),
    ("an agent merges a repeat into the requester's other request: told, closed, linked", [],
     lambda s: (s.world.agent, c.MergeInto(s.ticket, v(s), s.other, "Продолжим во втором")),
     [("Replied", {"body": "Продолжим во втором"}),
      ("MergedInto", {"by": "agent", "into_id": "other", "follow": True}),
      ("Closed", {"by": "agent", "reason": ""})]),
    ("an agent merges without a message", [],
     lambda s: (s.world.agent, c.MergeInto(s.ticket, v(s), s.other)),
     [("MergedInto", {"into_id": "other"}), ("Closed", {})]),
    ("an agent splits the requester's second question off into a request of its own", [wrote],
     lambda s: (s.world.agent, c.SplitOff(s.ticket, None, v(s), "Вторая проблема")),
     [("SplitOff", {"by": "agent"})]),
    # what the processes send, as the system actor, through the same dispatcher
    ("the assigner gives a request waiting in its group to an agent", [],
     lambda s: (c.SYSTEM, c.AssignAutomatically(s.ticket, None, s.world.line1, uid(s.world.agent))),
     [("Assigned", {"by": None, "group_id": "line1", "assignee_id": "agent"})]),
    ("the SLA timer raises a breach and escalates it to the next line", [],
     lambda s: (c.SYSTEM, c.RaiseSlaAlarm(s.ticket, None, "resolution_breach", DUE, "Стандарт",
                                          s.world.line2)),
     [("SlaAlarmed", {"alarm": "resolution_breach", "due": DUE, "policy": "Стандарт"}),
      ("Escalated", {"by": None, "from_line": 1, "to_line": 2, "to_group_id": "line2",
                     "reason": c.BREACH_REASON})]),
    ("the SLA timer closes a request left resolved", [resolved],
     lambda s: (c.SYSTEM, c.CloseUnanswered(s.ticket, None, "Нет ответа")),
     [("Closed", {"by": None, "reason": "Нет ответа"})]),
    # the mail intake's: a letter threaded into the request, by whoever of its side wrote it
    ("a letter from the requester's colleague threads in as the requester's side's message", [],
     lambda s: (c.SYSTEM, c.ReceiveLetter(s.ticket, None, "m1@org.ru", "boss@org.ru", None,
                                          "Подтверждаю", "> было")),
     [("RequesterWrote", {"by": None, "body": "Подтверждаю", "sender": "boss@org.ru",
                          "quoted": "> было"})]),
    ("a letter to a resolved request reopens it", [resolved],
     lambda s: (c.SYSTEM, c.ReceiveLetter(s.ticket, None, "m2@org.ru", "a@org.ru",
                                          uid(s.world.requester), "Не помогло")),
     [("Reopened", {"by": "requester", "reason": c.LETTER_REOPENS}),
      ("RequesterWrote", {"by": "requester", "body": "Не помогло", "sender": "a@org.ru"})]),
]  # fmt: skip


def expected(s: Scene, values: dict[str, Any]) -> dict[str, Any]:
    """The values with the scene's names ("agent", "line2"...) put for the ids they stand for."""
    names = {"requester": s.world.requester.id, "agent": s.world.agent.id, "other": s.other,
             "line1": s.world.line1, "line2": s.world.line2, "category": s.category,
             "contracts": s.world.contracts}  # fmt: skip
    return {k: names.get(x, x) if isinstance(x, str) else x for k, x in values.items()}


@pytest.mark.parametrize(("story", "given", "when", "events"), RECORDED,
                         ids=[r[0] for r in RECORDED])  # fmt: skip
def test_when_a_command_is_handled_then_its_events_are_recorded(
    scene: Scene, story: str, given: list[Step], when: When,
    events: list[tuple[str, dict[str, Any]]],
) -> None:  # fmt: skip
    for step in given:
        step(scene)
    before = scene.version()
    actor, command = when(scene)
    written = scene.desk.handle(actor, command)
    recorded = then(scene, before)
    assert [name for name, _ in recorded] == [name for name, _ in events]
    for (_, got), (_, want) in zip(recorded, events, strict=True):
        want = expected(scene, want)
        assert {k: got[k] for k in want} == want
    assert (written.id, written.version) == (scene.ticket, scene.version())


# (story, given, when, the refusal and its message)
REFUSED: list[tuple[str, list[Step], When, type[DeskError], str]] = [
    ("a requester may not move his request to another category", [],
     lambda s: (s.world.requester, c.ChangeCategory(s.ticket, v(s), s.category, "Хочу")),
     Forbidden, "Your role may not change category on this request."),
    ("the same category is no change", [],
     lambda s: (s.world.agent, c.ChangeCategory(s.ticket, v(s), s.world.contracts, "Так")),
     InvalidTransition, "The request is already in that category."),
    ("an unknown category is named as the field at fault", [],
     lambda s: (s.world.agent, c.ChangeCategory(s.ticket, v(s), uuid4(), "Так")),
     InvalidInput, "No such category."),
    ("a category change says why", [],
     lambda s: (s.world.agent, c.ChangeCategory(s.ticket, v(s), s.category, "  ")),
     InvalidInput, "reason must not be empty."),
    ("a closed request keeps its category", [closed],
     lambda s: (s.world.agent, c.ChangeCategory(s.ticket, v(s), s.category, "Поздно")),
     InvalidTransition, "is closed; file a new request."),
    ("a stale version is a conflict", [],
     lambda s: (s.world.agent, c.Resolve(s.ticket, v(s) - 1, "Готово")),
     Conflict, "you saw version 1, it is now at 2."),
    ("another organisation's requester sees no such request", [],
     lambda s: (s.world.stranger, c.WriteMessage(s.ticket, v(s), "Моё?")),
     DeskError, "No such request."),
    ("an auditor reads but does not reply", [],
     lambda s: (s.world.auditor, c.ReplyToTicket(s.ticket, v(s), "Ответ")),
     Forbidden, "Your role may not reply on this request."),
    ("a requester adds no internal file", [],
     lambda s: (s.world.requester, c.Attach(s.ticket, v(s), Attachment("x", 1, "cd" * 32,
                                                                       "text/plain", True))),
     Forbidden, "Only staff may add internal attachments."),
    ("a resolved request is reopened before it is answered again", [resolved],
     lambda s: (s.world.agent, c.ReplyToTicket(s.ticket, v(s), "Ещё")),
     InvalidTransition, "is resolved; reopen it first."),
    ("nobody rates an open request", [],
     lambda s: (s.world.requester, c.Rate(s.ticket, v(s), 5)),
     InvalidTransition, "A request can be rated once it is resolved."),
    ("a request is not linked to itself", [],
     lambda s: (s.world.agent, c.Link(s.ticket, None, s.ticket)),
     InvalidInput, "A request cannot be linked to itself."),
    ("a letter is taken in once", [lambda s: s.desk.handle(
        c.SYSTEM, c.ReceiveLetter(s.ticket, None, "same@org.ru", "a@org.ru", None, "Раз"))],
     lambda s: (c.SYSTEM, c.ReceiveLetter(s.ticket, None, "same@org.ru", "a@org.ru", None, "Раз")),
     AlreadyReceived, "This letter was taken in before"),
    ("nobody but the mail intake threads a letter in", [],
     lambda s: (s.world.agent, c.ReceiveLetter(s.ticket, None, "m@org.ru", "a@org.ru", None, "Я")),
     Forbidden, "Your role may not receive letter on this request."),
    ("a letter to a closed request takes nothing (the intake files a new one)", [closed],
     lambda s: (c.SYSTEM, c.ReceiveLetter(s.ticket, None, "m3@org.ru", "a@org.ru", None, "Ещё")),
     InvalidTransition, "is closed; file a new request."),
    ("a requester may not tag his request (nor see its tags)", [],
     lambda s: (s.world.requester, c.AddTag(s.ticket, None, "срочно")),
     Forbidden, "Your role may not tag on this request."),
    ("an auditor reads but does not tag", [],
     lambda s: (s.world.auditor, c.AddTag(s.ticket, None, "срочно")),
     Forbidden, "Your role may not tag on this request."),
    ("a tag of other characters is refused, naming the field", [],
     lambda s: (s.world.agent, c.AddTag(s.ticket, None, "<b>срочно</b>")),
     InvalidInput, "A tag is 1 to 32 letters or digits"),
    ("a tag longer than 32 characters is refused", [],
     lambda s: (s.world.agent, c.AddTag(s.ticket, None, "т" * 33)),
     InvalidInput, "A tag is 1 to 32 letters or digits"),
    ("an empty tag is refused", [],
     lambda s: (s.world.agent, c.AddTag(s.ticket, None, "   ")),
     InvalidInput, "A tag is 1 to 32 letters or digits"),
    ("a tag is added once", [tagged],
     lambda s: (s.world.agent, c.AddTag(s.ticket, None, "Банк-Оплата")),
     InvalidTransition, "The request already has this tag."),
    ("a tag the request has not is not removed", [],
     lambda s: (s.world.agent, c.RemoveTag(s.ticket, None, "срочно")),
     InvalidTransition, "The request has no such tag."),
    ("a closed request keeps its tags", [tagged, closed],
     lambda s: (s.world.agent, c.RemoveTag(s.ticket, None, "банк-оплата")),
     InvalidTransition, "is closed; file a new request."),
    ("a request is not merged into itself", [],
     lambda s: (s.world.agent, c.MergeInto(s.ticket, v(s), s.ticket)),
     InvalidInput, "A request cannot be merged into itself."),
    ("nothing is merged into a closed request", [other_closed],
     lambda s: (s.world.agent, c.MergeInto(s.ticket, v(s), s.other)),
     InvalidTransition, "Merge into a request still being worked on"),
    ("nothing is merged into a request merged away", [merged],
     lambda s: (s.world.agent, c.MergeInto(s.other, None, s.ticket)),
     InvalidTransition, "Merge into a request still being worked on"),
    ("a merged request is not merged again", [merged],
     lambda s: (s.world.agent, c.MergeInto(s.ticket, None, s.other)),
     InvalidTransition, "is closed; file a new request."),
    ("a request the agent cannot find is not merged into", [],
     lambda s: (s.world.agent, c.MergeInto(s.ticket, v(s), uuid4())),
     DeskError, "No such request."),
    ("a requester merges nothing", [],
     lambda s: (s.world.requester, c.MergeInto(s.ticket, v(s), s.other)),
     Forbidden, "Your role may not merge on this request."),
    ("an auditor merges nothing", [],
     lambda s: (s.world.auditor, c.MergeInto(s.ticket, v(s), s.other)),
     Forbidden, "Your role may not merge on this request."),
    ("only the requester's own words are split off", [lambda s: s.desk.reply(
        s.world.agent, s.ticket, "Ответ")],
     lambda s: (s.world.agent, c.SplitOff(s.ticket, None, v(s), "Новая")),
     InvalidInput, "Only the requester's own message can become a request of its own."),
    ("a split names the new request's subject", [wrote],
     lambda s: (s.world.agent, c.SplitOff(s.ticket, None, v(s), "  ")),
     InvalidInput, "subject must not be empty."),
    ("a requester splits nothing", [wrote],
     lambda s: (s.world.requester, c.SplitOff(s.ticket, None, v(s), "Моё")),
     Forbidden, "Your role may not split on this request."),
    ("an information request names fields of its category", [],
     lambda s: (s.world.agent, c.RequestInformation(s.ticket, v(s), ("colour",))),
     InvalidInput, "Not fields of this category: colour."),
]  # fmt: skip


@pytest.mark.parametrize(("story", "given", "when", "error", "message"), REFUSED,
                         ids=[r[0] for r in REFUSED])  # fmt: skip
def test_when_a_command_is_refused_then_nothing_is_recorded(
    scene: Scene, story: str, given: list[Step], when: When, error: type[DeskError], message: str
) -> None:
    assert message in refused_story(scene.desk, scene, given, when, error).message


def test_every_command_has_a_story(scene: Scene) -> None:
    told = {type(when(scene)[1]) for _, _, when, _ in RECORDED}
    assert told == set(COMMANDS), f"untold: {set(COMMANDS) - told}"


def taken(s: Scene) -> None:
    s.desk.assign(s.world.agent, s.ticket, s.world.line1, s.world.agent.id)


def alarmed(s: Scene) -> None:
    s.desk.handle(c.SYSTEM, c.RaiseSlaAlarm(s.ticket, None, "resolution_warning", DUE, "Стандарт"))


# (story, given, when): a process's command that finds nothing left to do writes nothing, and
# `send` (the processes' way in) answers None, so a repeated tick never acts twice
UNCHANGED: list[tuple[str, list[Step], When]] = [
    ("the assigner leaves a request someone took meanwhile", [taken],
     lambda s: (c.SYSTEM, c.AssignAutomatically(s.ticket, None, s.world.line1,
                                                uid(s.world.engineer)))),
    ("the assigner leaves a request moved to another group", [],
     lambda s: (c.SYSTEM, c.AssignAutomatically(s.ticket, None, s.world.line2,
                                                uid(s.world.engineer)))),
    ("the assigner leaves a resolved request", [resolved],
     lambda s: (c.SYSTEM, c.AssignAutomatically(s.ticket, None, s.world.line1,
                                                uid(s.world.agent)))),
    ("an alarm is raised once per kind and deadline", [alarmed],
     lambda s: (c.SYSTEM, c.RaiseSlaAlarm(s.ticket, None, "resolution_warning", DUE,
                                          "Стандарт"))),
    ("no alarm on a request answered meanwhile", [resolved],
     lambda s: (c.SYSTEM, c.RaiseSlaAlarm(s.ticket, None, "resolution_breach", DUE, "Стандарт"))),
    ("a reopened request is not closed", [resolved,
                                          lambda s: s.desk.reopen(s.world.requester, s.ticket,
                                                                  "Не помогло")],
     lambda s: (c.SYSTEM, c.CloseUnanswered(s.ticket, None, "Нет ответа"))),
]  # fmt: skip


@pytest.mark.parametrize(("story", "given", "when"), UNCHANGED, ids=[r[0] for r in UNCHANGED])
def test_when_a_process_command_finds_nothing_to_do_then_nothing_is_recorded(
    scene: Scene, story: str, given: list[Step], when: When
) -> None:
    for step in given:
        step(scene)
    _, command = when(scene)
    with refused(scene.desk, c.Unchanged):
        scene.desk.handle(c.SYSTEM, command)
    before = scene.version()
    assert scene.desk.send(command) is None
    assert scene.version() == before


def test_people_may_not_send_a_process_command(scene: Scene) -> None:
    command = c.AssignAutomatically(scene.ticket, None, scene.world.line1, uid(scene.world.agent))
    with refused(scene.desk, Forbidden) as info:
        scene.desk.handle(scene.world.requester, command)
    assert info.value.message == "Your role may not assign on this request."


# -- incident commands: the same dispatcher, their own registry ---------------------------------
RULE = TriggerRule(uuid4(), "Сбой подписи", Criteria(), 3)


def opened(s: Scene) -> UUID:
    return s.desk.open_incident(s.world.developer, "Сбой подписи", "Чиним", Criteria()).id


def rule_set(s: Scene) -> None:
    s.desk.set_trigger_rules(s.world.admin, (replace(RULE, criteria=Criteria(s.world.contracts)),))


def proposed(s: Scene) -> UUID:
    rule_set(s)
    written = s.desk.handle(c.SYSTEM, ic.FireTrigger(RULE.id, DUE, 3))
    return written.id


def linked(s: Scene) -> UUID:
    incident = opened(s)
    s.desk.handle(s.world.agent, ic.LinkToIncident(incident, (s.ticket,)))
    return incident


def untold(s: Scene) -> UUID:
    """An update recorded, and the process stopped before telling anyone (a crash between)."""
    incident = linked(s)
    saved = s.desk.repository.get(incident)
    saved.publish(s.world.developer.id, "Ещё час")
    s.desk.save(saved)
    return incident


IncidentWhen = Callable[[Scene, UUID], tuple[Actor, ic.IncidentCommand]]
# (story, the incident's start, when, events on the incident written, events on the request)
INCIDENT_RECORDED: list[tuple[str, Callable[[Scene], UUID | None], IncidentWhen, list[str],
                              list[str]]] = [
    ("a developer opens an incident by hand", lambda s: None,
     lambda s, i: (s.world.developer, ic.OpenIncident("Сбой", "Чиним",
                                                       Criteria(s.world.contracts))),
     ["Opened"], []),
    ("the incident process fires a rule: a proposal", rule_set,
     lambda s, i: (c.SYSTEM, ic.FireTrigger(RULE.id, DUE, 3)), ["Proposed"], []),
    ("a developer opens the proposal", proposed,
     lambda s, i: (s.world.developer, ic.OpenIncident("Сбой", "Чиним", proposal_id=i)),
     ["Accepted"], []),
    ("a developer dismisses the proposal", proposed,
     lambda s, i: (s.world.developer, ic.DismissIncident(i, "Ложная тревога")), ["Dismissed"], []),
    ("an agent links a request: its requester is told", opened,
     lambda s, i: (s.world.agent, ic.LinkToIncident(i, (s.ticket,))), ["Linked", "Delivered"],
     ["Replied"]),
    ("the incident process links a matching request", opened,
     lambda s, i: (c.SYSTEM, ic.AutoLink(i, (s.ticket,))), ["Linked", "Delivered"], ["Replied"]),
    ("an agent takes a request out", linked,
     lambda s, i: (s.world.agent, ic.UnlinkFromIncident(i, s.ticket)), ["Unlinked"], []),
    ("an update is told to every linked request", linked,
     lambda s, i: (s.world.developer, ic.PublishIncidentUpdate(i, "Ещё час")),
     ["UpdatePublished", "Delivered"], ["Replied"]),
    ("the resolution resolves every linked request", linked,
     lambda s, i: (s.world.developer, ic.ResolveIncident(i, "Исправлено")),
     ["Resolved", "Delivered"], ["Resolved"]),
    ("the incident process tells what a crash left untold", untold,
     lambda s, i: (c.SYSTEM, ic.DeliverIncident(i)), ["Delivered"], ["Replied"]),
]  # fmt: skip


def names_after(s: Scene, aggregate: UUID, before: int) -> list[str]:
    return [type(e).__name__ for e in s.desk.events.get(aggregate, gt=before)]


def version_of(s: Scene, aggregate: UUID | None) -> int:
    return s.desk.repository.get(aggregate).version if aggregate else 0


@pytest.mark.parametrize(("story", "start", "when", "events", "on_request"), INCIDENT_RECORDED,
                         ids=[r[0] for r in INCIDENT_RECORDED])  # fmt: skip
def test_when_an_incident_command_is_handled_then_its_events_are_recorded(
    scene: Scene, story: str, start: Callable[[Scene], UUID | None], when: IncidentWhen,
    events: list[str], on_request: list[str],
) -> None:  # fmt: skip
    incident = start(scene)
    actor, command = when(scene, incident or uuid4())
    before, request_before = version_of(scene, incident), scene.version()
    written = scene.desk.handle(actor, command)
    assert names_after(scene, written.id, before if written.id == incident else 0) == events
    assert names_after(scene, scene.ticket, request_before) == on_request


MANAGERS_ONLY = SETUP_POLICY[Setup.MANAGE_INCIDENTS].refusal

INCIDENT_REFUSED: list[tuple[str, Callable[[Scene], UUID], IncidentWhen, type[Exception], str]] = [
    ("an agent does not dismiss", proposed,
     lambda s, i: (s.world.agent, ic.DismissIncident(i)), Forbidden, MANAGERS_ONLY),
    ("a requester opens no incident", lambda s: uuid4(),
     lambda s, i: (s.world.requester, ic.OpenIncident("Сбой", "Чиним")), Forbidden,
     MANAGERS_ONLY),
    ("an auditor links nothing", opened,
     lambda s, i: (s.world.auditor, ic.LinkToIncident(i, (s.ticket,))), Forbidden,
     "Your role may not link on this request."),
    ("a request is linked once", linked,
     lambda s, i: (s.world.agent, ic.LinkToIncident(i, (s.ticket,))), InvalidTransition,
     "These requests are already linked to the incident."),
    ("a link names at least one request", opened,
     lambda s, i: (s.world.agent, ic.LinkToIncident(i, ())), InvalidInput,
     "Name from 1 to 100 requests."),
    ("a rule fires once per window", proposed,
     lambda s, i: (c.SYSTEM, ic.FireTrigger(RULE.id, DUE, 4)), c.Unchanged, ""),
    ("nothing left to deliver", linked,
     lambda s, i: (c.SYSTEM, ic.DeliverIncident(i)), c.Unchanged, ""),
    ("nothing left to link automatically", linked,
     lambda s, i: (c.SYSTEM, ic.AutoLink(i, (s.ticket,))), c.Unchanged, ""),
]  # fmt: skip


@pytest.mark.parametrize(("story", "start", "when", "error", "message"), INCIDENT_REFUSED,
                         ids=[r[0] for r in INCIDENT_REFUSED])  # fmt: skip
def test_when_an_incident_command_is_refused_then_nothing_is_recorded(
    scene: Scene, story: str, start: Callable[[Scene], UUID], when: IncidentWhen,
    error: type[Exception], message: str,
) -> None:  # fmt: skip
    actor, command = when(scene, start(scene))
    with refused(scene.desk, error) as info:
        scene.desk.handle(actor, command)
    assert message in getattr(info.value, "message", "")
    if error is c.Unchanged:
        assert scene.desk.send(command) is None, "a process is answered None"


def test_every_incident_command_has_a_story(scene: Scene) -> None:
    told = {type(when(scene, uuid4())[1]) for _, _, when, _, _ in INCIDENT_RECORDED}
    assert told == set(ic.COMMANDS), f"untold: {set(ic.COMMANDS) - told}"


def test_a_merge_is_recorded_on_the_request_merged_into_and_closes_the_repeat(
    scene: Scene,
) -> None:
    before = scene.desk.repository.get(scene.other).version
    scene.desk.handle(scene.world.agent, c.MergeInto(scene.ticket, None, scene.other))
    (got,) = list[Any](scene.desk.events.get(scene.other, gt=before))
    assert type(got).__name__ == "MergedFrom"
    assert (got.other_id, got.requester_id) == (scene.ticket, scene.world.requester.id)
    repeat = scene.desk.repository.get(scene.ticket)
    assert (repeat.status.value, repeat.merged_into) == ("closed", scene.other)
    assert (scene.other, LinkKind.DUPLICATE_OF) in repeat.links
    assert (scene.ticket, LinkKind.RELATED) in scene.desk.repository.get(scene.other).links


def test_another_requester_s_repeat_is_not_told_the_number_he_may_not_open(scene: Scene) -> None:
    w = scene.world
    theirs = scene.desk.file_ticket(w.stranger, w.contracts, "Чужая", "То же самое",
                                    {"contract_number": "1234567890123456789"})  # fmt: skip
    scene.desk.handle(w.agent, c.MergeInto(theirs.id, None, scene.ticket))
    merged_event: Any = next(e for e in scene.desk.events.get(theirs.id)
                             if type(e).__name__ == "MergedInto")  # fmt: skip
    assert merged_event.follow is False
    data = {k: v for k, v in vars(merged_event).items() if k in ("by", "into_id", "into_number",
                                                                  "follow")}  # fmt: skip
    assert visible_data(w.stranger, "MergedInto", data) == {"follow": False}
    assert visible_data(w.requester, "MergedFrom", {"other_id": theirs.id}) is None


def test_a_split_files_a_request_for_the_same_requester_with_the_entry_s_text(
    scene: Scene,
) -> None:
    wrote(scene)
    version = scene.version()
    scene.desk.handle(scene.world.agent, c.SplitOff(scene.ticket, None, version, "Акт"))
    (split_event,) = list[Any](scene.desk.events.get(scene.ticket, gt=version))
    new = scene.desk.repository.get(split_event.into_id)
    assert (new.requester_id, new.subject, new.description) == (
        scene.world.requester.id, "Акт", "И ещё: не грузится акт")  # fmt: skip
    assert (scene.ticket, LinkKind.RELATED) in new.links
    assert [type(e).__name__ for e in scene.desk.events.get(new.id)][-1] == "SplitFrom"


def test_a_split_takes_the_files_the_requester_sent_with_the_entry_and_no_others(
    scene: Scene,
) -> None:
    """Given a filing with a screenshot the requester attached, a staff file and an internal
    one after it, and a message of his with its own file; when each is split off, then the new
    request carries (as his) only the requester's files of that entry."""
    w, desk = scene.world, scene.desk
    shot = Attachment("screen.png", 10, "a" * 64, "image/png")
    staff = Attachment("log.txt", 5, "b" * 64, "text/plain")
    secret = Attachment("internal.txt", 5, "c" * 64, "text/plain", internal=True)
    act = Attachment("act.pdf", 20, "d" * 64, "application/pdf")
    desk.attach(w.requester, scene.ticket, shot)
    desk.attach(w.agent, scene.ticket, staff)
    desk.attach(w.agent, scene.ticket, secret)
    desk.handle(w.requester, c.WriteMessage(scene.ticket, None, "И ещё: акт", (act,)))
    wrote_at = scene.version()
    files = {}
    for entry, subject in ((1, "Первый вопрос"), (wrote_at, "Акт")):
        before = scene.version()
        desk.handle(w.agent, c.SplitOff(scene.ticket, None, entry, subject))
        (split_event,) = list[Any](desk.events.get(scene.ticket, gt=before))
        new = desk.repository.get(split_event.into_id)
        added = [(e.by, e.attachment) for e in list[Any](desk.events.get(new.id))
                 if type(e).__name__ == "AttachmentAdded"]  # fmt: skip
        assert new.attachments == tuple(a for _, a in added)
        files[subject] = added
    assert files == {"Первый вопрос": [(w.requester.id, shot)], "Акт": [(w.requester.id, act)]}
