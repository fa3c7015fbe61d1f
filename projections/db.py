"""The view store: one SQL dialect-neutral way to run statements on SQLite or PostgreSQL.

SQL in the views is written with `%s` placeholders; for SQLite they become `?`. Statements
that differ between the two are chosen with `dialect`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import orjson
import psycopg
from psycopg_pool import ConnectionPool

from domain.settings import Settings
from projections.locks import SessionLocks
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
        # (statement, its parameters, or a list of them: `executemany`); None: not deferring
        self._queued: list[tuple[str, Any, bool]] | None = None

    def defer(self) -> None:
        """From now on `execute` queues its statement instead of waiting for its answer (a view
        batch's writes: PostgreSQL is sent them together, one round trip per run of writes
        instead of one each); `executemany` queues its rows likewise. Every read and `flush`
        sends what was queued first, and the transaction does before it commits, so statements
        still run in their order and reads see the writes before them; an error of a queued
        write is raised by the next of those instead of by its `execute`."""
        if self._queued is None:
            self._queued = []

    def flush(self) -> None:
        queued = self._queued
        if not queued:
            return
        self._queued = []
        with self.conn.pipeline(), self.conn.cursor() as cur:
            for sql, params, many in queued:
                if many:
                    cur.executemany(sql, params)  # type: ignore[arg-type]
                else:
                    cur.execute(sql, params)  # type: ignore[arg-type]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self._queued is not None:
            self._queued.append((sql, pg_params(params), False))
            return
        self.conn.execute(sql, pg_params(params))  # type: ignore[arg-type]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        many = [pg_params(r) for r in rows]
        if self._queued is not None:
            if many:
                self._queued.append((sql, many, True))
            return
        with self.conn.cursor() as cur:
            cur.executemany(sql, many)  # type: ignore[arg-type]

    def all(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        self.flush()
        return self.conn.execute(sql, pg_params(params), binary=binary).fetchall()  # type: ignore[arg-type]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self.flush()
        return self.conn.execute(sql, pg_params(params)).fetchone()  # type: ignore[arg-type]

    def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Appends `rows` to `table` by one `COPY ... FROM STDIN` (after what was queued)."""
        self.flush()
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(pg_params(row))


# Appended rows from which a COPY pays for its round trips (a live batch's few rows are queued).
COPY_ROWS = 500


def insert_rows(
    tx: Tx,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: str = "",
) -> None:
    """Inserts `rows` (values in `columns`' order) in one statement on PostgreSQL.

    One INSERT of the rows read from a JSON array by the table's own row type
    (`json_populate_recordset`: no types to name), queued like any write (`defer`), with
    `conflict` (an `ON CONFLICT ...` clause) if given: then the rows must not name a key twice
    (one statement may not update a row twice). Many rows only appended (`COPY_ROWS`, a
    catch-up's batch) go by COPY instead, which costs PostgreSQL less still but waits for its
    own round trips. `executemany` sends its statements together too, but PostgreSQL still
    parses, plans and runs each row's alone: 3-6 times the time for a batch's thousands of
    rows (measured). SQLite: `executemany` (it runs in the process: no round trips to save)."""
    if not rows:
        return
    names = ", ".join(columns)
    tail = f" {conflict}" if conflict else ""
    if isinstance(tx, _PgTx):
        if not conflict and len(rows) >= COPY_ROWS:
            tx.copy(table, columns, rows)
        else:
            tx.execute(f"INSERT INTO {table} ({names}) SELECT {names}"
                       f" FROM json_populate_recordset(NULL::{table}, %s){tail}",
                       (_json_rows(columns, rows),))  # fmt: skip
        return
    marks = ", ".join(["%s"] * len(columns))
    tx.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){tail}", rows)


