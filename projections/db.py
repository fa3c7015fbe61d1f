"""The view store: one SQL dialect-neutral way to run statements on SQLite or PostgreSQL.

SQL in the views is written with `%s` placeholders; for SQLite they become `?`. Statements
that differ between the two are chosen with `dialect`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg

from domain.settings import Settings
from projections.pg_text import pg_params

Row = tuple[Any, ...]


class Tx(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def all(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        """`binary`: PostgreSQL sends values in binary (bytea without hex); SQLite always does."""
        ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...


class _SqliteTx:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql.replace("%s", "?"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql.replace("%s", "?"), rows)

    def all(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        return self.conn.execute(sql.replace("%s", "?"), tuple(params)).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.conn.execute(sql.replace("%s", "?"), tuple(params)).fetchone()
        return row


class _PgTx:
    dialect = "postgres"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql, pg_params(params))  # type: ignore[arg-type]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(sql, [pg_params(r) for r in rows])  # type: ignore[arg-type]

    def all(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        return self.conn.execute(sql, pg_params(params), binary=binary).fetchall()  # type: ignore[arg-type]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self.conn.execute(sql, pg_params(params)).fetchone()  # type: ignore[arg-type]


class ViewDB:
    """Connections to the view store. Each thread gets its own connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialect = "postgres" if settings.uses_postgres else "sqlite"
        self._local = threading.local()
        self._opened: list[sqlite3.Connection | psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._generation = 0  # close_all() starts a new one: threads then reconnect

    def connect(self) -> sqlite3.Connection | psycopg.Connection[Any]:
        if self.settings.database_url is None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.settings.data_dir / "views.sqlite",
                timeout=30,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        # No server-side prepared statements: their generic plans ignore the parameters, and a
        # search or suggestion whose cost depends on its words and category needs custom plans.
        pg = psycopg.connect(self.settings.database_url, autocommit=True, prepare_threshold=None)
        schema = self.settings.schema
        if schema:
            pg.execute(f'SET search_path TO "{schema}"')
        return pg

    def _conn(self) -> sqlite3.Connection | psycopg.Connection[Any]:
        conn = getattr(self._local, "conn", None)
        stale = getattr(self._local, "generation", -1) != self._generation
        if conn is None or stale or (isinstance(conn, psycopg.Connection) and conn.closed):
            conn = self._local.conn = self.connect()
            self._local.generation = self._generation
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        conn = self._conn()
        if isinstance(conn, sqlite3.Connection):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return
        try:
            with conn.transaction():
                yield _PgTx(conn)
        except psycopg.OperationalError:
            self._local.conn = None
            raise

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Queries outside an explicit transaction (each statement sees committed data)."""
        conn = self._conn()
        yield _SqliteTx(conn) if isinstance(conn, sqlite3.Connection) else _PgTx(conn)

    def close(self) -> None:
        """Closes this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close_all(self) -> None:
        """Closes every connection any thread opened (at shutdown)."""
        with self._lock:
            opened, self._opened = self._opened, []
            self._generation += 1
        for conn in opened:
            conn.close()
