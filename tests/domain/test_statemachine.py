"""Random days at the desk: random people issue random commands; the desk must stay consistent.

A model predicts, from the access policy and each ticket's status, whether a command is carried
out and what it changes. Refusals must write nothing. After every step, each ticket replayed from
the store equals the live one, its requester sees no internal note, and the hash chains verify.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.access import Actor, Command, TicketScope, may, visible_data
from domain.desk import Desk
from domain.errors import DeskError
from domain.integrity import verify
from domain.settings import Settings
from domain.ticket import Attachment, Channel, Contact, Priority, Status, Ticket
from domain.tickets.commands import AddTag, ChangeCategory, RemoveTag
from tests.domain.support import position, state_of, uncached
from tests.world import CONTRACT_FORM, World

FILE = Attachment("scan.pdf", 1024, "ef" * 32, "application/pdf")
VALID = {"signed_on": "2024-03-01", "amount": "100,5", "law": "44-FZ"}
ACTIVE = (Status.NEW, Status.OPEN, Status.WAITING)
# every command a person sends but merge and split, which make or close a second request: their
# stories are told in tests/domain/test_commands_gwt.py
PEOPLES = [c for c in Command if c not in (Command.RECEIVE_LETTER, Command.MERGE, Command.SPLIT)]
TAGS = ("срочно", " Срочно ", "vip", "#vip", "not a tag!")
WHO = ("owner", "colleague", "stranger", "agent", "engineer", "developer", "curator", "auditor")
HIDDEN = ("NoteAdded", "Assigned", "PriorityChanged", "Linked", "TagAdded", "TagRemoved")
READY: dict[Command, Callable[[Model], bool]] = {
    Command.PROVIDE_INFO: lambda m: m.status is Status.WAITING,
    Command.REOPEN: lambda m: m.status is Status.RESOLVED,
    Command.CLOSE: lambda m: m.status is Status.RESOLVED,
    Command.RATE: lambda m: (
        m.status in (Status.RESOLVED, Status.CLOSED) and m.rating is None and m.owner.id is not None
    ),
}


@dataclass(frozen=True)
class Model:
    """What a ticket should look like, as far as the commands so far decide."""

    scope: TicketScope
    owner: Actor  # the requester, or the visitor holding the ticket's link
    group_id: UUID
    assignee_id: UUID | None = None
    status: Status = Status.NEW
    line: int = 1
    priority: Priority = Priority.NORMAL
    requested: tuple[str, ...] = ()
    questions: int = 0
    rating: int | None = None
    links: frozenset[UUID] = field(default_factory=frozenset)
    category_id: UUID | None = None  # None: still the category it was filed in
    tags: tuple[str, ...] = ()
    version: int = 2  # Filed, then Assigned to the category's line 1 group


# The command, how to issue it, whether the ticket's state allows it, and what it changes.
Outcome = tuple[Callable[[], object], bool, dict[str, Any]]


@cache
def the_desk_set_up() -> tuple[Path, World]:
    """The world's store, built once; every run starts from a copy of it."""
    template = Path(tempfile.mkdtemp(prefix="suz-machine-world-"))
    atexit.register(shutil.rmtree, template, True)
    desk = Desk(Settings(data_dir=template, database_url=None).store_env(create_tables=True))
    world = World.build(desk)
    desk.close()
    return template, world


class DeskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="suz-machine-"))
        template, world = the_desk_set_up()
        shutil.copytree(template, self.dir, dirs_exist_ok=True)
        store = Settings(data_dir=self.dir, database_url=None)
        self.desk = Desk(store.store_env())
        self.fresh = uncached(store.store_env())
        self.world = replace(world, desk=self.desk)
        self.models: dict[UUID, Model] = {}  # in filing order

    def teardown(self) -> None:
        self.desk.close()
        self.fresh.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def actor(self, who: str, model: Model) -> Actor:
        return model.owner if who == "owner" else getattr(self.world, who)  # type: ignore[no-any-return]

    @initialize()
    def open_the_desk(self) -> None:
        # a second category with the same form, so requests may move between the two
        self.payments = self.desk.define_category(self.world.admin, "Оплата", "Payments",
                                                  CONTRACT_FORM).id  # fmt: skip
        self.file(anonymous=False, complete=True)
        self.file(anonymous=True, complete=True)

    def file(self, anonymous: bool, complete: bool) -> None:
        fields = {"contract_number": "1234567890123456789"} if complete else {"amount": "5"}
        actor = Actor.visitor() if anonymous else self.world.requester
        contact = Contact("Гость", "guest@example.org") if anonymous else None
        before = position(self.desk)
        try:
            filed = self.desk.file_ticket(
                actor, self.world.contracts, "Тема", "Описание", fields, Channel.API, contact
            )
        except DeskError:
            assert not complete and position(self.desk) == before
            return
        assert complete and position(self.desk) == before + 3  # Filed, Assigned, number claim
        owner = Actor.visitor(filed.id) if anonymous else actor
        scope = TicketScope(filed.id, None if anonymous else actor.id, owner.organisation_id)
        self.models[filed.id] = Model(scope, owner, self.world.line1)

    # every command a person sends; a letter's (the mail intake's, the system's alone, saved
    # with its Message-ID's claim) is told in tests/domain/test_commands_gwt.py and tests/mail
    @rule(name=st.sampled_from(PEOPLES), anyone=st.integers(0, 4), data=st.data())
    def act(self, name: Command, anyone: int, data: st.DataObject) -> None:
        if name is Command.FILE:
            self.file(data.draw(st.booleans()), data.draw(st.booleans()))
            return
        # Mostly a ticket whose state allows the command, and someone the policy lets issue it,
        # so that the days get somewhere; sometimes any ticket and anyone.
        ready = [t for t, m in self.models.items() if READY.get(name, bool)(m)]
        ticket = data.draw(st.sampled_from(ready if ready and anyone else list(self.models)))
        m = self.models[ticket]
        allowed = [w for w in WHO if may(self.actor(w, m), name, m.scope)]
        who = data.draw(st.sampled_from(allowed if allowed and anyone else WHO))
        if name is Command.LINK:
            self.link(ticket, data.draw(st.sampled_from(list(self.models))), self.actor(who, m))
        else:
            self.attempt(ticket, name, who, data)

    def attempt(self, ticket: UUID, name: Command, who: str, data: st.DataObject) -> None:
        m = self.models[ticket]
        actor = self.actor(who, m)
        call, possible, change = self.command(ticket, m, actor, data, name)
        expected = may(actor, name, m.scope) and possible
        event(f"{name.value} {'carried out' if expected else 'refused'}")
        before_position, before = position(self.desk), state_of(self.desk.repository.get(ticket))
        try:
            call()
        except DeskError as e:
            assert not expected, f"{who} {name.value} was refused: {e.message}"
            assert position(self.desk) == before_position
            assert state_of(self.desk.repository.get(ticket)) == before
            return
        assert expected, f"{who} {name.value} should have been refused"
        assert position(self.desk) == before_position + 1
        self.models[ticket] = replace(m, version=m.version + 1, **change)
        self.check_model(ticket)

    def command(
        self, t: UUID, m: Model, actor: Actor, data: st.DataObject, name: Command
    ) -> Outcome:
        d, w, active = self.desk, self.world, m.status in ACTIVE
        clear: dict[str, Any] = {"requested": (), "questions": 0}
        opened = {"status": Status.OPEN if m.status is Status.NEW else m.status}
        groups = st.sampled_from([w.line1, w.line2, w.line3])
        if name is Command.REPLY:
            return lambda: d.reply(actor, t, "Ответ", attachments=(FILE,)), active, opened
        if name is Command.WRITE:
            changed = {"status": Status.OPEN, **clear} if m.status is Status.WAITING else {}
            return lambda: d.write(actor, t, "Сообщение"), active, changed
        if name is Command.NOTE:
            internal = m.status is not Status.CLOSED
            return lambda: d.note(actor, t, "Внутреннее", attachments=(FILE,)), internal, {}
        if name is Command.REQUEST_INFO:
            keys = tuple(data.draw(st.lists(st.sampled_from(list(VALID)), unique=True, max_size=2)))
            asked = tuple(data.draw(st.lists(st.sampled_from(["Текст ошибки?", " "]), max_size=2)))
            n = sum(1 for q in asked if q.strip())
            wait = {"status": Status.WAITING, "requested": keys, "questions": n}
            ask = lambda: d.request_information(actor, t, keys, asked, "Уточните")  # noqa: E731
            return ask, active and bool(keys or n), wait
        if name is Command.PROVIDE_INFO:
            values, answers = {k: VALID[k] for k in m.requested}, ("Ответ",) * m.questions
            give = lambda: d.provide_information(actor, t, values, answers)  # noqa: E731
            return give, m.status is Status.WAITING, {"status": Status.OPEN, **clear}
        if name is Command.ASSIGN:
            group = data.draw(groups)
            agent = data.draw(st.sampled_from([None, w.agent.id, w.engineer.id]))
            put: dict[str, Any] = {"group_id": group, "assignee_id": agent}
            if agent is not None:
                put.update(opened)
            possible = active and (group, agent) != (m.group_id, m.assignee_id)
            return lambda: d.assign(actor, t, group, agent), possible, put
        if name is Command.ESCALATE:
            line = data.draw(st.sampled_from([2, 3]))
            group = w.line2 if line == 2 else w.line3
            up = {"line": line, "group_id": group, "assignee_id": None, **opened}
            possible = active and m.line < 3 and line == m.line + 1
            return lambda: d.escalate(actor, t, group, "Причина"), possible, up
        if name is Command.TRANSFER:
            group = data.draw(groups)
            possible = active and (group, None) != (m.group_id, m.assignee_id)
            moved = {"group_id": group, "assignee_id": None}
            return lambda: d.transfer(actor, t, group, "Причина"), possible, moved
        if name is Command.PRIORITY:
            p = data.draw(st.sampled_from(Priority))
            possible = m.status is not Status.CLOSED and p is not m.priority
            return lambda: d.change_priority(actor, t, p), possible, {"priority": p}
        if name is Command.RESOLVE:
            done = {"status": Status.RESOLVED, **clear}
            return lambda: d.resolve(actor, t, "Готово"), active, done
        if name is Command.REOPEN:
            again = {"status": Status.OPEN, "rating": None}
            return lambda: d.reopen(actor, t, "Не помогло"), m.status is Status.RESOLVED, again
        if name is Command.CLOSE:
            closed = {"status": Status.CLOSED}
            return lambda: d.close_ticket(actor, t), m.status is Status.RESOLVED, closed
        if name is Command.RATE:
            score = data.draw(st.integers(1, 5))
            possible = m.status in (Status.RESOLVED, Status.CLOSED) and m.rating is None
            return lambda: d.rate(actor, t, score), possible, {"rating": score}
        if name is Command.CATEGORY:
            now = m.category_id or w.contracts
            to = data.draw(st.sampled_from([w.contracts, self.payments]))
            move = ChangeCategory(t, None, to, "Другая категория")
            possible = m.status is not Status.CLOSED and to != now
            return lambda: d.handle(actor, move), possible, {"category_id": to}
        if name is Command.TAG:
            raw, adding = data.draw(st.sampled_from(TAGS)), data.draw(st.booleans())
            tag = "-".join(raw.split()).lower().lstrip("#")
            valid = m.status is not Status.CLOSED and tag.isalnum()
            if adding:
                tagged = {"tags": (*m.tags, tag)}
                add = AddTag(t, None, raw)
                return lambda: d.handle(actor, add), valid and tag not in m.tags, tagged
            untagged = {"tags": tuple(x for x in m.tags if x != tag)}
            remove = RemoveTag(t, None, raw)
            return lambda: d.handle(actor, remove), valid and tag in m.tags, untagged
        assert name is Command.ATTACH
        file = replace(FILE, internal=data.draw(st.booleans()))
        possible = m.status is not Status.CLOSED and (actor.is_staff or not file.internal)
        return lambda: d.attach(actor, t, file), possible, {}

    def link(self, a: UUID, b: UUID, actor: Actor) -> None:
        ma, mb = self.models[a], self.models[b]
        expected = a != b and b not in ma.links
        expected = expected and may(actor, Command.LINK, ma.scope)
        expected = expected and may(actor, Command.LINK, mb.scope)
        event(f"link {'carried out' if expected else 'refused'}")
        before = position(self.desk)
        try:
            self.desk.link(actor, a, b)
        except DeskError:
            assert not expected and position(self.desk) == before
            return
        assert expected and position(self.desk) == before + 2
        self.models[a] = replace(ma, links=ma.links | {b}, version=ma.version + 1)
        self.models[b] = replace(mb, links=mb.links | {a}, version=mb.version + 1)
        self.check_model(a)
        self.check_model(b)

    def check_model(self, ticket_id: UUID) -> None:
        m, t = self.models[ticket_id], self.desk.ticket(self.world.agent, ticket_id)
        assert (t.status, t.line, t.group_id, t.assignee_id, t.priority, t.rating) == (
            m.status,
            m.line,
            m.group_id,
            m.assignee_id,
            m.priority,
            m.rating,
        )
        assert (t.requested_fields, len(t.requested_questions)) == (m.requested, m.questions)
        assert (frozenset(other for other, _ in t.links), t.version) == (m.links, m.version)
        assert t.category_id == (m.category_id or self.world.contracts)
        assert t.tags == m.tags

    @invariant()
    def replay_from_the_store_equals_the_live_ticket(self) -> None:
        for ticket_id in self.models:
            live: Ticket = self.desk.repository.get(ticket_id)
            assert state_of(self.fresh.repository.get(ticket_id)) == state_of(live)

    @invariant()
    def requesters_never_see_internal_notes(self) -> None:
        for ticket_id, m in self.models.items():
            for stored in self.fresh.events.get(ticket_id):
                name = type(stored).__name__
                shown = visible_data(m.owner, name, dict(vars(stored)))
                if shown is None:
                    continue
                assert name not in HIDDEN
                assert "reason" not in shown or name not in ("Escalated", "Transferred")
                attachments = (*shown.get("attachments", ()), shown.get("attachment", FILE))
                assert not any(a.internal for a in attachments), name

    @invariant()
    def the_hash_chains_verify(self) -> None:
        report = verify(self.desk)
        assert report.problems == [] and report.events == position(self.desk)


DeskMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=50, deadline=None, print_blob=True
)
TestDeskMachine = DeskMachine.TestCase
