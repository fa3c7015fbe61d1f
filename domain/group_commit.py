"""Group commit: the events of commands saved at the same moment, written in one transaction.

Each command's save is one event-store transaction; on PostgreSQL that is LOCK TABLE, the
INSERT, and a COMMIT that waits for its WAL flush, and inserts from one process take turns on
the table lock anyway. The `GroupCommitter` stands in for the Desk's recorder in its event store:
at most one insert of this process is in flight; commands whose save arrives meanwhile queue,
and when it ends the first of them leads the next batch: it waits up to the window for more
(stopping at the cap), writes every queued command's events in one `insert_events` call, and
hands each command the log positions of its own events (the recorder numbers them in insert
order). A save arriving while nothing is written goes at once: alone, it waits for nobody.

Optimistic concurrency stays per command. A command whose events are certain to meet a stored
key is refused before the batch is written, with `Taken` (an IntegrityError), in its own thread,
where `Desk._save` turns it into `Conflict`: one of its events has the (originator_id, version)
of an event that an earlier command of the same batch writes (refused once that batch commits),
or a version at or below the highest this committer has seen committed for that aggregate (an
aggregate's versions have no gaps, so that key is stored). Both are what two people answering one
ticket at once give: the second decided on the copy the first was still writing. The batch
then goes without it. A batch refused with IntegrityError all the same (a key stored by another
process) is written again command by command, in arrival order, so only the conflicting command
sees the error. Any other error goes to every command of the batch: their events were written
together, so none or all of them are stored.

A batch whose COMMIT answer was lost (PostgreSQL): the recorder retries the whole insert, meets
its own rows and raises IntegrityError; each command alone then meets its own rows again, and
`Desk._record` recognises them as written (domain/stored_write.py), command by command.

A save carrying a tracking record or other arguments goes alone, unbatched.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent

ENV = "SUZ_GROUP_COMMIT_US"  # the window, in the Desk's environment (domain/settings.py)
CAP = 64  # commands in one batch at most
KNOWN = 100_000  # aggregates whose highest committed version is remembered (oldest forgotten)


class Taken(IntegrityError):
    """A command refused without a round trip: a key of its events is certainly stored (by an
    earlier command of its batch, or a batch this committer wrote before)."""


class _Slot:
    """One command's save waiting in the queue, and what became of it."""

    __slots__ = ("done", "error", "events", "ids", "lead", "ready")

    def __init__(self, events: list[StoredEvent]) -> None:
        self.events = events
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.done = False  # ids or error is the outcome
        self.lead = False  # handed the lead of the next batch rather than an outcome
        self.ready = threading.Event()

    def outcome(self) -> Sequence[int] | None:
        if self.error is not None:
            raise self.error
        return self.ids


