"""Bulk loading: many commands' saves written in one event-store transaction, at a set clock.

For the demo's quarter (domain/demo_quarter.py): every event is still decided by the real
commands (`Desk.handle`, `file_ticket`, `register_call`...), each save still collected and
chained as usual; only the write is deferred. `Deferred` stands in for the Desk's recorder in
its event store (as domain/group_commit.py does): a save's events are kept in memory and given
provisional log positions, reads of an aggregate's events see them, and `flush` writes all that
were kept in a few `insert_events` calls (a transaction per `CHUNK` events, a save never split:
far larger inserts stalled on PostgreSQL, the server waiting for the client's data). One writer
only: the loader, on a store nobody else writes to meanwhile. A version of an aggregate taken
twice is refused at the save (IntegrityError, as the store would refuse it: the Desk decides the
command again); another unique key taken is found at `flush`, which then raises.

`backdated(clock)` makes every event created meanwhile carry the clock's time instead of the
wall clock's (the library's one source of event timestamps, `CanCreateTimestamp`), so a quarter
of history can be written today with the times it would have had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanCreateTimestamp
from eventsourcing.persistence import IntegrityError, StoredEvent

CHUNK = 2000  # events in one transaction at most (PostgreSQL: one INSERT of unnested arrays)


class Deferred:
    """The event store's recorder while loading in bulk: saves are kept until `flush`."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.pending: list[StoredEvent] = []
        self.by_aggregate: dict[UUID, list[StoredEvent]] = {}
        self.ends: list[bool] = []  # per kept event: the last of its save
        self.head = int(recorder.max_notification_id() or 0)  # the stored log's head
        self.events_written = 0
        self.transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.recorder, name)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        if any(value is not None for value in kwargs.values()):
            raise RuntimeError("A bulk load writes events only (no tracking records).")
        if not stored_events:
            return []
        kept = self.by_aggregate
        for event in stored_events:  # the unique key the store will check at `flush`
            versions = kept.get(UUID(str(event.originator_id)), ())
            if versions and versions[-1].originator_version >= event.originator_version:
                raise IntegrityError(f"{event.originator_id} v{event.originator_version} is kept")
        start = self.head + len(self.pending)
        self.ends += [False] * (len(stored_events) - 1) + [True]  # where a save ends
        for event in stored_events:
            self.pending.append(event)
            self.by_aggregate.setdefault(UUID(str(event.originator_id)), []).append(event)
        return list(range(start + 1, start + 1 + len(stored_events)))

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        stored = list(self.recorder.select_events(originator_id, gt=gt, lte=lte))
        kept = self.by_aggregate.get(UUID(str(originator_id)), [])
        stored += [
            e
            for e in kept
            if (gt is None or e.originator_version > gt)
            and (lte is None or e.originator_version <= lte)
        ]
        stored.sort(key=lambda e: int(e.originator_version), reverse=desc)
        return stored[:limit] if limit is not None else stored

    def max_notification_id(self) -> int:
        return self.head + len(self.pending)

    def flush(self) -> int:
        """Writes every kept event, `CHUNK` events a transaction (a save's events are never
        split: each chunk ends with one); answers how many."""
        count = len(self.pending)
        start = 0
        while start < count:
            stop = min(start + CHUNK, count)
            while stop < count and self.ends[stop - 1] is False:
                stop += 1
            self.recorder.insert_events(self.pending[start:stop])
            self.transactions += 1
            start = stop
        if count:
            self.events_written += count
            self.head = int(self.recorder.max_notification_id() or 0)
        self.pending, self.by_aggregate, self.ends = [], {}, []
        return count


@contextmanager
def deferred(app: Any) -> Iterator[Deferred]:
    """The application's event store writes through a `Deferred` until the block ends, which
    flushes what is left (nothing is written when the block raises)."""
    store = app.events
    real = store.recorder
    bulk = Deferred(real)
    store.recorder = bulk
    try:
        yield bulk
        bulk.flush()
    finally:
        store.recorder = real


@contextmanager
def backdated(clock: Callable[[], datetime]) -> Iterator[None]:
    """Events created in the block are stamped `clock()` (a timezone-aware moment)."""
    saved = CanCreateTimestamp.__dict__["create_timestamp"]
    CanCreateTimestamp.create_timestamp = staticmethod(clock)  # type: ignore[method-assign]
    try:
        yield
    finally:
        CanCreateTimestamp.create_timestamp = saved  # type: ignore[method-assign]
