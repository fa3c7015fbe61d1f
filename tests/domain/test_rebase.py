"""A versioned command that meets a newer ticket: refused (409) when a person changed it
meanwhile, carried out when only the processes annotated or routed it (domain/tickets/rebase.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.desk import Desk
from domain.errors import Conflict
from domain.ticket import Ticket
from domain.tickets import commands as c
from tests.domain.support import memory_env, refused
from tests.world import World

DUE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World.build(Desk(memory_env(tmp_path_factory, "rebase")))


def filed(world: World) -> tuple[UUID, int]:
    written = world.file(subject="Не подписывается договор")
    return written.id, written.version


def alarm(world: World, ticket: UUID) -> None:
    world.desk.send(c.RaiseSlaAlarm(ticket, None, "first_response_warning", DUE, "Стандарт"))


def events_of(desk: Desk, ticket: UUID) -> list[str]:
    return [type(e).__name__ for e in desk.events.get(ticket)]


def test_a_reply_goes_through_an_sla_alarm_raised_since_the_agent_looked(world: World) -> None:
    d, ticket = world.desk, filed(world)
    seen = d.repository.get(ticket[0]).version
    alarm(world, ticket[0])
    assert d.repository.get(ticket[0]).version == seen + 1
    written = d.reply(world.agent, ticket[0], "Проверьте сертификат", expected_version=seen)
    assert written.version == seen + 2
    assert events_of(d, ticket[0])[-2:] == ["SlaAlarmed", "Replied"]


def test_a_note_goes_through_the_assigners_pick_but_an_assignment_does_not(world: World) -> None:
    d, (ticket, _) = world.desk, filed(world)
    t: Ticket = d.repository.get(ticket)
    seen, group = t.version, t.group_id
    assert group is not None and t.assignee_id is None
    d.send(c.AssignAutomatically(ticket, None, group, world.agent.id))  # type: ignore[arg-type]
    assert d.note(world.engineer, ticket, "Смотрю", expected_version=seen).version == seen + 2
    with refused(d, Conflict):  # routing was what this one decided on
        d.assign(world.engineer, ticket, group, None, expected_version=seen)


def test_a_reply_is_refused_when_a_person_wrote_meanwhile(world: World) -> None:
    d, (ticket, _) = world.desk, filed(world)
    seen = d.repository.get(ticket).version
    d.write(world.requester, ticket, "Ошибка повторяется")
    with refused(d, Conflict) as info:
        d.reply(world.agent, ticket, "Проверьте сертификат", expected_version=seen)
    assert (info.value.expected, info.value.current) == (seen, seen + 1)


def test_a_reply_is_refused_when_a_person_reassigned_meanwhile(world: World) -> None:
    d, (ticket, _) = world.desk, filed(world)
    seen = d.repository.get(ticket).version
    d.transfer(world.agent, ticket, world.line2, "Нужен инженер")
    with refused(d, Conflict):
        d.note(world.agent, ticket, "Заметка", expected_version=seen)


def test_a_version_from_the_future_or_before_the_first_is_a_conflict(world: World) -> None:
    d, (ticket, _) = world.desk, filed(world)
    current = d.repository.get(ticket).version
    alarm(world, ticket)
    for version in (current + 5, 0):
        with refused(d, Conflict):
            d.reply(world.agent, ticket, "Ответ", expected_version=version)
