"""The projection pump: one thread keeps every view of a process up to date.

A runner per view (projections/runner.py) read the log once per view, decoded every event once
per view and committed one transaction per view: about eleven transactions, log reads and
tracking rows per command. The pump reads each new batch of the log once, decodes each event
once, hands it to every view that handles it, and commits all the views' rows with all their
tracking positions in one transaction.

Exactly once, as with a runner: a batch's rows and its positions commit together, and the next
batch starts after them, so a crash anywhere repeats nothing and skips nothing. Each view keeps
its own tracking row, so one view can still be rebuilt (`suz rebuild`) while the others run.

Views that are not in step ride beside the pump, not in it, each batch in its own transaction
(a Runner's step), one batch per turn of the pump's loop:
- a view behind the others by more than a batch (a rebuild, a new view, a start after a changed
  shape): pumping from its position would hold every other view back while it catches up;
- a view whose handler failed: it is retried alone with a growing delay (logged, and counted in
  /health and /metrics), so one faulty view does not stop the others; a failure of the store
  itself (an outage) stops the whole pump instead, which retries from its tracking;
- a view held by a test (`hold`), which stands still until released.
A view beside the pump rejoins it once it has caught up with the log's head.

On PostgreSQL the pump runs as a singleton under one advisory lock; a second process stands by
and takes over when the first stops.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application

from projections.base import set_trackings, trackings
from projections.db import ViewDB, defer, flush
from projections.failures import failed, recovered
from projections.locks import singleton
from projections.runner import BATCH, Runner, Sizing
from projections.signals import Positions, Wakeup

log = logging.getLogger("suz.projections")
# PostgreSQL's connection-level failures stop the whole pump (every view would fail alike);
# anything else raised while a view handles its share is that view's, and sets it beside the
# pump (SQLite says "no such table" and "disk full" with one exception class: both land there).
OUTAGE = (psycopg.OperationalError, psycopg.InterfaceError)


@dataclass
class _Beside:
    """A view beside the pump: when to try it next, and the delay after a failure."""

    runner: Runner
    due: float = 0.0
    delay: float = 0.1
    failing: bool = False


@dataclass
class _Turn:
    handled: int = 0  # events the pump's batch handled (0: the views in step are caught up)
    moved: bool = False  # something moved: the loop turns again without waiting


class Pump:
    def __init__(
        self,
        app: Application[UUID],
        db: ViewDB,
        runners: list[Runner],
        positions: Positions,
        wakeup: Wakeup,
        *,
        batch: int = BATCH,
    ) -> None:
        self.app, self.db, self.positions, self.wakeup = app, db, positions, wakeup
        self.runners, self.batch = runners, batch  # `batch`: near the head; more while behind
        self.sizing = Sizing()
        self.in_step: list[Runner] = list(runners)  # the pump's own thread changes these two
        self.beside: dict[str, _Beside] = {}
        self._held: set[str] = set()
        self._lock = threading.Lock()
        # parts whose failures an earlier run may have recorded: the first success clears them
        self._unsure = {"pump", *(r.view.name for r in runners)}
        self._current: Runner | None = None
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # -- one batch for the views in step ----------------------------------------------------
    def step(self) -> int:
        """Handles at most one batch for every view in step; returns how many events it read
        (0: caught up). A view found behind by more than a batch is set beside the pump first.

        The views' writes are queued (PostgreSQL) and sent together, before a read that follows
        them and at the commit: a live batch of a few events costs a round trip for its writes,
        not one for each view's. A statement the store refuses is then raised wherever the
        queue was sent, maybe in another view's share; so a batch that fails that way is rolled
        back and done again `careful`ly, each view's writes sent at the end of its share, and
        the failure lands on the view whose statement it was."""
        try:
            return self._step(careful=False)
        except OUTAGE:
            raise
        except psycopg.Error:
            self._current = None
            return self._step(careful=True)

    def _step(self, *, careful: bool) -> int:
        self._take_held()
        if not self.in_step:
            return 0
        names = [r.view.name for r in self.in_step]
        with self.db.tx() as tx:
            defer(tx)  # the views' writes are sent together (see Tx.defer)
            own = trackings(tx, names)
            ahead = max(own.values())
            for r in [r for r in self.in_step if own[r.view.name] < ahead - self.batch]:
                self._set_beside(r)
            members = self.in_step
            start = min(own[r.view.name] for r in members)
            head = self.app.recorder.max_notification_id() or 0
            if head <= start:
                self.sizing.grown = 0
                for r in members:
                    self.positions.moved(r.view.name, own[r.view.name])
                return 0
            limit = self.sizing.limit(self.batch)
            started = time.monotonic()
            topics = sorted({t for r in members for t in r.view.topics})
            notifications = self.app.recorder.select_notifications(
                start=start + 1, limit=limit, stop=head, topics=topics
            )
            to_domain = self.app.mapper.to_domain_event
            events = [(n.id, to_domain(n)) for n in notifications]  # decoded once for all
            shares = []
            for r in members:  # every view's reads first: no view's writes to send before them
                self._current = r
                shares.append(_prefetch(r, tx, events, own[r.view.name]))
            for r, mine in zip(members, shares, strict=True):
                self._current = r
                _apply(r, tx, mine, careful)
            self._current = None
            full = len(notifications) == limit
            reached = notifications[-1].id if full else head
            moved = {r.view.name: max(own[r.view.name], reached) for r in members}
            set_trackings(tx, moved)
            if tx.dialect == "postgres":
                scope = self.db.settings.schema or "public"
                tx.execute(
                    "SELECT pg_notify('suz_views', x) FROM unnest(%s::text[]) AS x",
                    ([f"{scope}:{name}:{p}" for name, p in moved.items()],),
                )
        self.sizing.done(limit, len(notifications), time.monotonic() - started)
        for name, position in moved.items():
            self.positions.moved(name, position)
        return max(len(notifications), 1)

    def catch_up(self) -> None:
        """Brings every view not held to the log's head, raising what a handler raises (tools
        and tests; the server runs `run`, which sets a failing view beside the pump instead)."""
        while True:
            with self._lock:
                held = set(self._held)
            for beside in [b for b in self.beside.values() if b.runner.view.name not in held]:
                beside.runner.catch_up()
                self._rejoin(beside)
            if not self.step():
                return

    # -- views beside the pump ---------------------------------------------------------------
    def hold(self, name: str) -> None:
        """Stops one view where it is (tests: a view that lags) until `release`."""
        with self._lock:
            self._held.add(name)

    def release(self, name: str) -> None:
        with self._lock:
            self._held.discard(name)
        self.wakeup.notify()

    def _take_held(self) -> None:
        with self._lock:
            held = set(self._held)
        for r in [r for r in self.in_step if r.view.name in held]:
            self._set_beside(r)

    def _set_beside(self, runner: Runner, error: BaseException | None = None) -> None:
        if runner in self.in_step:
            self.in_step.remove(runner)
        beside = self.beside.setdefault(runner.view.name, _Beside(runner))
        if error is not None:
            beside.failing = True
            beside.due = time.monotonic() + beside.delay
            beside.delay = min(beside.delay * 2, 5.0)

    def _failed(self, runner: Runner, error: Exception) -> None:
        """A view's handler raised: logged, counted (/health, /metrics), retried beside."""
        log.exception("view %s failed; retrying it beside the pump", runner.view.name)
        failed(self.db, "view", runner.view.name, error)
        self._set_beside(runner, error)

    def _rejoin(self, beside: _Beside) -> None:
        del self.beside[beside.runner.view.name]
        order = {r.view.name: i for i, r in enumerate(self.runners)}
        self.in_step = sorted([*self.in_step, beside.runner], key=lambda r: order[r.view.name])

    def _step_beside(self) -> bool:
        """One batch for each view beside the pump that is due; True if any moved."""
        moved = False
        with self._lock:
            held = set(self._held)
        for beside in list(self.beside.values()):
            name = beside.runner.view.name
            if name in held or beside.due > time.monotonic():
                continue
            try:
                handled = beside.runner.step()
            except OUTAGE:
                raise
            except Exception as e:
                self._failed(beside.runner, e)
                continue
            if beside.failing:
                recovered(self.db, "view", name)
                self._unsure.discard(name)
                beside.failing, beside.delay = False, 0.1
            if handled:
                moved = True
            else:
                self._rejoin(beside)
        return moved

    # -- supervision -------------------------------------------------------------------------
    def _turn(self) -> _Turn:
        """One batch for the views in step, then one for each view beside the pump."""
        turn = _Turn()
        try:
            turn.handled = self.step()
        except OUTAGE:
            raise
        except Exception as e:
            culprit, self._current = self._current, None
            if culprit is None:
                raise
            self._failed(culprit, e)
            turn.moved = True  # the others' batch was rolled back with it: redo it now
        if turn.handled:
            turn.moved = True
            names = [r.view.name for r in self.in_step if r.view.name in self._unsure]
            recovered(self.db, "view", *names)  # the first batch after a start: all at once
            self._unsure.difference_update(names)
        turn.moved = self._step_beside() or turn.moved
        return turn

    def start(self) -> None:
        self.stopping.clear()
        self.thread = threading.Thread(target=self.run, name="views-pump", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.notify()
        if self.thread:
            self.thread.join(timeout=10)

    def run(self) -> None:
        """Runs until stopped; a failure of the store is logged, counted and retried from the
        views' tracking after a growing delay."""
        delay = 0.1
        scope = self.db.settings.schema or "public"
        while not self.stopping.is_set():
            try:
                with singleton(self.db, f"suz:pump:{scope}", self.stopping):
                    while not self.stopping.is_set():
                        seen = self.wakeup.generation
                        moved = self._turn().moved
                        if "pump" in self._unsure:  # a turn went through: the outage is over
                            recovered(self.db, "process", "pump")
                            self._unsure.discard("pump")
                        if moved:
                            continue
                        delay = 0.1
                        self.wakeup.wait(seen, timeout=self._idle())
            except Exception as e:
                log.exception("the projection pump failed; restarting from the views' tracking")
                failed(self.db, "process", "pump", e)
                self._unsure.add("pump")
                self.stopping.wait(delay)
                delay = min(delay * 2, 5.0)
            else:
                break
        self.db.close()

    def _idle(self) -> float:
        """How long to sleep when nothing moved: until woken, a second, or a retry falls due."""
        dues = [b.due for b in self.beside.values() if b.failing]
        return max(0.01, min([1.0, *(d - time.monotonic() for d in dues)]))


def _prefetch(
    runner: Runner, tx: Any, events: list[tuple[int, Any]], own: int
) -> list[tuple[int, Any]]:
    """One view's share of a batch (the events it handles, past its own position), with the
    rows it will change read in (a view's `prefetch` reads only its own tables)."""
    view = runner.view
    view.begin()
    mine = [(p, e) for p, e in events if p > own and type(e) in view.handlers]
    view.prefetch(tx, mine)
    return mine


def _apply(runner: Runner, tx: Any, mine: list[tuple[int, Any]], careful: bool = True) -> None:
    """One view's share of a batch handled (`_prefetch` read its rows)."""
    view, fault = runner.view, runner.fault
    for position, event in mine:
        if fault:
            fault(position)
        view.handle(tx, event, position)
    view.flush(tx)
    if careful:
        flush(tx)  # a queued write's error is this view's, not the next one's (`Pump.step`)
