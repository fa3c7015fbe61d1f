"""A ticket command decided on this process's cached copy, without reading the store first
(domain/cached_copy.py), on both stores: one process reads nothing before deciding, and two
desks on one store writing the same ticket by turns lose no write and refuse none wrongly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from domain.desk import SYSTEM, Desk
from domain.errors import Conflict, InvalidTransition, NotFound
from domain.results import Written
from domain.ticket import Status, Ticket
from domain.tickets.commands import RaiseSlaAlarm
from tests.domain.support import position, refused
from tests.world import World


@contextmanager
def reads_of(desk: Desk, ticket_id: UUID) -> Iterator[list[Any]]:
    """Records every read of the ticket's events from the store made inside the block (the
    library's fast-forward, a reconstruction, a version check's read of what came between)."""
    store = desk.events
    calls: list[Any] = []
    original: Callable[..., Any] = store.get

    def get(originator_id: UUID, *args: Any, **kwargs: Any) -> Any:
        if originator_id == ticket_id:
            calls.append(kwargs)
        return original(originator_id, *args, **kwargs)

    store.get = get  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        del store.get  # the class's method again


def stored(desk: Desk, ticket_id: UUID) -> list[tuple[int, str, str]]:
    """(version, event, text) of the ticket's conversation as the store holds it."""
    return [
        (e.originator_version, type(e).__name__, getattr(e, "body", ""))
        for e in desk.events.get(ticket_id)
        if isinstance(e, Ticket.Replied | Ticket.NoteAdded | Ticket.SlaAlarmed)
    ]


@pytest.fixture
def other(store_env: dict[str, str]) -> Iterator[Desk]:
    """A second process's desk on the same store (its own aggregate cache)."""
    desk = Desk(store_env)
    yield desk
    desk.close()


def test_a_command_on_a_ticket_this_process_wrote_reads_nothing_before_deciding(
    world: World,
) -> None:
    desk = world.desk
    filed = world.file()
    first = desk.reply(world.agent, filed.id, "Проверьте сертификат.")  # loads, then caches
    trusted = desk.copies.trusted
    with reads_of(desk, filed.id) as reads:
        second = desk.reply(world.agent, filed.id, "И цепочку.", expected_version=first.version)
        third = desk.note(world.agent, filed.id, "Ждём ответа.")
    assert reads == []  # no fast-forward SELECT: decided on the copy, proven by the insert
    assert desk.copies.trusted == trusted + 2
    assert (second.version, third.version) == (first.version + 1, first.version + 2)
    assert position(desk) == third.position
    assert stored(desk, filed.id)[-2:] == [
        (second.version, "Replied", "И цепочку."),
        (third.version, "NoteAdded", "Ждём ответа."),
    ]


def test_two_desks_writing_one_ticket_by_turns_lose_no_write_and_refuse_none(
    world: World, other: Desk
) -> None:
    """Each desk's copy is stale at each of its turns: a versioned reply (its sender saw the
    other desk's write) reads the store at once; an unversioned note's insert meets the other
    desk's event, is refused whole and is decided again; nothing is lost, nothing refused."""
    desks = (world.desk, other)
    filed = world.file()
    version = filed.version
    expected: list[tuple[int, str, str]] = []
    for turn in range(8):
        desk = desks[turn % 2]
        before = desk.copies.stale
        if turn % 4 < 2:  # a client who read the latest version replies against it
            body = f"Ответ {turn}"
            written = desk.reply(world.agent, filed.id, body, expected_version=version)
            kind = "Replied"
        else:  # a note decided on the latest, whatever it is
            body = f"Заметка {turn}"
            written = desk.note(world.engineer, filed.id, body)
            kind = "NoteAdded"
        assert isinstance(written, Written)
        assert written.version == version + 1
        if turn >= 2:  # from its second turn on, each desk's cached copy was stale
            assert desk.copies.stale <= before + 1
        version = written.version
        expected.append((version, kind, body))
    assert stored(world.desk, filed.id) == expected
    assert stored(other, filed.id) == expected
    for desk in desks:
        assert desk.ticket(world.agent, filed.id).version == version
    # one desk writing twice in a row trusts its copy again once a read found nothing new
    world.desk.note(world.engineer, filed.id, "Одна")
    world.desk.note(world.engineer, filed.id, "Две")
    with reads_of(world.desk, filed.id) as reads:
        world.desk.note(world.engineer, filed.id, "Три")
    assert reads == []


