"""The views' catch-up (issue 15): batches grow while the views are far behind the log and are
small again at its head; whatever the batch size, a crash repeats nothing and skips nothing, and
the views end as one replay in small batches leaves them.

Also the view batch's queued writes on PostgreSQL (projections/db.py `_PgTx.defer`): a write that
fails is its own view's failure, raised before the next view runs, and rolled back with the batch.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from eventsourcing.utils import get_topic

from domain.desk import Desk
from domain.settings import Settings
from domain.ticket import Ticket
from domain.tickets.commands import SYSTEM, ReceiveLetter
from projections.base import View, on, set_tracking
from projections.db import Tx, ViewDB, defer, delete_in, insert_rows, update_rows
from projections.runner import Sizing
from projections.system import Projections
from projections.tickets import TicketsView
from projections.timeline import TimelineView
from tests.projections.stories import Crash, busy_day, crash_the_last_replier, dump, positions
from tests.world import World


def _reset(p: Projections) -> None:
    with p.db.tx() as tx:
        for view in p.views:
            for table in view.tables:
                tx.execute(f"DELETE FROM {table}")
            set_tracking(tx, view.name, 0)


def _busy(world: World, tickets: int = 12, commands: int = 80) -> int:
    ids = [world.file(subject=f"Заявка {i}").id for i in range(tickets)]
    busy_day(world, random.Random(15), ids, commands)
    return world.desk.recorder.max_notification_id() or 0


def test_sizing_grows_while_behind_shrinks_when_slow_and_starts_small_at_the_head() -> None:
    s = Sizing(most=80, target=1.0)
    assert s.limit(10) == 10
    s.done(10, 10, 0.01)  # a full batch, quick: the next is twice as big
    assert s.limit(10) == 20
    s.done(20, 20, 0.01)
    s.done(40, 40, 0.01)
    s.done(80, 80, 0.01)
    assert s.limit(10) == 80  # never more than `most`
    s.done(80, 80, 5.0)  # slow: halved
    assert s.limit(10) == 40
    s.done(40, 40, 1.5)  # about the target: kept
    assert s.limit(10) == 40
    s.done(40, 7, 0.01)  # not full: the head is reached, small again
    assert s.limit(10) == 10
    s.done(10, 10, 9.0)  # never fewer than `least`
    assert s.limit(10) == 10


def test_the_pump_reads_bigger_batches_while_far_behind_and_small_ones_at_the_head(
    world: World, projections: Projections
) -> None:
    head = _busy(world)
    pump = projections.pump
    pump.batch, pump.sizing = 4, Sizing(most=32, target=60.0)
    read: list[int] = []
    while handled := pump.step():
        read.append(handled)
        if len(read) > 100:
            break
    assert set(positions(projections).values()) == {head}
    assert read[:4] == [4, 8, 16, 32], read  # doubled after each full batch
    assert max(read) == 32 and len(read) < head // 4
    assert pump.sizing.limit(pump.batch) == 4  # the head reached: small again
    newest = world.desk.reply(world.agent, world.file().id, "Свежий ответ").position
    assert pump.step() <= 4  # a live change is handled in a small batch
    assert set(positions(projections).values()) == {newest}


def test_a_runner_rebuilding_one_view_grows_its_batches_too(
    world: World, projections: Projections
) -> None:
    head = _busy(world)
    projections.catch_up()
    runner = projections.runner("tickets")
    runner.batch, runner.sizing = 4, Sizing(most=64, target=60.0)
    before = dump(projections)["v_tickets"]
    read: list[int] = []
    runner.rebuild(progress=read.append)
    assert read[:3] == [4, 8, 16], read
    assert positions(projections)["tickets"] == head
    assert dump(projections)["v_tickets"] == before  # as the pump's catch-up had made them


def _replied(desk: Desk, after: int) -> list[int]:
    topics = [get_topic(Ticket.Replied)]
    found = desk.recorder.select_notifications(start=after + 1, limit=10_000, topics=topics)
    return [n.id for n in found]


def _small_replay(p: Projections) -> dict[str, list[tuple[object, ...]]]:
    """Every view emptied and replayed alone, three events a batch."""
    _reset(p)
    for r in p.runners:
        while r.step(batch=3):
            pass
    return dump(p)


def test_a_crash_deep_in_a_big_batch_repeats_nothing_and_skips_nothing(
    world: World, projections: Projections
) -> None:
    first = world.file(subject="Уже в видах").position
    projections.catch_up()
    head = _busy(world)
    replies = _replied(world.desk, first)
    target = replies[len(replies) // 2]  # well inside the batch, after many events of it
    pump = projections.pump
    pump.batch, pump.sizing = 4, Sizing(most=10_000, target=60.0)
    pump.sizing.grown = 10_000  # far behind: one batch holds all the work
    tracked, before = positions(projections), dump(projections)
    crashing, seen = crash_the_last_replier(projections, target)
    with pytest.raises(Crash):
        pump.step()
    assert seen[0] < target and seen[-1] == target  # it had handled earlier events of the batch
    assert positions(projections) == tracked  # nobody moved
    assert dump(projections) == before  # every view's rows of the batch rolled back

    projections.runner(crashing).fault = None
    pump.catch_up()
    assert set(positions(projections).values()) == {head}
    assert dump(projections) == _small_replay(projections)  # nothing twice, nothing missing


def test_views_caught_up_in_one_big_batch_equal_a_replay_in_small_ones(
    world: World, projections: Projections
) -> None:
    head = _busy(world, tickets=16, commands=120)
    projections.pump.sizing.grown = 10_000
    projections.catch_up()
    assert set(positions(projections).values()) == {head}
    assert dump(projections) == _small_replay(projections)


class Faulty(View):
    """Writes a row per reply; `bad`: the write breaks a NOT NULL (found by PostgreSQL when the
    queued write is sent, not by the handler)."""

    name = "faulty"
    tables = ("v_faulty",)
    bad = True

    def ddl(self, dialect: str) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS v_faulty (position BIGINT PRIMARY KEY,"
                " ticket_id TEXT NOT NULL)"]  # fmt: skip

    @on(Ticket.Replied)
    def replied(self, tx: Tx, event: Any, position: int) -> None:
        ticket = None if self.bad else str(event.originator_id)
        tx.execute("INSERT INTO v_faulty (position, ticket_id) VALUES (%s, %s)",
                   (position, ticket))  # fmt: skip


def test_a_failing_queued_write_is_its_own_views_failure(desk: Desk, settings: Settings) -> None:
    p = Projections(desk, settings, [TicketsView(), Faulty(), TimelineView()])
    try:
        p.migrate()
        world = World.build(desk)
        ticket = world.file().id
        last = desk.reply(world.agent, ticket, "Ответ").position
        pump = p.pump
        pump._turn()  # the faulty view fails: set beside, the others' batch rolled back
        assert "faulty" in pump.beside and pump.beside["faulty"].failing
        pump._turn()  # the others again, without it
        at = positions(p)
        assert at["tickets"] == at["timeline"] == last and at["faulty"] == 0
        Faulty.bad = False
        pump.beside["faulty"].due = 0.0
        pump._turn()
        pump._turn()
        assert set(positions(p).values()) == {last}
        with p.db.read() as tx:
            rows = tx.all("SELECT position, ticket_id FROM v_faulty")
        assert rows == [(last, str(ticket))]  # written once, after the fix
    finally:
        Faulty.bad = True
        p.db.close_all()


class _Reads:
    """A view batch's transaction that counts the statements reading rows (`one`, `all`)."""

    def __init__(self, tx: Tx) -> None:
        self.tx, self.dialect, self.reads = tx, tx.dialect, 0

    def execute(self, sql: str, params: Any = ()) -> None:
        self.tx.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> None:
        self.tx.executemany(sql, rows)

    def all(self, sql: str, params: Any = (), *, binary: bool = False) -> list[Any]:
        self.reads += 1
        return self.tx.all(sql, params, binary=binary)

    def one(self, sql: str, params: Any = ()) -> Any:
        self.reads += 1
        return self.tx.one(sql, params)


