"""The desk's filtered list (projections/desk_query.py) against what the tickets view holds:
every filter and sort gives exactly the rows a plain reading of the view says, pages walk the
whole list once in order, the viewer sees only what the access policy lets him see, and the
common filters do not scan the whole table on PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import Actor, TicketScope, may_see, requests_seen
from domain.queue_filter import QueueFilter, parse
from domain.settings import Settings
from domain.sla_setup import CalendarSpec, Policy
from domain.ticket import Priority
from domain.tickets.commands import RaiseSlaAlarm
from projections import desk_query
from projections.queues import TicketRow
from projections.system import Projections
from projections.tickets import COLUMNS
from tests.conftest import settings_for
from tests.projections.stories import busy_day
from tests.world import World

RANK = {"critical": 0, "high": 1, "normal": 2, "low": 3}
pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """PostgreSQL only: the plans and the dialect the desk runs on at 100 agents."""
    return settings_for("postgres", tmp_path, request)


def uid(actor: Actor) -> UUID:
    assert actor.id is not None
    return actor.id


def all_rows(projections: Projections) -> list[TicketRow]:
    with projections.db.read() as tx:
        return [TicketRow(*r) for r in tx.all(f"SELECT {', '.join(COLUMNS)} FROM v_tickets")]


def walk(projections: Projections, actor: Actor, f: QueueFilter, limit: int = 3,
         now: datetime | None = None) -> list[int]:  # fmt: skip
    """Every page of the filtered list, `limit` rows at a time; the numbers in order."""
    numbers: list[int] = []
    after = None
    with projections.db.read() as tx:
        while True:
            page = desk_query.find(tx, requests_seen(actor), f, actor.id, after, limit, now)
            numbers += [r.number for r in page.rows]
            if page.after is None:
                return numbers
            assert len(page.rows) == limit
            after = page.after


def wanted(rows: list[TicketRow], actor: Actor, f: QueueFilter) -> list[TicketRow]:
    """The filter read plainly, row by row (no SLA, no tags)."""

    def fits(r: TicketRow) -> bool:
        scope = TicketScope(UUID(r.id), _u(r.requester_id), _u(r.organisation_id))
        assignees = {str(actor.id) if a == "me" else a for a in f.assignee}
        return (may_see(actor, scope)
                and (not f.statuses or r.status in f.statuses)
                and (not f.line or r.line in f.line)
                and (not f.group or r.group_id in f.group)
                and (not f.priority or r.priority in f.priority)
                and (not f.org or r.organisation_id in f.org)
                and (not f.channel or r.channel in f.channel)
                and (not f.category or r.category_id in f.category)
                and (not f.assignee or (r.assignee_id in assignees)
                     or ("none" in f.assignee and r.assignee_id is None))
                and (f.since() is None or r.filed_at >= (f.since() or ""))
                and (f.until() is None or r.filed_at < (f.until() or "")))  # fmt: skip

    return [r for r in rows if fits(r)]


def ordered(rows: list[TicketRow], sort: str) -> list[int]:
    keys: dict[str, Any] = {
        "newest": lambda r: -r.number,
        "oldest": lambda r: r.number,
        "priority": lambda r: (RANK[r.priority], r.number),
        "activity": lambda r: (_neg(r.updated_at), -r.number),
    }
    return [r.number for r in sorted(rows, key=keys[sort])]


def _neg(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


def _u(text: str | None) -> UUID | None:
    return UUID(text) if text else None


def a_filter(**given: Any) -> QueueFilter:
    pairs = [(k, str(v)) for k, vs in given.items() for v in (vs if isinstance(vs, list) else [vs])]
    found, errors = parse(pairs)
    assert errors == {}
    return found


@pytest.fixture
def busy(world: World, projections: Projections) -> World:
    """A desk after a seeded random day of work, with requests of two organisations."""
    tickets = [world.file(subject=f"Заявка {n}").id for n in range(8)]
    busy_day(world, random.Random(18), tickets, 120)
    world.desk.file_ticket(world.stranger, world.contracts, "Чужая заявка", "Описание",
                           {"contract_number": "1234567890123456789"})  # fmt: skip
    world.desk.change_priority(world.agent, world.file(subject="Срочно").id, Priority.CRITICAL)
    projections.catch_up()
    return world


def test_each_filter_and_sort_gives_the_rows_the_view_holds_page_by_page(
    busy: World,
    projections: Projections,
) -> None:
    w = busy
    rows = all_rows(projections)
    assert len({r.line for r in rows}) > 1 and len({r.status for r in rows}) > 2
    day = rows[0].filed_at[:10]
    filters: list[dict[str, Any]] = [
        {}, {"status": "active"}, {"status": ["resolved", "closed"]}, {"line": 2},
        {"line": [1, 3], "status": "active"}, {"group": str(w.line2)},
        {"assignee": "me"}, {"assignee": "none", "status": "active"},
        {"assignee": [str(uid(w.engineer)), "none"]}, {"priority": ["critical", "high"]},
        {"org": str(w.other_org)}, {"channel": "cabinet"}, {"category": str(w.contracts)},
        {"from": day, "to": day}, {"from": "2000-01-01", "to": "2000-01-02"},
    ]  # fmt: skip
    for given in filters:
        for sort in ("newest", "oldest", "priority", "activity"):
            f = a_filter(**given, sort=sort)
            for actor in (w.agent, w.engineer, w.requester, w.stranger):
                expected = ordered(wanted(rows, actor, f), sort)
                assert walk(projections, actor, f) == expected, (given, sort, actor.id)
                with projections.db.read() as tx:
                    counted = desk_query.count(tx, requests_seen(actor), f, actor.id)
                assert counted == len(expected)


def test_nobody_sees_through_a_filter_what_the_policy_hides(
    busy: World,
    projections: Projections,
) -> None:
    """The desk is the staff's (who see every request: domain/access.py `may_see`); the same
    query keeps a requester to his organisation's requests whatever he asks, and a line-1
    agent asking for line 1 gets no request of another line."""
    w = busy
    rows = {r.number: r for r in all_rows(projections)}
    every: list[dict[str, Any]] = [
        {}, {"org": str(w.other_org)}, {"org": str(w.org)}, {"status": "active"}, {"line": 2},
        {"assignee": "none"},
    ]  # fmt: skip
    for given in every:
        f = a_filter(**given)
        theirs = walk(projections, w.stranger, f)
        assert all(rows[n].organisation_id == str(w.other_org) for n in theirs)
        ours = walk(projections, w.requester, f)
        assert all(rows[n].organisation_id == str(w.org) for n in ours)
    line1 = walk(projections, w.agent, a_filter(line=1, status="active"))
    assert line1 and all(rows[n].line == 1 for n in line1)
    line2 = walk(projections, w.agent, a_filter(line=2))
    assert line2 and all(rows[n].line == 2 for n in line2)
    visitor = Actor.visitor(UUID(next(iter(rows.values())).id))
    assert len(walk(projections, visitor, a_filter())) == 1


def test_the_sla_state_follows_what_the_sla_view_holds(
    world: World,
    projections: Projections,
) -> None:
    d = world.desk
    d.set_sla(world.admin, (CalendarSpec("business", "Круглосуточно", always=True),),
              (Policy(uuid4(), "Стандарт", 60, 480),), 5)  # fmt: skip
    late, warned, fine = (world.file(subject=s).id for s in ("Просрочена", "На грани", "В срок"))
    due = datetime.now(UTC) + timedelta(minutes=30)
    for ticket, alarm in ((late, "first_response_breach"), (warned, "first_response_warning")):
        version = d.repository.get(ticket).version
        d.send(RaiseSlaAlarm(ticket, version, alarm, due, "Стандарт"))
    projections.catch_up()
    numbers = {r.id: r.number for r in all_rows(projections)}

    def state(*states: str, now: datetime | None = None) -> set[int]:
        return set(walk(projections, world.agent, a_filter(sla=list(states)), now=now))

    assert state("breached") == {numbers[str(late)]}
    assert state("at_risk") == {numbers[str(warned)]}
    assert state("ok") == {numbers[str(fine)]}
    assert state("ok", "at_risk") == {numbers[str(fine)], numbers[str(warned)]}
    assert state("none") == set()
    later = datetime.now(UTC) + timedelta(days=30)  # every running clock past its target
    assert state("breached", now=later) == set(numbers.values())
    d.reply(world.agent, late, "Отвечаем")  # the first response given: its breach is history
    projections.catch_up()
    assert numbers[str(late)] not in state("breached")
    by_deadline = walk(projections, world.agent, a_filter(sort="sla"))
    assert sorted(by_deadline) == sorted(numbers.values())


def test_a_bad_cursor_starts_from_the_top_and_a_long_list_pages_in_order(
    world: World,
    projections: Projections,
) -> None:
    for n in range(7):
        world.file(subject=f"Заявка {n}")
    projections.catch_up()
    f = a_filter(sort="oldest")
    numbers = walk(projections, world.agent, f, limit=2)
    assert numbers == sorted(numbers) and len(numbers) == 7
    with projections.db.read() as tx:
        seen = requests_seen(world.agent)
        for bad in ("x", "~", "abc~def", "1~", "~~~5", "9" * 200):
            page = desk_query.find(tx, seen, f, world.agent.id, bad, 2)
            assert [r.number for r in page.rows] == numbers[:2] or page.rows == []


def test_the_common_filters_read_an_index_not_the_whole_table(
    world: World,
    projections: Projections,
) -> None:
    """EXPLAIN on PostgreSQL with 5,000 requests in the view (rows written straight into the
    view: the query's plan is what is checked, not how the rows came)."""
    groups = [str(world.line1), str(world.line2), str(world.line3)]
    staff = [str(uid(world.agent)), str(uid(world.engineer)), None]
    rng = random.Random(5)
    rows = []
    for n in range(5000):
        filed = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=37 * n)).isoformat()
        rows.append((str(uuid4()), 100000 + n, f"Заявка {n}",
                     rng.choice(["new", "open", "waiting", "resolved", "closed", "closed"]),
                     rng.choice(["low", "normal", "high", "critical"]), rng.choice([1, 2, 3]),
                     rng.choice(groups), rng.choice(staff), None, str(world.org),
                     str(world.contracts), rng.choice(["cabinet", "email", "phone"]), "",
                     filed, filed, 1, "request"))  # fmt: skip
    columns = [c for c in COLUMNS if c != "tags"]
    with projections.db.tx() as tx:
        marks = ", ".join(["%s"] * len(columns))
        tx.executemany(f"INSERT INTO v_tickets ({', '.join(columns)}) VALUES ({marks})", rows)
        tx.execute("ANALYZE v_tickets")
    common: list[dict[str, Any]] = [
        {}, {"status": "active"}, {"status": "active", "line": 1}, {"group": groups[1]},
        {"assignee": "me", "status": "active"}, {"assignee": "none", "status": "active"},
        {"category": str(world.contracts), "status": "active"}, {"org": str(world.org)},
        {"channel": "email", "status": "active"}, {"from": "2026-02-01", "to": "2026-02-03"},
        {"sort": "priority"}, {"sort": "activity"}, {"status": "active", "sort": "oldest"},
    ]  # fmt: skip
    with projections.db.read() as tx:
        for given in common:
            plan = "\n".join(desk_query.explain(tx, requests_seen(world.agent), a_filter(**given),
                                                world.agent.id))  # fmt: skip
            assert "Seq Scan on v_tickets" not in plan, (given, plan)
