"""The live feed: what changed, by topic, in log order; and a resumable async subscription.

A consumer that remembers the last position it saw asks for what came after it: the feed rows
are committed with the tickets view's tracking, so no row below a seen position appears later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from projections.db import Tx, ViewDB
from projections.signals import Positions

FEED_VIEW = "tickets"  # the view that writes most of the feed
FEED_VIEWS = ("tickets", "incidents")  # every view that writes feed rows
log = logging.getLogger("suz.feed")


@dataclass(frozen=True)
class Change:
    position: int
    ticket_id: str
    event: str
    version: int


def changes(tx: Tx, topics: Sequence[str], after: int, limit: int = 500) -> list[Change]:
    """The changes on any of `topics` after `after`, one per log position, in order."""
    if not topics:
        return []
    marks = ", ".join(["%s"] * len(topics))
    rows = tx.all(
        "SELECT position, ticket_id, event, version FROM v_feed"
        f" WHERE topic IN ({marks}) AND position > %s"
        " GROUP BY position, ticket_id, event, version ORDER BY position LIMIT %s",
        (*topics, after, limit),
    )
    return [Change(r[0], r[1], r[2], r[3]) for r in rows]


def public(tx: Tx, change: Change) -> bool:
    """Whether the change has a public entry on its ticket's timeline (what a requester may be
    told of); False while the timeline view has not reached it."""
    row = tx.one(
        "SELECT public IS NOT NULL FROM v_timeline WHERE ticket_id = %s AND version = %s",
        (change.ticket_id, change.version),
    )
    return bool(row and row[0])


def activity(tx: Tx, before: int | None = None, limit: int = 50) -> list[tuple[Change, int, str]]:
    """The desk's latest changes, newest first, with the ticket's number and subject."""
    rows = tx.all(
        "SELECT f.position, f.ticket_id, f.event, f.version, t.number, t.subject FROM v_feed f"
        " JOIN v_tickets t ON t.id = f.ticket_id WHERE f.topic = 'activity' AND f.position < %s"
        " ORDER BY f.position DESC LIMIT %s",
        (before if before is not None else 2**62, limit),
    )
    return [(Change(r[0], r[1], r[2], r[3]), r[4], r[5]) for r in rows]


async def follow(
    db: ViewDB, positions: Positions, topics: Sequence[str], after: int, *, idle: float = 30.0
) -> AsyncIterator[Change]:
    """Yields every change on `topics` after position `after`, then live ones, forever."""
    while True:
        reached = positions.reached(FEED_VIEW)
        batch = await asyncio.to_thread(_read, db, topics, after)
        for change in batch:
            yield change
            after = change.position
        if not batch:
            await positions.wait_async(FEED_VIEW, reached + 1, timeout=idle)


def _read(db: ViewDB, topics: Sequence[str], after: int) -> list[Change]:
    with db.read() as tx:
        return changes(tx, topics, after)


class FeedHub:
    """One reader of the feed per process, fanning each change out to every subscriber whose
    topics it touches: a change costs one query, not one per open socket."""

    def __init__(self, db: ViewDB, positions: Positions,
                 views: Sequence[str] = (FEED_VIEW,)) -> None:  # fmt: skip
        self.db, self.positions = db, positions
        self.views = tuple(views) or (FEED_VIEW,)  # the hub reads what all of them wrote
        self.last = 0  # the feed position this hub has read up to
        # each subscriber's queue, topics, and the event loop it waits on (a test client may run
        # its sockets on another loop than the hub's: a put from here must then wake that loop)
        self._subscribers: dict[
            asyncio.Queue[Change], tuple[frozenset[str], asyncio.AbstractEventLoop]
        ] = {}

    async def run(self, idle: float = 30.0) -> None:
        """Reads new feed rows as the tickets view moves; runs until cancelled, and a failure
        (the database away) is logged and retried, never ending the fan-out."""
        while True:
            try:
                await self._run(idle)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the feed reader failed; retrying from position %s", self.last)
                await asyncio.sleep(1.0)

    async def _run(self, idle: float) -> None:
        if not self.last:
            self.last = await asyncio.to_thread(self._head)
        while True:
            # Only below the slowest feed writer: a row another view writes later for an
            # earlier position would otherwise be skipped by a hub that read past it.
            slowest = min(self.views, key=self.positions.reached)
            reached = self.positions.reached(slowest)
            rows = await asyncio.to_thread(self._read, self.last, reached)
            here = asyncio.get_running_loop()
            for topic, change in rows:
                for queue, (topics, loop) in list(self._subscribers.items()):
                    if topic in topics:
                        if loop is here:
                            queue.put_nowait(change)
                        else:
                            loop.call_soon_threadsafe(queue.put_nowait, change)
                self.last = max(self.last, change.position)
            if not rows:
                await self.positions.wait_async(slowest, reached + 1, timeout=idle)

    def _head(self) -> int:
        with self.db.read() as tx:
            row = tx.one("SELECT max(position) FROM v_feed")
        return int(row[0]) if row and row[0] is not None else 0

    def _read(self, after: int, upto: int) -> list[tuple[str, Change]]:
        with self.db.read() as tx:
            # whole positions only: a change's rows (one per topic) are read together
            rows = tx.all(
                "SELECT topic, position, ticket_id, event, version FROM v_feed"
                " WHERE position > %s AND position <= %s AND position <= (SELECT max(position)"
                " FROM (SELECT position FROM v_feed WHERE position > %s ORDER BY position"
                " LIMIT 5000) x) ORDER BY position",
                (after, upto, after),
            )
        return [(r[0], Change(r[1], r[2], r[3], r[4])) for r in rows]

    async def subscribe(self, topics: Sequence[str], after: int) -> AsyncIterator[Change]:
        """What came after `after` on `topics` (read once from the table), then the hub's live
        changes; every position once, in order."""
        queue: asyncio.Queue[Change] = asyncio.Queue()
        self._subscribers[queue] = (frozenset(topics), asyncio.get_running_loop())
        try:
            while batch := await asyncio.to_thread(_read, self.db, topics, after):
                for change in batch:
                    yield change
                    after = change.position
            while True:
                change = await queue.get()
                if change.position > after:  # a change on two topics arrives twice
                    yield change
                    after = change.position
        finally:
            del self._subscribers[queue]
