"""The floor the Desk is measured against: raw inserts of the same rows, without the library.

Each transaction repeats what the `eventsourcing` 9.5 recorder does, statement for statement:

- PostgreSQL (`PostgresApplicationRecorder.insert_events`): in a pipeline and a transaction,
  `SET LOCAL lock_timeout`, `LOCK TABLE ... IN EXCLUSIVE MODE`, `NOTIFY <table>`, then
  `INSERT ... SELECT ... FROM unnest(%s::<composite>[]) RETURNING notification_id`, a sync and
  a fetch of the new notification ids; the connection is in autocommit mode, as the pool's are.
- SQLite (`SQLiteApplicationRecorder`): `BEGIN`, one `INSERT INTO ... VALUES (?,?,?,?)` per row
  (reading `lastrowid`), `COMMIT`, on a WAL-mode connection opened with the library's options.

The tables have the library's shape (same columns, keys, indexes and table options).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg.sql import SQL, Identifier
from psycopg.types.composite import CompositeInfo, register_composite

TABLE = "raw_events"
Row = tuple[UUID, int, str, bytes]  # originator_id, originator_version, topic, state


class RawStore(Protocol):
    def insert(self, rows: Sequence[Row]) -> list[int]: ...

    def close(self) -> None: ...


class PostgresRaw:
    """Raw psycopg inserts into `<schema>.raw_events`, shaped like the library's events table."""

    def __init__(self, url: str, schema: str, lock_timeout: int = 0) -> None:
        self.conn: psycopg.Connection[DictRow] = psycopg.connect(
            url, autocommit=True, row_factory=dict_row
        )
        self.conn.execute("SET idle_in_transaction_session_timeout = '5000ms'")
        s, t, i = Identifier(schema), Identifier(TABLE), Identifier(f"{TABLE}_notification_id_idx")
        composite = Identifier("raw_event_uuid")
        for statement in (
            SQL(
                "CREATE TABLE {s}.{t} (originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, topic text, state bytea, "
                "notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) "
                "WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000, "
                "autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000, "
                "autovacuum_analyze_scale_factor = 0.01)"
            ),
            SQL("CREATE UNIQUE INDEX {i} ON {s}.{t} (notification_id ASC)"),
            SQL(
                "CREATE TYPE {s}.{c} AS (originator_id uuid, originator_version bigint, "
                "topic text, state bytea)"
            ),
        ):
            self.conn.execute(statement.format(s=s, t=t, c=composite, i=i))
        info = CompositeInfo.fetch(self.conn, f"{schema}.raw_event_uuid")
        if info is None:
            raise RuntimeError("the raw_event_uuid composite type was not created")
        register_composite(info, self.conn)  # also makes info.python_type
        self.event_type: Any = info.python_type
        self.lock = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(lock_timeout),
            SQL("LOCK TABLE {0}.{1} IN EXCLUSIVE MODE").format(s, t),
        ]
        self.notify = SQL("NOTIFY {0}").format(Identifier(TABLE))
        self.insert_statement = SQL(
            "INSERT INTO {s}.{t} AS t (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state "
            "FROM unnest(%s::{s}.{c}[]) RETURNING notification_id"
        ).format(s=s, t=t, c=composite)

    def insert(self, rows: Sequence[Row]) -> list[int]:
        events = [self.event_type(*row) for row in rows]
        conn = self.conn
        with conn.pipeline() as pipeline, conn.transaction():
            with conn.cursor() as curs:
                for statement in self.lock:
                    curs.execute(statement, prepare=True)
                curs.execute(self.notify)
            with conn.cursor() as curs:
                curs.execute(self.insert_statement, (events,))
                pipeline.sync()
                return [row["notification_id"] for row in curs.fetchall()]

    def close(self) -> None:
        self.conn.close()


class SqliteRaw:
    """Raw sqlite3 inserts into a `raw_events` table in its own WAL-mode database file."""

    def __init__(self, path: Path, lock_timeout: float = 10) -> None:
        self.conn = sqlite3.connect(
            str(path),
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            cached_statements=True,
            timeout=lock_timeout,
        )
        self.conn.execute("PRAGMA journal_mode=WAL;")
        self.conn.row_factory = sqlite3.Row
        self.conn.execute(
            f"CREATE TABLE {TABLE} (originator_id TEXT, originator_version INTEGER, topic TEXT, "
            "state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        self.insert_statement = f"INSERT INTO {TABLE} VALUES (?,?,?,?)"

    def insert(self, rows: Sequence[Row]) -> list[int]:
        curs = self.conn.cursor()
        curs.execute("BEGIN")
        try:
            ids: list[int] = []
            for originator_id, version, topic, state in rows:
                curs.execute(self.insert_statement, (originator_id.hex, version, topic, state))
                ids.append(curs.lastrowid or 0)
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()
        return ids

    def close(self) -> None:
        self.conn.close()
