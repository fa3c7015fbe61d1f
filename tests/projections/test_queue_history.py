"""A queue exactly as it stood at a moment: requests move between groups and states over time,
and the queue at each moment between their changes shows exactly who was in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.ticket import Ticket
from projections.queue_history import queue_at
from projections.system import Projections
from tests.world import World


def moments(world: World, ticket: object) -> list[datetime]:
    return [e.timestamp for e in world.desk.repository.event_store.get(ticket)]  # type: ignore[arg-type]


def test_a_queue_at_every_moment_between_changes(world: World, projections: Projections) -> None:
    desk = world.desk
    a, b = world.file("Первая").id, world.file("Вторая").id
    desk.assign(world.agent, a, world.line1, world.agent.id)
    desk.escalate(world.agent, a, world.line2, "Нужна вторая линия")
    desk.request_information(world.agent, b, ("signed_on",), (), "Уточните дату")
    desk.resolve(world.engineer, a, "Готово")
    projections.catch_up()
    ea = [e for e in desk.repository.event_store.get(a)]
    eb = [e for e in desk.repository.event_store.get(b)]
    filed_b, escalated, waiting, resolved = (eb[1].timestamp, ea[3].timestamp, eb[-1].timestamp,
                                             ea[-1].timestamp)  # fmt: skip
    assert isinstance(ea[3], Ticket.Escalated) and isinstance(ea[-1], Ticket.Resolved)
    assert isinstance(eb[1], Ticket.Assigned), "routed to its group just after filing"
    tiny = timedelta(microseconds=1)
    line1, line2 = str(world.line1), str(world.line2)

    def numbers(kind: str, arg: str, at: datetime) -> list[str]:
        with projections.db.read() as tx:
            return [r.subject for r in queue_at(tx, kind, arg, at)]

    assert numbers("group", line1, ea[0].timestamp - tiny) == []
    assert numbers("group", line1, filed_b + tiny) == ["Первая", "Вторая"]
    assigned = ea[2].timestamp  # the first taken by the agent
    assert numbers("unassigned", line1, filed_b + tiny) == ["Первая", "Вторая"]
    assert numbers("unassigned", line1, assigned + tiny) == ["Вторая"]
    assert numbers("assignee", str(world.agent.id), assigned + tiny) == ["Первая"]
    assert numbers("group", line1, escalated + tiny) == ["Вторая"]
    assert numbers("group", line2, escalated + tiny) == ["Первая"]
    assert numbers("line", "2", escalated + tiny) == ["Первая"]
    assert numbers("waiting", line1, waiting + tiny) == ["Вторая"]
    assert numbers("group", line2, resolved + tiny) == [], "resolved: out of the open queue"
    assert numbers("group", line1, datetime.now(UTC)) == ["Вторая"]
