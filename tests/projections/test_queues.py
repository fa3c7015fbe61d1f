"""Queues as the desk sees them: by group, agent, line and status, paged, per requester, counted."""

from __future__ import annotations

import random
from collections.abc import Callable
from uuid import UUID

from domain.access import Actor
from domain.ticket import Contact, Status
from projections import queues
from projections.db import Tx
from projections.queues import Page
from projections.system import Projections
from tests.projections.stories import busy_day, counts_by_sql, counts_in_view
from tests.world import World


def numbers(page: Page) -> list[int]:
    return [r.number for r in page.rows]


def uid(actor: Actor) -> UUID:
    assert actor.id is not None
    return actor.id


def flat(pages: list[list[int]]) -> list[int]:
    return [n for page in pages for n in page]


def walk(fetch: Callable[[int | None], Page]) -> list[list[int]]:
    """Every page of a list, following `next_after` until the last page."""
    pages, after = [], None
    while True:
        page = fetch(after)
        pages.append(numbers(page))
        if page.next_after is None:
            return pages
        assert page.next_after == page.rows[-1].number
        after = page.next_after


def test_a_morning_at_the_desk_fills_each_queue(world: World, projections: Projections) -> None:
    d, agent, engineer = world.desk, world.agent, world.engineer
    new = world.file(subject="Не открывается карточка")  # line 1, nobody on it yet
    taken = world.file(subject="Не грузится файл")
    d.assign(agent, taken.id, world.line1, agent.id)
    up = world.file(subject="Ошибка 500")
    d.escalate(agent, up.id, world.line2, "Ошибка на сервере")
    asked = world.file(subject="Расхождение суммы")
    d.escalate(agent, asked.id, world.line2, "Нужна выгрузка")
    d.assign(engineer, asked.id, world.line2, engineer.id)
    d.request_information(engineer, asked.id, ("amount",), (), "Укажите сумму")
    done = world.file(subject="Как сменить пароль")
    d.resolve(agent, done.id, "Ответили по телефону")
    moved = world.file(subject="Не тот отдел")
    d.transfer(agent, moved.id, world.line2, "Это к инженерам")
    d.assign(engineer, moved.id, world.line2, engineer.id)
    closed = world.file(subject="Дубль")
    d.resolve(agent, closed.id, "Дубль заявки")
    d.close_ticket(agent, closed.id)
    projections.catch_up()

    line1, line2 = world.line1, world.line2
    with projections.db.read() as tx:
        assert numbers(queues.for_group(tx, line1)) == [new.number, taken.number]
        assert numbers(queues.unassigned(tx, line1)) == [new.number]
        assert numbers(queues.for_assignee(tx, uid(agent))) == [taken.number]
        assert numbers(queues.for_group(tx, line2)) == [up.number, asked.number, moved.number]
        assert numbers(queues.unassigned(tx, line2)) == [up.number]
        assert numbers(queues.for_assignee(tx, uid(engineer))) == [
            asked.number,
            moved.number,
        ]
        assert numbers(queues.waiting(tx, line2)) == [asked.number]
        assert numbers(queues.waiting(tx, line1)) == []
        assert numbers(queues.by_line(tx, 1, Status.NEW)) == [new.number]
        assert numbers(queues.by_line(tx, 1, Status.OPEN)) == [taken.number, moved.number]
        assert numbers(queues.by_line(tx, 2, Status.OPEN)) == [up.number]
        assert numbers(queues.by_line(tx, 2, Status.WAITING)) == [asked.number]
        assert numbers(queues.by_line(tx, 1, Status.RESOLVED)) == [done.number]
        assert numbers(queues.by_line(tx, 1, Status.CLOSED)) == [closed.number]
        row = queues.ticket_row(tx, str(moved.id))
        assert row is not None
        assert (row.status, row.line, row.group_id, row.assignee_id, row.version) == (
            "open", 1, str(line2), str(engineer.id), 4,
        )  # fmt: skip
        assert queues.ticket_row(tx, str(UUID(int=7))) is None
        assert queues.counts(tx, [
            "open", f"group:{line1}", f"group:{line2}", f"unassigned:{line1}",
            f"unassigned:{line2}", f"assignee:{agent.id}", f"assignee:{engineer.id}",
            f"waiting:{line2}", "line:1", "line:2", "line:3", "status:new", "status:open",
            "status:waiting", "status:resolved", "status:closed",
        ]) == {
            "open": 5, f"group:{line1}": 2, f"group:{line2}": 3, f"unassigned:{line1}": 1,
            f"unassigned:{line2}": 1, f"assignee:{agent.id}": 1, f"assignee:{engineer.id}": 2,
            f"waiting:{line2}": 1, "line:1": 3, "line:2": 2, "line:3": 0, "status:new": 1,
            "status:open": 3, "status:waiting": 1, "status:resolved": 1, "status:closed": 1,
        }  # fmt: skip
        assert queues.counts(tx, []) == {}


