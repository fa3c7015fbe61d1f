"""@mentions in internal notes (issue 16): whom a note names, in memory against the real desk."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.desk import SYSTEM, Desk
from domain.errors import Forbidden, NotFound
from domain.mentions import group_handle, handles_in
from domain.people import GroupKind, Role
from domain.setup.people import DisableAccount, LeaveGroup
from domain.ticket import Ticket
from tests.domain.support import memory_env
from tests.world import World


@pytest.fixture(scope="module")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return memory_env(tmp_path_factory, "mentions")


@pytest.fixture
def world(base_env: dict[str, str]) -> World:
    return World.build(Desk(base_env))


def note(w: World, body: str, by: Any = None) -> Ticket.NoteAdded:
    """The NoteAdded that `by` (an agent of line 1 by default) records with `body`."""
    ticket = w.file().id
    w.desk.note(by or w.agent, ticket, body)
    event = last_event(w.desk, ticket)
    assert isinstance(event, Ticket.NoteAdded)
    return event


def last_event(desk: Desk, ticket: UUID) -> Any:
    return desk.mapper.to_domain_event(list(desk.recorder.select_events(ticket))[-1])


def uid(actor: Any) -> UUID:
    assert actor.id is not None
    return UUID(str(actor.id))


def test_handles_are_found_outside_words_and_addresses() -> None:
    text = "@Ivan, see ivan@example.ru and (@line-2). e-mail@x; @петров."
    assert handles_in(text) == ["ivan", "line-2", "петров."]
    assert group_handle("Линия 2 — 1С") == "линия-2-1с"
    assert group_handle("  Dev_Ops  team ") == "dev-ops-team"


def test_a_login_names_that_staff_member(world: World) -> None:
    e = note(world, "@engineer2 посмотри, пожалуйста")
    assert e.mentions == (uid(world.engineer),)
    assert e.handles == ("engineer2",)


def test_a_group_names_its_active_members_at_that_moment(world: World) -> None:
    desk = world.desk
    second = desk.register_account(SYSTEM, "dev2", "Dev Two", (Role.DEVELOPER,)).id
    gone = desk.register_account(SYSTEM, "dev3", "Dev Three", (Role.DEVELOPER,)).id
    development = desk.form_group(SYSTEM, "Разработка 1С", GroupKind.DEVELOPMENT).id
    for account in (uid(world.developer), second, gone):
        desk.add_to_group(SYSTEM, account, development)
    desk.handle(SYSTEM, DisableAccount(gone))
    e = note(world, "Нужна помощь @разработка-1с!")
    assert set(e.mentions) == {uid(world.developer), second}
    assert e.handles == ("разработка-1с",)
    desk.handle(SYSTEM, LeaveGroup(second, development))  # later members are the group's now
    assert note(world, "@разработка-1с ещё раз").mentions == (uid(world.developer),)


def test_unknown_handles_and_requesters_are_plain_text(world: World) -> None:
    e = note(world, "@nobody @ivanova @petrov напишите клиенту; agent1@desk.ru")
    assert (e.mentions, e.handles) == ((), ())
    assert e.body == "@nobody @ivanova @petrov напишите клиенту; agent1@desk.ru"


def test_the_author_is_never_named_even_through_his_group(world: World) -> None:
    desk = world.desk
    colleague = desk.register_account(SYSTEM, "agent7", "Agent Seven", (Role.AGENT,)).id
    desk.add_to_group(SYSTEM, colleague, world.line1)
    e = note(world, "@agent1 @line1 кто свободен?")
    assert e.mentions == (colleague,)
    assert e.handles == ("line1",)  # @agent1 named only the author


def test_a_full_stop_after_a_handle_is_not_part_of_it(world: World) -> None:
    e = note(world, "Передал @engineer2. Жду.")
    assert e.mentions == (uid(world.engineer),)


def test_a_note_without_handles_names_nobody(world: World) -> None:
    assert note(world, "Просто заметка").mentions == ()


def test_an_old_note_without_mentions_loads(world: World) -> None:
    """A NoteAdded stored before issue 16 has neither field: it reads as naming nobody."""
    desk = world.desk
    ticket = world.file().id
    desk.note(world.agent, ticket, "@engineer2 старая заметка")
    stored = list(desk.recorder.select_events(ticket))[-1]
    transcoder = desk.mapper.transcoder
    state = transcoder.decode(stored.state)
    assert state.pop("mentions") and state.pop("handles")
    old = type(stored)(stored.originator_id, stored.originator_version, stored.topic,
                       transcoder.encode(state))  # fmt: skip
    event = desk.mapper.to_domain_event(old)
    assert isinstance(event, Ticket.NoteAdded)
    assert (event.body, event.mentions, event.handles) == ("@engineer2 старая заметка", (), ())


def test_a_mention_grants_reading_and_nothing_the_role_does_not(world: World) -> None:
    """Every member of staff reads every request (docs/security.md), so a consulted colleague
    reads it and notes on it as his role lets him; a mention gives no right of its own."""
    desk = world.desk
    ticket = world.file().id
    desk.note(world.agent, ticket, "@auditor @quality @engineer2 посмотрите")
    for consulted in (world.auditor, world.quality, world.engineer):
        assert desk.ticket(consulted, ticket).id == ticket
    desk.note(world.quality, ticket, "Проверено качеством")  # a quality reviewer notes
    with pytest.raises(Forbidden):
        desk.note(world.auditor, ticket, "Аудитор не пишет")
    with pytest.raises(Forbidden):
        desk.reply(world.quality, ticket, "Ответ клиенту")
    with pytest.raises(NotFound):  # and a requester of another organisation still sees nothing
        desk.ticket(world.stranger, ticket)
