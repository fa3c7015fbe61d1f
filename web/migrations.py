"""Every table suz uses is made here, in one step: by `suz migrate` and at each process's
start-up (web/services.py), never lazily by the module that uses it (a table made on first use,
remembered per object, was once never made at all).

To add tables: put plain DDL for the views database in `VIEW_TABLES` (e.g. `*mymodule.DDL`),
or, for anything else, append a step `def step(stores: Stores) -> None` to `STEPS`. Every
statement must be idempotent (`CREATE TABLE IF NOT EXISTS`, `CREATE INDEX IF NOT EXISTS`).
The whole step runs under one lock per store (a PostgreSQL advisory lock per schema, a file lock
for the SQLite data folder), so processes starting together never race to make a table.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import psycopg

from audit import checks, seals
from domain.desk import Desk
from domain.settings import Settings
from projections.db import ViewDB
from projections.runner import migrate_views
from projections.system import all_views
from web import pg_blobs
from web.attachments import FileBlobStore
from web.sessions import SessionStore, open_session_store
from web.shared_throttle import DDL as SHARED_LIMITS


@dataclass(frozen=True)
class Stores:
    """What a step may make tables in (the event store's own are made by `Desk`)."""

    settings: Settings
    desk: Desk
    views: ViewDB
    sessions: SessionStore


# Tables of the views database that are not a view's (views declare theirs: View.ddl).
VIEW_TABLES: list[str] = [
    checks.DDL,
    *seals.DDL,
]


def _views(stores: Stores) -> None:
    migrate_views(stores.views, all_views())


def _view_tables(stores: Stores) -> None:
    with stores.views.tx() as tx:
        for statement in VIEW_TABLES:
            tx.execute(statement)


def _sessions(stores: Stores) -> None:
    stores.sessions.migrate()


def _shared_limits(stores: Stores) -> None:
    """PostgreSQL keeps the sign-in throttle, rate limits and socket counts for every host
    (web/shared_throttle.py); SQLite's single process keeps them in memory."""
    if stores.views.dialect == "postgres":
        with stores.views.tx() as tx:
            for statement in SHARED_LIMITS:
                tx.execute(statement)


def _attachments(stores: Stores) -> None:
    """PostgreSQL keeps the attachments (web/pg_blobs.py): its tables, and the files an earlier
    suz kept in this host's data folder copied in (once: those already stored are skipped)."""
    if stores.views.dialect == "postgres":
        pg_blobs.migrate(stores.views, FileBlobStore.from_settings(stores.settings))


STEPS: list[Callable[[Stores], None]] = [
    _views,
    _view_tables,
    _sessions,
    _attachments,
    _shared_limits,
]


def migrate(settings: Settings) -> None:
    """Makes every table that does not exist yet (the event store's, the views', the web's)."""
    with _exclusive(settings):
        # one connection makes the event store's tables: the store's pool would open its whole
        # size (5) at once, for a desk that only makes tables and is closed again
        one = replace(settings, store_pool_size=1, store_max_overflow=0)
        desk = Desk(one.store_env(create_tables=True))
        views, sessions = ViewDB(settings), open_session_store(settings)
        try:
            for step in STEPS:
                step(Stores(settings, desk, views, sessions))
        finally:
            sessions.close()
            views.close_all()
            desk.close()


@contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """One migration at a time per store, across processes."""
    if settings.database_url is not None:
        scope = f"suz migrate {settings.schema or 'public'}"
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (scope,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (scope,))
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / ".migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield
