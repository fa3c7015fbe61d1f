"""The activity stream's view and query (projections/activity.py): who did what, with the
request's line, group and category at that moment; each filter (and all together) gives exactly
the matching changes, newest first, in pages; bad filters are refused naming the parameter; on
PostgreSQL every filter reads an index, never the whole table."""

from __future__ import annotations

import random
from uuid import uuid4

import pytest

from domain.desk import SYSTEM
from domain.tickets.commands import ChangeCategory
from projections import activity
from projections.system import Projections
from tests.world import World


def story(world: World) -> dict[str, str]:
    """Two requests: one routed, taken, escalated to line 2 (an engineer answers it, a curator
    notes on it, it moves to another category); one a requester writes on."""
    d, agent, eng, req = world.desk, world.agent, world.engineer, world.requester
    signing = d.define_category(SYSTEM, "Подпись", "Signing").id
    fields = {"contract_number": "1234567890123456789"}
    a = d.file_ticket(req, world.contracts, "Первое", "Ошибка подписи.", fields).id
    d.assign(agent, a, world.line1, agent.id)
    d.escalate(agent, a, world.line2, "Нужен инженер")
    d.reply(eng, a, "Смотрю")
    d.note(world.curator, a, "Куратор: проверьте сроки")
    d.handle(eng, ChangeCategory(a, None, signing, "Не тот раздел"))
    b = d.file_ticket(req, world.contracts, "Второе", "Вопрос.", fields).id
    d.write(req, b, "Дополнение")
    return {"a": str(a), "b": str(b), "signing": str(signing)}


def test_each_filter_gives_exactly_its_changes_with_who_did_them(
    world: World, projections: Projections
) -> None:
    t = story(world)
    projections.catch_up()
    with projections.db.read() as tx:

        def seen(**given: str) -> list[tuple[str, str]]:
            f = activity.filters(given)
            return [(c.ticket_id, c.event) for c in activity.stream(tx, f)]

        everything = activity.stream(tx, activity.Filters())
        shown = [(c.ticket_id, c.event) for c in everything]
        assert shown[:1] == [(t["b"], "RequesterWrote")] and (t["b"], "Filed") in shown
        assert [e for _t, e in shown if _t == t["a"]] == [
            "CategoryChanged",
            "NoteAdded",
            "Replied",
            "Escalated",
            "Assigned",
            "Assigned",
            "Filed",
        ]
        positions = [c.position for c in everything]
        assert positions == sorted(positions, reverse=True)
        by = {(c.ticket_id, c.event): c for c in everything}
        assert by[(t["a"], "NoteAdded")].actor_id == str(world.curator.id)
        assert by[(t["a"], "Replied")].actor_id == str(world.engineer.id)
        assert by[(t["a"], "Escalated")].actor_id == str(world.agent.id)
        assert by[(t["a"], "Filed")].actor_id == str(world.requester.id)
        assert by[(t["b"], "RequesterWrote")].actor_id == str(world.requester.id)
        escalated = by[(t["a"], "Escalated")]
        assert (escalated.line, escalated.group_id) == (2, str(world.line2))
        # line 2: what happened on the request once it was there
        assert seen(line="2") == [(t["a"], "CategoryChanged"), (t["a"], "NoteAdded"),
                                  (t["a"], "Replied"), (t["a"], "Escalated")]  # fmt: skip
        assert seen(group=str(world.line2)) == seen(line="2")
        assert seen(event="NoteAdded") == [(t["a"], "NoteAdded")]
        assert seen(category=t["signing"]) == [(t["a"], "CategoryChanged")]
        assert seen(line="2", event="Replied") == [(t["a"], "Replied")]
        assert seen(line="3") == [] and seen(group=str(uuid4())) == []
        assert all(e[0] != t["a"] or e[1] != "NoteAdded" for e in seen(line="1"))
        # pages: below a position, and what came after one
        first = activity.stream(tx, activity.Filters(), limit=3)
        rest = activity.stream(tx, activity.Filters(), before=first[-1].position)
        assert first + rest == everything
        newer = activity.stream(tx, activity.Filters(), after=first[-1].position)
        assert newer == first[:-1]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"line": "4"}, "line"),
        ({"line": "one"}, "line"),
        ({"group": "nonsense"}, "group"),
        ({"category": "1; DROP TABLE"}, "category"),
        ({"event": "Hacked"}, "event"),
        ({"event": "x" * 5000}, "event"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(given: dict[str, str], field: str) -> None:
    with pytest.raises(activity.BadFilter) as refused:
        activity.filters(given)
    assert refused.value.field == field


def test_every_filter_reads_an_index_on_postgresql(
    world: World, projections: Projections, settings: object
) -> None:
    """EXPLAIN with 20,000 changes in the view (rows written straight into the view: the plan is
    what is checked, not how the rows came)."""
    if projections.db.dialect != "postgres":
        pytest.skip("the plan is PostgreSQL's")
    rng = random.Random(3)
    groups = [str(uuid4()) for _ in range(9)]
    categories = [str(uuid4()) for _ in range(20)]
    tickets = [str(uuid4()) for _ in range(2000)]
    rows = [(p, rng.choice(tickets), p, rng.choice(activity.EVENTS), "2026-01-01T00:00:00+00:00",
             None, rng.choice(activity.LINES), rng.choice(groups), rng.choice(categories))
            for p in range(1, 20001)]  # fmt: skip
    with projections.db.tx() as tx:
        tx.executemany("INSERT INTO v_activity (position, ticket_id, version, event, at, actor_id,"
                       " line, group_id, category_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                       rows)  # fmt: skip
        tx.executemany("INSERT INTO v_activity_tickets (ticket_id, number, subject, line,"
                       " group_id, category_id) VALUES (%s, %s, %s, 1, NULL, %s)",
                       [(t, n, "Заявка", categories[0])
                        for n, t in enumerate(tickets)])  # fmt: skip
        tx.execute("ANALYZE v_activity")
        tx.execute("ANALYZE v_activity_tickets")
    with projections.db.read() as tx:
        chosen = (
            activity.Filters(),
            activity.Filters(line=2),
            activity.Filters(group_id=groups[3]),
            activity.Filters(category_id=categories[5]),
            activity.Filters(event="NoteAdded"),
            activity.Filters(line=1, event="Replied"),
        )
        for f in chosen:
            for before in (None, 10_000):
                plan = "\n".join(activity.explain(tx, f, before))
                assert "Seq Scan on v_activity " not in plan + " ", (f, plan)
                assert "Index" in plan, (f, plan)