def update_rows(
    tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], key: Sequence[str]
) -> None:
    """Sets the `columns` not in `key` of the rows `key` names (each row's values in `columns`'
    order). PostgreSQL: one UPDATE of them all from a JSON array (queued like any write; no key
    twice); SQLite: `executemany`."""
    if not rows:
        return
    sets = [c for c in columns if c not in key]
    if isinstance(tx, _PgTx):
        tx.execute(
            f"UPDATE {table} SET {', '.join(f'{c} = v.{c}' for c in sets)}"
            f" FROM json_populate_recordset(NULL::{table}, %s) AS v"
            f" WHERE {' AND '.join(f'{table}.{k} = v.{k}' for k in key)}",
            (_json_rows(columns, rows),),
        )
        return
    at = {c: i for i, c in enumerate(columns)}
    order = [at[c] for c in (*sets, *key)]
    tx.executemany(
        f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in sets)}"
        f" WHERE {' AND '.join(f'{k} = %s' for k in key)}",
        [[row[i] for i in order] for row in rows],
    )


def delete_in(tx: Tx, table: str, column: str, keys: Sequence[Any]) -> None:
    """Deletes the rows whose `column` is one of `keys`: one statement on PostgreSQL (`=
    ANY`, queued like any write), `executemany` on SQLite."""
    if not keys:
        return
    if isinstance(tx, _PgTx):
        tx.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (list(keys),))
        return
    tx.executemany(f"DELETE FROM {table} WHERE {column} = %s", [(k,) for k in keys])