def test_a_refusal_on_a_stale_copy_is_decided_again_on_what_is_stored(
    world: World, other: Desk
) -> None:
    filed = world.file()
    world.desk.resolve(world.agent, filed.id, "Сертификат обновлён.")  # this desk's copy: resolved
    other.reopen(world.requester, filed.id, "Ошибка осталась.")  # the other desk reopens it
    written = world.desk.reply(world.agent, filed.id, "Смотрим снова.")  # not "reopen it first"
    assert isinstance(written, Written)
    ticket = other.ticket(world.agent, filed.id)
    assert (ticket.version, ticket.status) == (written.version, Status.OPEN)
    # and a refusal that is right is still given, with nothing written
    other.resolve(world.agent, filed.id, "Готово.")  # this desk's copy says open
    with refused(world.desk, InvalidTransition):
        world.desk.reply(world.agent, filed.id, "Ещё ответ.")


def test_a_versioned_reply_on_a_stale_copy_is_refused_only_for_a_real_conflict(
    world: World, other: Desk
) -> None:
    filed = world.file()
    seen = world.desk.note(world.agent, filed.id, "Смотрю.").version  # cached here at `seen`
    other.reply(world.engineer, filed.id, "Уже ответил.")  # a person answered meanwhile
    with refused(world.desk, Conflict) as info:
        world.desk.reply(world.agent, filed.id, "Мой ответ.", expected_version=seen)
    assert (info.value.expected, info.value.current) == (seen, seen + 1)

    seen = world.desk.note(world.agent, filed.id, "Смотрю ещё.").version
    due = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    alarm = RaiseSlaAlarm(filed.id, None, "first_response_warning", due, "Базовая")
    assert other.send(alarm)
    # only an SLA alarm came between: the reply goes ahead on the current version
    written = world.desk.reply(world.agent, filed.id, "Ответ.", expected_version=seen)
    assert written.version == seen + 2
    # the same alarm again: nothing left to do, nothing written
    before = position(world.desk)
    assert (
        world.desk.send(RaiseSlaAlarm(filed.id, None, "first_response_warning", due, "Базовая"))
        is None
    )
    assert position(world.desk) == before
    assert [k for _, k, _ in stored(world.desk, filed.id)].count("SlaAlarmed") == 1


def test_nothing_to_do_on_a_stale_copy_is_decided_again_on_what_is_stored(
    world: World, other: Desk
) -> None:
    """A process command that finds nothing to do on the copy (resolved here) but has
    something to do on the ticket as stored (reopened by the other desk) writes it."""
    filed = world.file()
    world.desk.resolve(world.agent, filed.id, "Сертификат обновлён.")
    other.reopen(world.requester, filed.id, "Ошибка осталась.")
    due = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    written = world.desk.send(RaiseSlaAlarm(filed.id, None, "resolution_warning", due, "Базовая"))
    assert written is not None
    assert stored(other, filed.id)[-1] == (written.version, "SlaAlarmed", "")


def test_an_id_cached_for_another_kind_of_aggregate_is_not_taken_for_a_request(
    world: World,
) -> None:
    world.desk.actor_for(world.agent.id)  # type: ignore[arg-type]  # the account is cached
    with refused(world.desk, NotFound):
        world.desk.reply(SYSTEM, world.agent.id, "Ответ.")  # type: ignore[arg-type]