class GroupCommitter:
    """The event store's recorder for the Desk: batches concurrent `insert_events` calls into
    one call of the real recorder; everything else is the real recorder's."""

    def __init__(self, recorder: Any, window_us: float, cap: int = CAP) -> None:
        self.recorder = recorder
        self.window_us = window_us  # how long a batch's leader waits for more commands
        self.cap = cap
        self.writes = 0  # calls of the real recorder's insert_events (transactions)
        self.commands = 0  # saves that went through the queue
        self.taken = 0  # saves refused as `Taken`, without an insert
        self.known = KNOWN
        # aggregate -> the highest version this committer saw committed (only the leader, one
        # at a time, reads and writes it); insertion-ordered, so the oldest is forgotten first
        self._committed: dict[Any, int] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._queue: list[_Slot] = []
        self._writing = False  # a batch is being collected or written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.recorder, name)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events or any(value is not None for value in kwargs.values()):
            return self.recorder.insert_events(stored_events, **kwargs)  # type: ignore[no-any-return]
        slot = _Slot(list(stored_events))
        with self._lock:
            self._queue.append(slot)
            self._arrived.notify_all()
            first = not self._writing  # nothing in flight: lead at once, wait for nobody
            self._writing = True
        if not first:
            slot.ready.wait()
            if not slot.lead:
                return slot.outcome()
        self._lead(slot, collect=not first)
        return slot.outcome()

    @property
    def queued(self) -> int:
        """Saves waiting for a batch."""
        with self._lock:
            return len(self._queue)

    def wait_until_queued(self, count: int, timeout: float) -> bool:
        """Blocks until `count` saves wait for a batch (False after `timeout` seconds)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._queue) >= count, timeout)

    def forget(self) -> None:
        """Forgets the versions seen committed, so a stale save is tried and refused by the
        store's key, as another process's is (tests that need that refusal's gap in the log
        positions; call it while nothing is being written)."""
        self._committed.clear()

    def _lead(self, own: _Slot, *, collect: bool) -> None:
        batch: list[_Slot] = []
        try:
            with self._arrived:
                if collect and self.window_us > 0:
                    deadline = time.monotonic() + self.window_us / 1e6
                    while len(self._queue) < self.cap:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._arrived.wait(left)
                batch = self._queue[: self.cap]
                del self._queue[: self.cap]
            self._write(batch)
        finally:
            for slot in batch:
                if not slot.done:  # the leader was interrupted (KeyboardInterrupt...)
                    slot.error, slot.done = RuntimeError("The batch's write was interrupted."), True
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.ready.set()
                else:
                    self._writing = False
            for slot in batch:
                if slot is not own:
                    slot.ready.set()

    def _write(self, batch: list[_Slot]) -> None:
        self.commands += len(batch)
        first: list[_Slot] = []  # written now, in one transaction
        later: list[_Slot] = []  # meeting a key of `first`: refused once `first` commits
        keys: set[tuple[Any, int]] = set()
        for slot in batch:
            own = [(e.originator_id, e.originator_version) for e in slot.events]
            if any(version <= self._committed.get(id_, 0) for id_, version in own):
                self._refuse(slot)
            elif keys.intersection(own):
                later.append(slot)
            else:
                first.append(slot)
                keys.update(own)
        if not first:
            return
        if len(first) == 1 and not later:
            self._alone(first[0])
            return
        events = [event for slot in first for event in slot.events]
        self.writes += 1
        try:
            ids = self.recorder.insert_events(events)
        except IntegrityError:
            for slot in batch:  # only the command whose version is taken is refused
                if not slot.done:
                    self._alone(slot)
            return
        except Exception as error:
            for slot in [*first, *later]:
                slot.error = error if slot is first[0] else _copy(error)
                slot.done = True
            return
        self._remember(events)
        start = 0
        for slot in first:
            stop = start + len(slot.events)
            slot.ids = None if ids is None else list(ids[start:stop])
            slot.done = True
            start = stop
        for slot in later:
            self._refuse(slot)

    def _alone(self, slot: _Slot) -> None:
        self.writes += 1
        try:
            slot.ids = self.recorder.insert_events(slot.events)
        except Exception as error:
            slot.error = error
        else:
            self._remember(slot.events)
        slot.done = True

    def _refuse(self, slot: _Slot) -> None:
        self.taken += 1
        slot.error = Taken("An event of this save has a version already stored.")
        slot.done = True

    def _remember(self, events: Sequence[StoredEvent]) -> None:
        committed = self._committed
        for event in events:
            id_, version = event.originator_id, event.originator_version
            committed[id_] = max(committed.pop(id_, 0), version)  # moved to the newest end
        while len(committed) > self.known:
            del committed[next(iter(committed))]


def _copy(error: Exception) -> BaseException:
    """The same error for another thread to raise (each raise extends its own traceback)."""
    try:
        clone = copy.copy(error)
    except Exception:
        return error
    clone.__cause__ = error
    return clone


def install(app: Any, window_us: float | None = None) -> GroupCommitter | None:
    """Puts a `GroupCommitter` between the application's event store and its recorder, with
    the window of the application's environment (SUZ_GROUP_COMMIT_US; 0: none installed) or
    the one given (0 then batches without waiting). Installing again returns the committer in
    place, given the new window if one is given."""
    store = app.events
    if isinstance(store.recorder, GroupCommitter):
        if window_us is not None:
            store.recorder.window_us = window_us
        return store.recorder
    if window_us is None:
        window_us = float(app.env.get(ENV) or 0)
        if window_us <= 0:
            return None
    committer = GroupCommitter(store.recorder, window_us)
    store.recorder = committer
    return committer
