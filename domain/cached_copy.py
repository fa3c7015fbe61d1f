"""A ticket command decided on this process's cached copy of the ticket, without first asking
the store whether the copy is current.

The aggregate cache keeps what this process saved or loaded last. The library's
`Repository.get` still asks the store, on every load, for the events after the cached version
(its fast-forward SELECT: one round trip per command), because another process sharing the store
may have written the ticket since. A ticket command need not ask first: its save inserts its
events at the copy's version + 1 under the unique (originator_id, originator_version) key, and a
ticket's versions have no gaps, so if anyone wrote the ticket after the copy was made, the insert
meets that event, is refused whole (IntegrityError, turned into `Conflict`) and writes nothing;
the dispatcher then decides again on what is stored (domain/ticket_commands.py `handle`). A
stale copy can therefore neither write nor lose a write. What its insert cannot catch is an
answer that inserts nothing, so those are never given on a copy alone: a refusal (`DeskError`,
a version check's `Conflict` included), a process command's `Unchanged`, and a decision that
leaves the ticket without a new event are all decided again on a fresh load; a sender who saw a
version above the copy's proves the copy stale, and is answered from the store at once.

A ticket whose copy turned out stale (another process wrote it, or another thread here raced
this one) becomes suspect: its next command reads the store first, as before, and it is trusted
again once such a read finds nothing this process had not seen (it was then this process's
alone again). So a ticket that two processes write by turns costs one wasted insert per process,
then the read it always cost, while one written from one process costs no read at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar
from uuid import UUID

A = TypeVar("A")
SUSPECTS = 10_000  # tickets remembered as written elsewhere (the oldest forgotten first)


class CachedCopies:
    """Copies of a repository's cached aggregates, and the aggregates not to trust yet."""

    def __init__(self, repository: Any, size: int = SUSPECTS) -> None:
        self.repository = repository
        self.size = size
        self._lock = threading.Lock()
        self._suspects: dict[UUID, None] = {}  # insertion-ordered: the oldest is first
        self.trusted = 0  # loads answered from a copy (no read of the store)
        self.stale = 0  # copies found stale (a conflict, or a sender who saw a later version)

    def copy(self, aggregate_id: UUID) -> Any | None:
        """A private copy of the cached aggregate (a command mutates it); None when it is not
        cached or is suspect."""
        cache = self.repository.cache
        if cache is None:
            return None
        with self._lock:
            if aggregate_id in self._suspects:
                return None
        # the library fast-forwards a cached aggregate in place under this lock: copying under
        # it too, the copy is never half a fast-forward
        repository = self.repository
        lock = repository._use_fastforward_lock(aggregate_id)
        try:
            with lock:
                try:
                    cached = cache.get(aggregate_id)
                except KeyError:
                    return None
                copied = deepcopy(cached)
        finally:
            repository._disuse_fastforward_lock(aggregate_id)
        self.trusted += 1
        return copied

    def suspect(self, aggregate_id: UUID) -> None:
        """The copy of `aggregate_id` was stale: read the store for it until a read finds
        nothing new."""
        with self._lock:
            self.stale += 1
            self._suspects.pop(aggregate_id, None)
            self._suspects[aggregate_id] = None
            while len(self._suspects) > self.size:
                del self._suspects[next(iter(self._suspects))]

    def read(self, aggregate_id: UUID, load: Callable[[], A]) -> A:
        """`load()` (a read of the store), and `aggregate_id` trusted again if the read found
        nothing after what this process had cached."""
        before = self._cached_version(aggregate_id)
        aggregate = load()
        if before is not None and getattr(aggregate, "version", None) == before:
            with self._lock:
                self._suspects.pop(aggregate_id, None)
        return aggregate

    def is_suspect(self, aggregate_id: UUID) -> bool:
        with self._lock:
            return aggregate_id in self._suspects

    def _cached_version(self, aggregate_id: UUID) -> int | None:
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            version = cache.get(aggregate_id).version
        except (KeyError, AttributeError):
            return None
        return version if isinstance(version, int) else None