def _json_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The rows as a JSON array of objects, NUL projected as `pg_params` does (PostgreSQL's
    text holds none, and json's `\\u0000` cannot be made text)."""
    data = orjson.dumps([dict(zip(columns, row, strict=True)) for row in rows])
    if b"\\u0000" in data:
        data = orjson.dumps([dict(zip(columns, pg_params(row), strict=True)) for row in rows])
    return data.decode()


def defer(tx: Tx) -> None:
    """`tx`'s writes are queued until its next read (PostgreSQL, `_PgTx.defer`); SQLite runs
    in the process, where a statement costs no round trip: nothing to queue."""
    if isinstance(tx, _PgTx):
        tx.defer()


def flush(tx: Tx) -> None:
    """Sends `tx`'s queued writes now, raising the first one's error."""
    if isinstance(tx, _PgTx):
        tx.flush()


@contextmanager
def snapshot(tx: Tx) -> Iterator[bool]:
    """True, and the block's statements see one snapshot of committed rows: a read-only
    REPEATABLE READ transaction, when `tx` is a PostgreSQL read outside any transaction
    (`ViewDB.read`). False, and nothing changes, on SQLite or inside a transaction, whose own
    uncommitted writes its statements may see."""
    idle = psycopg.pq.TransactionStatus.IDLE
    if not isinstance(tx, _PgTx) or tx.conn.info.transaction_status != idle or tx._queued:
        yield False
        return
    with tx.conn.transaction():
        tx.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield True


class ViewDB:
    """Connections to the view store.

    SQLite: each thread keeps its own connection. PostgreSQL: one bounded pool per process
    (`SUZ_DB_POOL_SIZE`), shared by view reads, the runners' batches, the background processes
    and the sessions; a block borrows one connection for its duration (a block nested in another
    on the same thread uses the outer one: it sees the outer transaction). The pool checks a
    connection idle for more than `FRESH` seconds before lending it, so one killed in an outage
    is replaced, not handed out.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialect = "postgres" if settings.uses_postgres else "sqlite"
        self._local = threading.local()
        # every SQLite connection any thread opened, with the lock its thread holds while using
        # it: close_all() takes the lock first, since closing a connection another thread is
        # reading from crashes the interpreter (a segfault, not an exception)
        self._opened: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._lock = threading.Lock()
        self._generation = 0  # close_all() starts a new one: threads then reconnect
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self.session_locks = SessionLocks(self.connect)  # the runners' advisory locks

    def connect(self) -> sqlite3.Connection | psycopg.Connection[Any]:
        """A new connection of its own (PostgreSQL: outside the pool, for LISTEN or a session
        lock; the caller closes it)."""
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
        pg = psycopg.connect(self.settings.database_url, **_PG_OPTIONS)  # type: ignore[arg-type]
        _in_schema(self.settings.schema)(pg)
        return pg

    @property
    def pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        """The process's PostgreSQL pool for the view side (opened on first use)."""
        with self._lock:
            if self._pool is None:
                assert self.settings.database_url is not None
                self._pool = ConnectionPool(
                    self.settings.database_url,
                    kwargs=dict(_PG_OPTIONS),
                    min_size=1,
                    max_size=max(1, self.settings.db_pool_size),
                    timeout=self.settings.db_pool_timeout,
                    configure=_in_schema(self.settings.schema),  # not `self`: see finalize
                    check=_check_if_idle,
                    name="suz-views",
                    open=True,
                )
                weakref.finalize(self, self._pool.close)  # a ViewDB dropped unclosed (tests)
            return self._pool

    @contextmanager
    def _sqlite(self) -> Iterator[sqlite3.Connection]:
        """This thread's SQLite connection, held (against close_all) for the block."""
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "generation", -1) != self._generation:
            made = self.connect()
            assert isinstance(made, sqlite3.Connection)
            conn = self._local.conn = made
            self._local.in_use = threading.RLock()
            self._local.generation = self._generation
            with self._lock:
                self._opened.append((conn, self._local.in_use))
        with self._local.in_use:
            yield conn

    @contextmanager
    def _borrow(self) -> Iterator[psycopg.Connection[Any]]:
        held: psycopg.Connection[Any] | None = getattr(self._local, "held", None)
        if held is not None:  # nested in a block of this thread: the same connection
            yield held
            return
        with self.pool.connection() as conn:
            self._local.held = conn
            try:
                yield conn
            finally:
                self._local.held = None
                _returned[conn] = time.monotonic()  # see FRESH

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if self.dialect == "sqlite":
            with self._sqlite() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield _SqliteTx(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            return
        with self._borrow() as pg, pg.transaction():
            tx = _PgTx(pg)
            yield tx
            tx.flush()  # queued writes (`defer`) go before the commit

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Queries outside an explicit transaction (each statement sees committed data)."""
        if self.dialect == "sqlite":
            with self._sqlite() as conn:
                yield _SqliteTx(conn)
            return
        with self._borrow() as pg:
            yield _PgTx(pg)

    def close(self) -> None:
        """Closes this thread's SQLite connection (PostgreSQL: borrowed ones are back already)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with self._lock:
                self._opened = [(c, held) for c, held in self._opened if c is not conn]
            conn.close()
            self._local.conn = None

    def close_all(self) -> None:
        """Closes every connection any thread opened, and the pool (at shutdown)."""
        with self._lock:
            opened, self._opened = self._opened, []
            self._generation += 1
            pool, self._pool = self._pool, None
        self.session_locks.close()
        for conn, in_use in opened:
            # a thread still in a block (a read the server's shutdown no longer waits for)
            # finishes it first; one stuck longer keeps its connection, left to the process's end
            if in_use.acquire(timeout=30):
                try:
                    conn.close()
                finally:
                    in_use.release()
        if pool is not None:
            pool.close()


# A connection back in the pool less than this long ago was working then: lending it again
# without a check saves a round trip on every read of a busy process. One idle longer (an
# outage or a restart of PostgreSQL may have killed it) is checked first, and replaced if dead.
FRESH = 2.0
_returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = weakref.WeakKeyDictionary()


@contextmanager
def returned_fresh(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """For another user of the pool: the connection, used in the block, goes back fresh."""
    try:
        yield
    finally:
        _returned[conn] = time.monotonic()


def _check_if_idle(conn: psycopg.Connection[Any]) -> None:
    if time.monotonic() - _returned.get(conn, float("-inf")) > FRESH:
        ConnectionPool.check_connection(conn)


# No server-side prepared statements: their generic plans ignore the parameters, and a search or
# suggestion whose cost depends on its words and category needs custom plans.
_PG_OPTIONS: dict[str, Any] = {"autocommit": True, "prepare_threshold": None}


def _in_schema(schema: str | None) -> Callable[[psycopg.Connection[Any]], None]:
    def configure(pg: psycopg.Connection[Any]) -> None:
        if schema:
            pg.execute(f'SET search_path TO "{schema}"')

    return configure