def test_keyset_pages_walk_every_ticket_once(world: World, projections: Projections) -> None:
    filed = [world.file(subject=f"Заявка {i}") for i in range(23)]
    projections.catch_up()
    all_numbers = [f.number for f in filed]
    with projections.db.read() as tx:
        pages = walk(lambda after: queues.for_group(tx, world.line1, after, limit=5))
        assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
        assert flat(pages) == sorted(all_numbers)
        newest = walk(lambda after: queues.requested_by(tx, world.requester, after, limit=5))
        assert flat(newest) == sorted(all_numbers, reverse=True)
        assert walk(lambda after: queues.for_group(tx, world.line1, after, 23)) == [
            sorted(all_numbers)
        ]
        assert len(walk(lambda after: queues.unassigned(tx, world.line1, after, 1))) == 23
        assert [len(p) for p in walk(lambda a: queues.for_group(tx, world.line1, a, 0))] == [1] * 23
        big = queues.for_group(tx, world.line1, limit=10_000)
        assert (len(big.rows), big.next_after) == (23, None)
        exact = walk(lambda after: queues.requested_by(tx, world.requester, after, limit=23))
        assert [len(p) for p in exact] == [23]  # no empty page after an exactly full one


def test_pages_stay_whole_while_the_queue_changes(world: World, projections: Projections) -> None:
    """Tickets leave earlier pages and new ones arrive while an agent pages through the queue."""
    filed = [world.file(subject=f"Заявка {i}") for i in range(12)]
    projections.catch_up()
    seen: list[int] = []
    after: int | None = None
    arrived: list[int] = []
    while True:
        with projections.db.read() as tx:
            page = queues.for_group(tx, world.line1, after, limit=5)
        seen += numbers(page)
        if page.next_after is None:
            break
        after = page.next_after
        world.desk.resolve(world.agent, filed[len(arrived)].id, "Решено")  # already seen
        arrived.append(world.file(subject="Новая заявка").number)
        projections.catch_up()
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert seen == [f.number for f in filed] + arrived


def test_requesters_see_their_own_and_their_organisations_lists(
    world: World, projections: Projections
) -> None:
    d = world.desk

    def file(actor: Actor, subject: str) -> int:
        values = {"contract_number": "1234567890123456789"}
        caller = None if actor.organisation_id else Contact("Иван Петров", "ivan@example.ru")
        return d.file_ticket(
            actor, world.contracts, subject, "Описание", values, contact=caller
        ).number

    mine = [file(world.requester, f"Моя заявка {i}") for i in range(3)]
    colleagues = [file(world.colleague, f"Заявка коллеги {i}") for i in range(2)]
    strangers = [file(world.stranger, f"Чужая заявка {i}") for i in range(2)]
    for_someone = file(world.agent, "Заявка, принятая по телефону")
    mine.append(file(world.requester, "Ещё одна моя"))
    projections.catch_up()
    with projections.db.read() as tx:

        def listed(fetch: Callable[[Tx, Actor, int | None, int], Page], who: Actor) -> list[int]:
            return flat(walk(lambda after: fetch(tx, who, after, 2)))

        org = sorted(mine + colleagues, reverse=True)
        assert listed(queues.requested_by, world.requester) == sorted(mine, reverse=True)
        assert listed(queues.requested_by, world.colleague) == sorted(colleagues, reverse=True)
        assert listed(queues.of_organisation, world.requester) == org
        assert listed(queues.of_organisation, world.colleague) == org
        assert listed(queues.of_organisation, world.stranger) == sorted(strangers, reverse=True)
        assert listed(queues.requested_by, world.agent) == []
        assert listed(queues.of_organisation, world.agent) == []  # staff belong to no organisation
        everything = queues.for_group(tx, world.line1, limit=200)
        assert for_someone in numbers(everything)
        assert queues.of_organisation(tx, world.agent) == Page([], None)


def test_queue_counts_equal_a_recount_after_a_busy_day(
    world: World, projections: Projections
) -> None:
    rng = random.Random(20240501)
    tickets = [world.file(subject=f"Заявка {i}").id for i in range(15)]
    accepted = busy_day(world, rng, tickets, 400)
    assert accepted > 150  # the mix really moved tickets around
    runner = projections.runner("tickets")
    steps = 0
    while runner.step(batch=rng.randint(1, 40)):
        steps += 1
        with projections.db.read() as tx:
            assert counts_in_view(tx) == counts_by_sql(tx)  # at every committed batch
    assert steps > 10
    with projections.db.read() as tx:
        counted = counts_in_view(tx)
        statuses = {r[0] for r in tx.all("SELECT DISTINCT status FROM v_tickets")}
        assert len(tx.all("SELECT id FROM v_tickets")) == len(tickets)
        assert all(n >= 0 for _, n in tx.all("SELECT queue, count FROM v_queue_counts"))
    assert statuses == {"new", "open", "waiting", "resolved", "closed"}
    assert sum(n for q, n in counted.items() if q.startswith("status:")) == len(tickets)
    assert counted["open"] == sum(counted.get(f"status:{s}", 0) for s in ("new", "open", "waiting"))
