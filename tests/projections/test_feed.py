"""The live feed: one change per position on any topics, read-your-writes, and resumable follows."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncGenerator
from typing import cast
from uuid import UUID

from domain.desk import Desk
from domain.settings import Settings
from processes.system import read_side
from projections.feed import FEED_VIEW, Change, changes, follow
from projections.queues import ticket_row
from projections.system import Projections
from projections.tickets import TicketsView
from tests.projections.stories import busy_day
from tests.world import World

# Ticket events the writer produces while a consumer follows the feed, dropping and resuming.
# 3,000 (it was 10,000: 97 s on a loaded machine) still gives what the test is for: six pages of
# the feed's reads (500 a read) and ~20 drops and resumes at random points (24 with 10,000 and
# the budgets before), within a read and across one, while the writer commits beside the runner.
EVENTS = 3_000
BUDGETS = (1, 2, 5, 50, 200, 600)  # changes taken before a drop (were 400 and 3,000 at most)


def ticket_event_positions(desk: Desk) -> list[int]:
    log = desk.recorder.select_notifications(start=1, limit=10**7)
    return [n.id for n in log if ":Ticket." in n.topic]


def test_changes_give_each_position_once_in_order(world: World, projections: Projections) -> None:
    rng = random.Random(11)
    tickets = [world.file(subject=f"Заявка {i}").id for i in range(4)]
    other = world.desk.file_ticket(world.stranger, world.contracts, "Чужая", "Описание",
                                   {"contract_number": "1234567890123456789"}).id  # fmt: skip
    busy_day(world, rng, tickets, 120)
    linked = world.desk.link(world.agent, tickets[0], other)  # one command, two positions
    moved = world.desk.transfer(world.agent, other, world.line2, "К инженерам")
    after_move = world.desk.reply(world.engineer, other, "Смотрим")
    projections.catch_up()
    with projections.db.read() as tx:
        topics = sorted(r[0] for r in tx.all("SELECT DISTINCT topic FROM v_feed"))
        by_position = {r[0]: (r[1], r[2], r[3]) for r in tx.all(
            "SELECT position, ticket_id, event, version FROM v_timeline")}  # fmt: skip
        subsets = [["activity"], topics, [f"ticket:{other}"], ["queues", "line:2"], ["nope"]]
        subsets += [rng.sample(topics, rng.randint(1, len(topics))) for _ in range(30)]
        for subset in subsets:
            marks = ", ".join(["%s"] * len(subset))
            expected = [r[0] for r in tx.all(
                f"SELECT DISTINCT position FROM v_feed WHERE topic IN ({marks}) ORDER BY position",
                subset)]  # fmt: skip
            paged: list[Change] = []
            while page := changes(tx, subset, paged[-1].position if paged else 0, limit=7):
                paged += page
            assert [c.position for c in paged] == expected
            assert all(by_position[c.position] == (c.ticket_id, c.event, c.version) for c in paged)
        assert changes(tx, [], 0) == []
        activity = [c.position for c in changes(tx, ["activity"], 0, limit=10_000)]
        org = changes(tx, [f"org:{world.other_org}"], 0, limit=10_000)
        line1 = [c.position for c in changes(tx, [f"group:{world.line1}"], 0, limit=10_000)]
        line2 = [c.position for c in changes(tx, [f"group:{world.line2}"], 0, limit=10_000)]
    assert activity == ticket_event_positions(world.desk)
    assert {c.ticket_id for c in org} == {str(other)}
    assert linked.position - 1 in activity and linked.position in activity
    assert moved.position in line1 and moved.position in line2  # it left one group for the other
    assert after_move.position in line2 and after_move.position not in line1


def test_read_your_writes_once_runners_run(world: World, projections: Projections) -> None:
    d = world.desk
    ticket = world.file().id
    projections.start()
    for i in range(15):
        if i % 2:
            w = d.note(world.agent, ticket, f"Заметка {i}")
        else:
            w = d.reply(world.agent, ticket, f"Ответ {i}")
        assert projections.wait_for(w.position, timeout=10)
        with projections.db.read() as tx:
            row = ticket_row(tx, str(ticket))
            assert row is not None and row.version == w.version
    started = time.monotonic()
    assert not projections.wait_for(w.position + 1000, timeout=0.3)
    assert time.monotonic() - started < 3


def write_a_busy_hour(world: World, tickets: list[UUID], events: int) -> None:
    """Replies, notes and requester messages round-robin over the tickets."""
    d, have = world.desk, len(ticket_event_positions(world.desk))
    for i in range(events - have):
        t = tickets[i % len(tickets)]
        if i % 3 == 0:
            d.reply(world.agent, t, f"Ответ {i}")
        elif i % 3 == 1:
            d.note(world.engineer, t, f"Заметка {i}")
        else:
            d.write(world.requester, t, f"Сообщение {i}")


async def follow_with_drops(projections: Projections, done: threading.Event) -> list[int]:
    """Follows "activity", dropping the subscription at random and resuming after what it saw."""
    rng, got = random.Random(3), list[int]()
    while True:
        after = got[-1] if got else 0
        stream = cast(
            AsyncGenerator[Change, None],
            follow(projections.db, projections.positions, ["activity"], after, idle=0.2),
        )
        budget = rng.choice(BUDGETS)
        try:
            while budget:
                try:
                    change = await asyncio.wait_for(anext(stream), timeout=0.3)
                except TimeoutError:  # nothing new for a while: the connection drops too
                    break
                got.append(change.position)
                budget -= 1
        finally:
            await stream.aclose()
        reached = projections.positions.reached(FEED_VIEW)
        if done.is_set() and reached >= (projections.desk.recorder.max_notification_id() or 0):
            with projections.db.read() as tx:  # the view has everything: a last catch-up read
                last = tx.one("SELECT MAX(position) FROM v_feed WHERE topic = 'activity'")
            if last is not None and got and got[-1] == last[0]:
                return got


def test_a_follower_that_drops_and_resumes_sees_every_event_once(
    world: World, projections: Projections, settings: Settings
) -> None:
    """The feed's own view runs (the other views have their own tests) while a writer works."""
    tickets = [world.file(subject=f"Заявка {i}").id for i in range(25)]
    done, failed = threading.Event(), list[BaseException]()
    feed_side = read_side(world.desk, settings, [TicketsView()])

    def writer() -> None:
        try:
            write_a_busy_hour(world, tickets, EVENTS)
        except BaseException as e:
            failed.append(e)
        finally:
            done.set()

    feed_side.start()
    thread = threading.Thread(target=writer, name="writer")
    thread.start()
    try:
        try:
            got = asyncio.run(asyncio.wait_for(follow_with_drops(feed_side, done), timeout=240))
        finally:
            done.wait()
            thread.join()
        assert failed == []
        log = ticket_event_positions(world.desk)
        with feed_side.db.read() as tx:
            feed = [c.position for c in changes(tx, ["activity"], 0, limit=2 * EVENTS)]
    finally:
        feed_side.stop()
        feed_side.db.close_all()  # the follower's reads ran on asyncio's executor threads
    assert len(log) == EVENTS
    assert got == log  # every ticket event exactly once, in order
    assert feed == log
