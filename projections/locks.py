"""Session-level advisory locks of one process, held on one PostgreSQL connection.

Each view runs as a singleton under an advisory lock (projections/runner.py). A lock belongs to
the session that took it, so a connection per view held one backend per view for the process's
whole life (11 of them where the views run). One connection holds every lock of the process
instead; a key already held here is refused to a second taker in this process, as PostgreSQL
refuses it to another process, so "one runner per view" holds inside a process too.

If that connection dies, PostgreSQL releases all its locks: another process may then start the
same views. That is safe: a batch locks its view's tracking row, so two runners of one view take
turns and exactly-once holds (projections/base.py); this process takes the locks again on its
next connection. Nothing here is needed on SQLite (one process owns the file).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class SessionLocks:
    def __init__(self, connect: Callable[[], Any]) -> None:
        self.connect = connect  # a new connection of its own, outside any pool
        self._mutex = threading.Lock()  # one statement at a time on the shared connection
        self._conn: Any = None
        self._held: set[int] = set()

    def try_lock(self, key: int) -> bool:
        """Takes `key` if no session (this process included) holds it."""
        with self._mutex:
            if key in self._held:
                return False
            try:
                got = bool(self._connection().execute(
                    "SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0])  # fmt: skip
            except psycopg.Error:
                self._drop()
                raise
            if got:
                self._held.add(key)
            return got

    def unlock(self, key: int) -> None:
        """Releases `key` if held here; the connection goes when it holds nothing more (a
        stopped process keeps no idle backend)."""
        with self._mutex:
            if key in self._held:
                self._held.discard(key)
                if self._conn is not None and not self._conn.closed:
                    try:
                        self._conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                    except psycopg.Error:
                        self._drop()
            if not self._held:
                self._drop()

    def close(self) -> None:
        with self._mutex:
            self._drop()

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._held.clear()  # a new session holds nothing
            self._conn = self.connect()
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None and not conn.closed:
            conn.close()


def lock_key(name: str) -> int:
    """The advisory lock key of `name` (a bigint taken from its sha256)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def singleton(db: Any, name: str, stopping: threading.Event) -> Iterator[None]:
    """Runs the block while this process holds the advisory lock `name` (PostgreSQL; SQLite has
    one process per file): another process holding it makes this one stand by, trying every
    second; stopping while standing by enters the block at once (the caller's loop sees
    `stopping` and ends)."""
    if db.dialect != "postgres":
        yield
        return
    key, locks = lock_key(name), db.session_locks
    try:
        while not locks.try_lock(key):
            if stopping.wait(1.0):
                break
        yield
    finally:
        locks.unlock(key)
