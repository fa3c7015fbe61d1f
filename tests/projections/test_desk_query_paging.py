"""The desk's filtered list pages the same on both stores (the PostgreSQL-only details are in
test_desk_query.py): every sort walks the whole list once, in its order, a page at a time."""

from __future__ import annotations

from domain.access import requests_seen
from domain.queue_filter import SORTS, parse
from domain.ticket import Priority
from projections import desk_query
from projections.system import Projections
from tests.world import World


def test_every_sort_pages_through_the_whole_list_once(
    world: World, projections: Projections
) -> None:
    d, agent = world.desk, world.agent
    filed = [world.file(subject=f"Заявка {n}").id for n in range(7)]
    for ticket, priority in zip(filed[::2], (Priority.CRITICAL, Priority.HIGH, Priority.LOW),
                                strict=False):  # fmt: skip
        d.change_priority(agent, ticket, priority)
    d.reply(agent, filed[1], "Смотрим")  # the latest change
    projections.catch_up()
    seen = requests_seen(agent)
    for sort in SORTS:
        f, errors = parse([("sort", sort)])
        assert not errors
        with projections.db.read() as tx:
            whole = [r.number for r in desk_query.find(tx, seen, f, agent.id, None, 50).rows]
            paged, after = [], None
            while True:
                page = desk_query.find(tx, seen, f, agent.id, after, 2)
                paged += [r.number for r in page.rows]
                if page.after is None:
                    break
                after = page.after
            assert desk_query.count(tx, seen, f, agent.id) == 7
        assert paged == whole and sorted(whole) == list(range(1, 8)), sort
        if sort == "priority":
            numbers = {t: i + 1 for i, t in enumerate(filed)}
            assert whole[:2] == [numbers[filed[0]], numbers[filed[2]]]  # critical, then high
            assert whole[-1] == numbers[filed[4]]  # low last
        if sort == "activity":
            assert whole[0] == 2
