"""Who a session cookie or an API token is, remembered for a second or two (web/auth.py).

A write used to spend two database round trips before its command: the session's (or token's)
row and the account's aggregate. Here a caller found within `ttl` seconds costs neither. The
bound on a revocation (docs/security.md, "Sessions"): the process that revokes forgets at once
(`forget_key`/`forget_account`, called by web/sessions.py); other processes forget when its
NOTIFY arrives (PostgreSQL), and in any case when the entry's `ttl` runs out.

A lookup that began before a revocation must not store what it read after it: `put` takes the
`generation` read before the lookup and stores nothing if anything was forgotten since.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from domain.access import Actor

S = TypeVar("S")  # web.sessions.Session (not imported: that module imports this one)


@dataclass(frozen=True)
class Entry(Generic[S]):
    actor: Actor
    session: S | None  # a cookie's session (its CSRF token); None for an API token
    account_version: int | None  # the account aggregate's version it was read at, if known
    expires: float


class CallerCache(Generic[S]):
    """A bounded LRU map of `kind:token hash` -> Entry; thread-safe. `ttl` 0: off."""

    def __init__(self, ttl: float = 0.0, size: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.ttl, self.size, self._clock = ttl, size, clock
        self._entries: OrderedDict[str, Entry[S]] = OrderedDict()
        self._names: OrderedDict[UUID, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.size > 0

    @property
    def generation(self) -> int:
        """Read it before a lookup; hand it to `put`."""
        return self._generation

    def get(self, key: str) -> Entry[S] | None:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, actor: Actor, session: S | None, account_version: int | None,
            generation: int) -> None:  # fmt: skip
        if not self.enabled or actor.id is None:
            return
        with self._lock:
            if generation != self._generation:  # something was revoked meanwhile
                return
            self._entries[key] = Entry(actor, session, account_version, self._clock() + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def display_name(self, account_id: UUID) -> str | None:
        """The account's display name (the pages' header), if remembered within `ttl`."""
        if not self.enabled:
            return None
        with self._lock:
            found = self._names.get(account_id)
            if found is None or found[1] <= self._clock():
                return None
            return found[0]

    def remember_name(self, account_id: UUID, name: str, generation: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            if generation != self._generation:
                return
            self._names[account_id] = (name, self._clock() + self.ttl)
            self._names.move_to_end(account_id)
            while len(self._names) > self.size:
                self._names.popitem(last=False)

    # -- forgetting: revocations here, or heard of from another process -------------------------
    def forget_key(self, key: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def forget_account(self, account_id: UUID | str) -> None:
        """Every session and token of the account, and its name."""
        wanted = str(account_id)
        with self._lock:
            self._generation += 1
            for key in [k for k, e in self._entries.items() if str(e.actor.id) == wanted]:
                del self._entries[key]
            for name_key in [a for a in self._names if str(a) == wanted]:
                del self._names[name_key]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._names.clear()

    def __len__(self) -> int:
        return len(self._entries)
