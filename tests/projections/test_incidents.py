"""Triggers and mass incidents through the view and the process, with a controllable clock: a
spike of 50 requests in one category opens one incident, links all 50, one update reaches all
50 requesters, and resolving it resolves them all; nothing repeats after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from domain.access import Actor
from domain.desk import SYSTEM
from domain.incidents import Criteria, MassIncident, TriggerRule
from domain.people import Role
from processes.incidents import IncidentProcess
from projections.db import Tx
from projections.incidents import (
    incidents,
    linked_incident,
    linked_requests,
    slot,
    todo,
    undelivered,
    window_counts,
)
from projections.system import Projections
from projections.timeline import timeline
from tests.world import World

TITLE = "Не подписываются контракты"
DESCRIPTION = "Мы знаем о сбое подписи контрактов; разработчики его исправляют."
NOTICE = f"**{TITLE}**\n\n{DESCRIPTION}"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def requesters(world: World, n: int, prefix: str = "r") -> list[Actor]:
    desk = world.desk
    found = []
    for i in range(n):
        account = desk.register_account(
            SYSTEM, f"{prefix}{i}", f"Заказчик {i}", (Role.REQUESTER,), world.org
        ).id
        found.append(desk.actor_for(account))
    return found


def file(world: World, who: Actor, subject: str = "Контракт не подписывается") -> UUID:
    return world.desk.file_ticket(
        who,
        world.contracts,
        subject,
        "Ошибка подписи при публикации.",
        {"contract_number": "1234567890123456789"},
    ).id


def public(tx: Tx, ticket: UUID) -> list[tuple[str, Any]]:
    """What the request's requester sees: (event, its message) of each public entry."""
    found = []
    for e in timeline(tx, str(ticket), staff=False):
        text = e.data.get("body") or e.data.get("resolution") or e.data.get("description")
        found.append((e.event, text))
    return found


def settle(projections: Projections, process: IncidentProcess) -> int:
    """Ticks until the process has nothing left to do; returns how many commands wrote."""
    written = 0
    for _ in range(10):
        projections.catch_up()
        did = process.tick()
        if not did:
            return written
        written += did
    raise AssertionError("the process never settles")