def _batch_reads(world: World, p: Projections, commands: int) -> tuple[int, dict[str, int]]:
    """Desk work on the stored tickets, then every view's share of it as one batch (rolled
    back): how many events that was, and how many reads each view's share made."""
    start = world.desk.recorder.max_notification_id() or 0
    with p.db.read() as tx:
        tickets = [uuid.UUID(r[0]) for r in tx.all("SELECT id FROM v_tickets ORDER BY number")]
    busy_day(world, random.Random(commands), tickets, commands)
    found = world.desk.recorder.select_notifications(start=start + 1, limit=100_000)
    events = [(n.id, world.desk.mapper.to_domain_event(n)) for n in found]
    reads = {}
    with pytest.raises(Crash), p.db.tx() as tx:
        for view in p.views:
            counting = _Reads(tx)
            mine = [(at, e) for at, e in events if type(e) in view.handlers]
            view.begin()
            view.prefetch(counting, mine)
            for at, e in mine:
                view.handle(counting, e, at)
            view.flush(counting)
            reads[view.name] = counting.reads
        raise Crash(0)  # the batch is only counted
    p.catch_up()  # and then made for real, so the next one starts from rows as they are
    return len(events), reads


# The views that read the rows a batch changes in one query per table (`prefetch`), not one per
# event (issue 15; the analytics view since 2026-12-04).
PREFETCHING = ("tickets", "activity", "queue_history", "sla", "analytics", "notifications",
               "incidents", "timeline", "search", "releases")  # fmt: skip


