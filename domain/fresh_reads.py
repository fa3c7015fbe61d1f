"""Several aggregates read as they are in the store now, in one round trip.

The library's `Repository.get` asks the store, for each cached aggregate, for its events after
the cached version: a round trip per aggregate. Filing a request reads two set-up aggregates
that no insert of the filing checks (its category and the routing rules; see
domain/cached_copy.py for why a ticket need not be read), so both must be read as stored, but
they can be read together: one SELECT asks for the events after each cached version (and for an
aggregate found absent before, for any event of it). What it answers is exactly what the two
fast-forward SELECTs would have: the events committed before the read.

On SQLite (a read is a call in this process, not a round trip) and for an aggregate neither
cached nor known absent, it is `Repository.get`, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, project_aggregate
from eventsourcing.persistence import StoredEvent

ABSENT = 1_000  # aggregates remembered as never stored (the oldest forgotten first)


class FreshReads:
    """Reads several of an application's aggregates as stored now, in one query."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._absent: dict[UUID, None] = {}  # found never stored: asked for any event of theirs
        self.reads = 0  # combined queries made

    def current(self, ids: Sequence[UUID]) -> list[Any | None]:
        """Each aggregate as stored now, a private copy (None: never stored)."""
        repository = self.app.repository
        datastore = getattr(self.app.recorder, "datastore", None)
        if repository.cache is None or not hasattr(datastore, "schema"):  # SQLite, no cache
            return [self._get(i) for i in ids]
        known: dict[UUID, Any | None] = {}  # a copy of the cached one, or None (absent)
        for i in ids:
            cached = self._cached_copy(i)
            if cached is not None:
                known[i] = cached
            else:
                with self._lock:
                    if i in self._absent:
                        known[i] = None
        if not known:
            return [self._get(i) for i in ids]
        events = self._events_after({i: (a.version if a else 0) for i, a in known.items()})
        found: list[Any | None] = []
        for i in ids:
            if i not in known:
                found.append(self._get(i))
                continue
            aggregate, new = known[i], events.get(i)
            if new:
                aggregate = project_aggregate(aggregate, new)
                repository.cache.put(i, deepcopy(aggregate))  # the cache's copy moves on too
                with self._lock:
                    self._absent.pop(i, None)
            found.append(aggregate)
        return found

    def _get(self, aggregate_id: UUID) -> Any | None:
        try:
            aggregate = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            with self._lock:
                self._absent[aggregate_id] = None
                while len(self._absent) > ABSENT:
                    del self._absent[next(iter(self._absent))]
            return None
        with self._lock:
            self._absent.pop(aggregate_id, None)
        return aggregate

    def _cached_copy(self, aggregate_id: UUID) -> Any | None:
        """A copy of the cached aggregate, taken under the library's fast-forward lock (it
        moves a cached aggregate on in place), or None when it is not cached."""
        repository = self.app.repository
        lock = repository._use_fastforward_lock(aggregate_id)
        try:
            with lock:
                try:
                    return deepcopy(repository.cache.get(aggregate_id))
                except KeyError:
                    return None
        finally:
            repository._disuse_fastforward_lock(aggregate_id)

    def _events_after(self, versions: dict[UUID, int]) -> dict[UUID, list[Any]]:
        """The domain events stored after each version, by aggregate, in one SELECT."""
        from psycopg.sql import SQL, Identifier

        recorder = self.app.recorder
        datastore = recorder.datastore
        each = SQL("(originator_id = %s AND originator_version > %s)")
        query = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{} WHERE {}"
            " ORDER BY originator_id, originator_version"
        ).format(
            Identifier(datastore.schema),
            Identifier(recorder.events_table_name),
            SQL(" OR ").join([each] * len(versions)),
        )
        params = [value for i, v in versions.items() for value in (i, v)]
        self.reads += 1
        with datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, params, prepare=True)
            rows = cursor.fetchall()
        to_domain = self.app.mapper.to_domain_event
        events: dict[UUID, list[Any]] = {}
        for row in rows:
            stored = StoredEvent(
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            events.setdefault(UUID(str(row["originator_id"])), []).append(to_domain(stored))
        return events