def test_a_spike_of_50_opens_one_incident_links_all_and_one_update_reaches_all(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    spike = TriggerRule(uuid4(), "Всплеск по контрактам", Criteria(world.contracts), 50, 10)
    desk.set_trigger_rules(world.admin, (spike,))
    people = requesters(world, 51)
    tickets = [file(world, p, f"Контракт {i} не подписывается") for i, p in enumerate(people[:49])]
    clock = Clock()
    process = IncidentProcess(desk, projections.db, now=clock)
    assert settle(projections, process) == 0, "49 in the window: the rule does not fire"
    tickets.append(file(world, people[49]))
    later = Clock()
    later.now = clock.now + timedelta(minutes=11)  # the window has passed the first 49
    assert settle(projections, IncidentProcess(desk, projections.db, now=later)) == 0
    clock.now = datetime.now(UTC)
    assert settle(projections, process) == 1, "50 within ten minutes: one proposal"
    assert settle(projections, IncidentProcess(desk, projections.db, now=clock)) == 0
    with projections.db.read() as tx:
        proposals = incidents(tx, ("proposed",))
        counted = window_counts(tx, (spike,), clock.now)[spike.id].count
        feed = tx.all("SELECT topic, event FROM v_feed WHERE ticket_id = %s", (proposals[0].id,))
    assert len(proposals) == 1 and proposals[0].count == 50 and counted == 50
    assert ("incidents", "Proposed") in feed, "the board hears of it live"
    development = [r for r in feed if r[0].startswith("group:")]
    assert development, "the developers' group is alerted (no groups named: development, ops)"

    proposal = UUID(proposals[0].id)
    desk.open_incident(world.developer, TITLE, DESCRIPTION, proposal_id=proposal)
    assert settle(projections, process) == 1, "all 50 linked (and told) in one command"
    with projections.db.read() as tx:
        (row,) = incidents(tx, ("open",))
        assert (row.linked, row.pending) == (50, 0)
        assert len(linked_requests(tx, row.id)) == 50
        for t in tickets:
            assert public(tx, t)[-1] == ("Replied", NOTICE), "told that the problem is known"
        assert window_counts(tx, (spike,), clock.now)[spike.id].count == 0, "explained now"
    assert settle(projections, IncidentProcess(desk, projections.db, now=clock)) == 0

    late = file(world, people[50], "И у нас не подписывается")
    assert settle(projections, process) == 1, "linked on filing"
    with projections.db.read() as tx:
        assert public(tx, late)[-1] == ("Replied", NOTICE)
        found = linked_incident(tx, str(late))
        assert found is not None and found.id == str(proposal) and found.title == TITLE
    tickets.append(late)

    before = desk.recorder.max_notification_id() or 0
    desk.publish_incident_update(world.developer, proposal, "Исправление выйдет в 15:00.")
    published = [
        n
        for n in desk.recorder.select_notifications(start=before + 1, limit=1000)
        if n.topic.endswith("MassIncident.UpdatePublished")
    ]
    assert len(published) == 1, "one update is one event"
    projections.catch_up()
    with projections.db.read() as tx:
        for t in tickets:
            assert public(tx, t)[-1] == ("Replied", "Исправление выйдет в 15:00.")
    assert settle(projections, process) == 0

    desk.resolve_incident(world.developer, proposal, "Сбой устранён; подпишите контракт снова.")
    assert settle(projections, process) == 0
    with projections.db.read() as tx:
        for t in tickets:
            assert public(tx, t)[-1] == ("Resolved", "Сбой устранён; подпишите контракт снова.")
        statuses = tx.all("SELECT DISTINCT status FROM v_tickets")
        assert statuses == [("resolved",)]
        assert undelivered(tx) == [] and todo(tx) == {}
        before_rebuild = tx.all("SELECT * FROM v_incidents ORDER BY id")
        links = tx.all("SELECT * FROM v_incident_links ORDER BY ticket_id")
    assert settle(projections, IncidentProcess(desk, projections.db, now=clock)) == 0
    incident = desk.incident(world.developer, proposal)
    assert isinstance(incident, MassIncident) and len(incident.links) == 51
    projections.runner("incidents").rebuild()
    with projections.db.read() as tx:
        assert tx.all("SELECT * FROM v_incidents ORDER BY id") == before_rebuild
        assert tx.all("SELECT * FROM v_incident_links ORDER BY ticket_id") == links


def test_a_rate_rule_compares_with_the_usual_rate_for_the_hour_of_the_week(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    rate = TriggerRule(uuid4(), "Втрое чаще обычного", Criteria(world.contracts), 5, 10, Decimal(3))
    desk.set_trigger_rules(world.admin, (rate,))
    people = requesters(world, 6)
    for p in people:
        file(world, p)
    projections.catch_up()
    clock = Clock()
    week, hour = slot(clock.now)
    with projections.db.tx() as tx:  # four weeks of history: 60 an hour at this hour
        for w in range(week - 4, week):
            tx.execute(
                "INSERT INTO v_incident_rates (category_id, week, hour, count)"
                " VALUES (%s, %s, %s, 60)",
                (str(world.contracts), w, hour),
            )
    with projections.db.read() as tx:
        state = window_counts(tx, (rate,), clock.now)[rate.id]
    assert (state.count, state.usual) == (6, Decimal("10.00")), "10 usual in ten minutes"
    process = IncidentProcess(desk, projections.db, now=clock)
    assert process.tick() == 0, "6 is not three times 10"
    with projections.db.tx() as tx:
        tx.execute("UPDATE v_incident_rates SET count = 3 WHERE week < %s", (week,))
    assert process.tick() == 1, "6 is more than three times 0.5"


def test_an_incident_opened_by_hand_takes_matching_requests_since_its_start(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    people = requesters(world, 3)
    old = file(world, people[0], "Ошибка ЭЦП")
    other = file(world, people[1], "Не грузится файл")
    projections.catch_up()
    since = datetime.now(UTC) - timedelta(hours=1)
    w = desk.open_incident(
        world.developer, "Сбой ЭЦП", "Знаем, чиним.", Criteria(words=("эцп", "не проходит")), since
    )
    process = IncidentProcess(desk, projections.db)
    settle(projections, process)
    new = file(world, people[2], "Подпись не проходит")
    settle(projections, process)
    incident = desk.incident(world.developer, w.id)
    assert set(incident.links) == {old, new}, "matching words only"
    desk.unlink_from_incident(world.agent, w.id, new)
    assert settle(projections, process) == 0, "taken out by hand: not linked again"
    desk.link_to_incident(world.agent, w.id, (other,))
    settle(projections, process)
    with projections.db.read() as tx:
        assert public(tx, other)[-1] == ("Replied", "**Сбой ЭЦП**\n\nЗнаем, чиним.")
        assert linked_incident(tx, str(new)) is None
        (row,) = incidents(tx, ("open",))
        assert row.linked == 2