def test_a_batch_reads_as_many_statements_for_four_times_the_events(
    world: World, projections: Projections
) -> None:
    _busy(world, tickets=12, commands=0)
    projections.catch_up()
    _batch_reads(world, projections, 10)  # what a view reads once per process (group kinds)
    fewer, few_reads = _batch_reads(world, projections, 40)
    more, more_reads = _batch_reads(world, projections, 160)
    assert more > 3 * fewer
    # a prefetch with no keys reads nothing: a bigger batch may add one or two such queries
    grew = {v: (few_reads[v], more_reads[v]) for v in PREFETCHING
            if more_reads[v] > few_reads[v] + 2}  # fmt: skip
    assert not grew, f"reads per batch grew with its events ({fewer} -> {more}): {grew}"


def test_rows_inserted_together_keep_their_order_values_and_conflicts(settings: Settings) -> None:
    """`insert_rows` (PostgreSQL: one COPY, or INSERTs of many rows when a conflict clause is
    given; SQLite: executemany) after queued writes: in order, NUL and None and numbers kept,
    a conflict clause applied, a broken key raised."""
    db = ViewDB(settings)
    try:
        with db.tx() as tx:
            tx.execute("CREATE TABLE v_rows (k BIGINT PRIMARY KEY, t TEXT, n INTEGER)")
        columns = ("k", "t", "n")
        with db.tx() as tx:
            defer(tx)
            tx.execute("INSERT INTO v_rows (k, t, n) VALUES (%s, %s, %s)", (1, "queued", 1))
            many = [(k, f"row\x00{k}" if k % 2 else None, k) for k in range(2, 2502)]
            insert_rows(tx, "v_rows", columns, many)
            upsert = "ON CONFLICT (k) DO UPDATE SET t = excluded.t, n = excluded.n"
            insert_rows(tx, "v_rows", columns, [(1, "upserted", 10), (3, "again", 30)],
                        conflict=upsert)  # fmt: skip
            insert_rows(tx, "v_rows", columns, [(2, "kept", 0), (2, "twice", 0)],
                        conflict="ON CONFLICT DO NOTHING")  # fmt: skip
            update_rows(tx, "v_rows", columns, [(4, "upd\x00ated", 40), (6, None, 60)], key=("k",))
            delete_in(tx, "v_rows", "k", [8, 10])
            insert_rows(tx, "v_rows", columns, [(3000, "few\x00", None)])  # too few to COPY
            insert_rows(tx, "v_rows", columns, [])
        nul = "\ufffd" if settings.uses_postgres else "\x00"  # PostgreSQL text holds no NUL
        with db.read() as tx:
            rows = tx.all("SELECT k, t, n FROM v_rows ORDER BY k")
        assert len(rows) == 2500
        assert rows[:7] == [(1, "upserted", 10), (2, None, 2), (3, "again", 30),
                            (4, f"upd{nul}ated", 40), (5, f"row{nul}5", 5), (6, None, 60),
                            (7, f"row{nul}7", 7)]  # fmt: skip
        assert [r[0] for r in rows[7:10]] == [9, 11, 12]
        assert rows[-2:] == [(2501, f"row{nul}2501", 2501), (3000, f"few{nul}", None)]
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"), db.tx() as tx:
            defer(tx)
            insert_rows(tx, "v_rows", ("k", "t", "n"), [(9000, "new", 0), (7, "taken", 0)])
        with db.read() as tx:
            assert tx.one("SELECT COUNT(*) FROM v_rows") == (2500,)  # rolled back whole
    finally:
        db.close_all()


def test_a_request_filed_and_written_to_from_another_address_in_one_batch(
    world: World, projections: Projections
) -> None:
    """The notifications view inserts a batch's filed requests at its end: a letter from a
    colleague in the same batch is kept in the row (`also`), as batches of one event keep it."""
    ticket = world.file().id
    letter = ReceiveLetter(ticket, None, "<q15@org.ru>", "boss@org.ru", None, "Подтверждаю.")
    world.desk.handle(SYSTEM, letter)
    world.desk.reply(world.agent, ticket, "Ответ")
    projections.pump.sizing.grown = 10_000
    projections.catch_up()
    with projections.db.read() as tx:
        row = tx.one("SELECT also, group_id FROM v_notify_tickets WHERE id = %s", (str(ticket),))
    assert row is not None and row[0] == '["boss@org.ru"]'
    assert dump(projections) == _small_replay(projections)
