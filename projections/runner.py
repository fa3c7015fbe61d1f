"""One view's batches: catch-up (rows and tracking in one transaction) and rebuild.

Exactly once: a batch's view rows and its tracking position commit together, and the next batch
starts after the committed position, so a crash anywhere repeats nothing and skips nothing.
The projection pump (projections/pump.py) supervises: it runs every view's batch at once, and a
view that lags or fails here, on its own, until it rejoins; tools rebuild a view with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from uuid import UUID

from eventsourcing.application import Application

from projections.base import SHAPES_DDL, TRACKING_DDL, View, set_tracking, tracking
from projections.db import ViewDB, defer
from projections.failures import FAILURES_DDL
from projections.signals import Positions, Wakeup

log = logging.getLogger("suz.projections")
BATCH = 1000  # events a batch reads near the log's head (a live write waits for no more)
MOST = 20_000  # the most one batch reads while far behind (a catch-up, a rebuild)
TARGET = 1.0  # seconds a catch-up batch aims at: its transaction (SQLite: the write lock) is short


class Sizing:
    """How many events the next batch reads. Near the log's head a batch is small (`least`:
    a live change waits for no more). While far behind, each full batch that took less than
    `target` seconds doubles the next, up to `most`, and one that took over twice `target`
    halves it: per-batch costs (a statement per view and table, a commit, a row written once
    per batch however often it changed) are spread over many events, yet a batch's transaction
    stays about a second. A batch that was not full (the head reached) starts small again."""

    def __init__(self, most: int = MOST, target: float = TARGET) -> None:
        self.most, self.target = most, target
        self.grown = 0  # 0: not grown, `least` is read

    def limit(self, least: int) -> int:
        return max(least, min(self.grown, self.most))

    def done(self, limit: int, read: int, seconds: float) -> None:
        if read < limit:
            self.grown = 0
        elif seconds < self.target:
            self.grown = min(limit * 2, self.most)
        elif seconds > 2 * self.target:
            self.grown = limit // 2
        else:
            self.grown = limit


def migrate_views(db: ViewDB, views: list[View]) -> None:
    """Creates the views' tables; a view whose shape changed since its tables were made (a view
    without a recorded shape has shape 1) is dropped and replayed from the log's start."""
    with db.tx() as tx:
        tx.execute(TRACKING_DDL)
        tx.execute(SHAPES_DDL)
        tx.execute(FAILURES_DDL)
        shapes = {str(v): int(s) for v, s in tx.all("SELECT view, shape FROM v_shapes")}
        made = {str(v) for (v,) in tx.all("SELECT view FROM v_tracking")}
        defer(tx)  # PostgreSQL: the ~400 statements below go in one round trip, not one each
        for view in views:
            if view.name in made and shapes.get(view.name, 1) != view.shape:
                log.warning("view %s changed shape: rebuilding it from the log", view.name)
                for table in view.tables:
                    tx.execute(f"DROP TABLE IF EXISTS {table}")
                set_tracking(tx, view.name, 0)
            if shapes.get(view.name) != view.shape:
                tx.execute(
                    "INSERT INTO v_shapes (view, shape) VALUES (%s, %s)"
                    " ON CONFLICT (view) DO UPDATE SET shape = excluded.shape",
                    (view.name, view.shape),
                )
            for statement in view.ddl(db.dialect):
                tx.execute(statement)
            tx.execute(  # a row to lock from the first batch on
                "INSERT INTO v_tracking (view, position) VALUES (%s, 0) ON CONFLICT DO NOTHING",
                (view.name,),
            )


class Runner:
    """Brings one view up to date with the event log, batch by batch."""

    def __init__(
        self,
        app: Application[UUID],
        db: ViewDB,
        view: View,
        positions: Positions,
        wakeup: Wakeup,
        *,
        batch: int = BATCH,
        fault: Callable[[int], None] | None = None,
    ) -> None:
        self.app, self.db, self.view = app, db, view
        self.positions, self.wakeup, self.batch = positions, wakeup, batch
        self.fault = fault  # tests inject crashes here: called before each event is handled
        self.sizing = Sizing()

    @property
    def scope(self) -> str:
        """The view qualified by its schema: advisory locks and NOTIFY are per database."""
        return f"{self.db.settings.schema or 'public'}:{self.view.name}"

    def step(self, batch: int | None = None) -> int:
        """Processes at most one batch; returns how many events it handled (0: caught up).
        Without `batch`, the batch grows while far behind (`Sizing`)."""
        limit = batch or self.sizing.limit(self.batch)
        started = time.monotonic()
        with self.db.tx() as tx:
            defer(tx)  # the view's writes are sent together (see Tx.defer)
            start = tracking(tx, self.view.name)
            head = self.app.recorder.max_notification_id() or 0
            if head <= start:
                self.sizing.grown = 0
                self.positions.moved(self.view.name, start)
                return 0
            notifications = self.app.recorder.select_notifications(
                start=start + 1, limit=limit, stop=head, topics=self.view.topics
            )
            self.view.begin()
            to_domain = self.app.mapper.to_domain_event
            events = [(n.id, to_domain(n)) for n in notifications]
            self.view.prefetch(tx, events)
            for position, event in events:
                if self.fault:
                    self.fault(position)
                self.view.handle(tx, event, position)
            self.view.flush(tx)
            full = len(notifications) == limit
            reached = notifications[-1].id if full else head
            set_tracking(tx, self.view.name, reached)
            if tx.dialect == "postgres":
                tx.execute("SELECT pg_notify('suz_views', %s)", (f"{self.scope}:{reached}",))
        if batch is None:
            self.sizing.done(limit, len(notifications), time.monotonic() - started)
        self.positions.moved(self.view.name, reached)
        return max(len(notifications), 1)

    def catch_up(self, progress: Callable[[int], object] | None = None) -> None:
        while handled := self.step():
            if progress:
                progress(handled)

    def rebuild(self, progress: Callable[[int], object] | None = None) -> None:
        """Empties the view and replays the whole log into it, in batches. PostgreSQL empties
        it by TRUNCATE: a DELETE left every old row dead until autovacuum came, and the replay
        wrote beside them (a second rebuild of the tickets view ran at 5,520 events/s against
        8,918 for the first, docs/performance.md)."""
        with self.db.tx() as tx:
            if tx.dialect == "postgres":
                tx.execute(f"TRUNCATE {', '.join(self.view.tables)}")
            else:
                for table in self.view.tables:
                    tx.execute(f"DELETE FROM {table}")
            set_tracking(tx, self.view.name, 0)
        self.catch_up(progress)
