"""Attachments in PostgreSQL: any web host on the same database serves any file.

A blob is a row of `attachment_blobs` (its SHA-256, size, sniffed media type, number of chunks)
and its content `attachment_chunks` rows of at most 256 KiB (`bytea`, stored uncompressed: most
attachments are compressed already). An upload is staged as chunks under an upload id of its own
(`upload:<hex>`, listed in `attachment_uploads`), written as it is read in one transaction, so a
broken upload leaves nothing. Keeping it claims the SHA-256 in `attachment_blobs` (`ON CONFLICT
DO NOTHING`) and, in the same transaction, renames its chunks to the digest, or deletes them when
the digest was stored already: two hosts keeping the same bytes at once both succeed, one copy is
stored (the second waits on the first's row, then finds it). A download reads one chunk per
query, borrowing a pooled connection only for that query, so a slow client holds no connection.
A held upload (a form sent back: web/held_files.py) is a row of `attachment_held` (its id, chunk
count and expiry, wall-clock seconds) with its chunks renamed to `held:<id>`.
"""

from __future__ import annotations

import io
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import psycopg
from psycopg_pool import ConnectionPool

from projections.db import ViewDB, returned_fresh
from web.attachments import (
    CHUNK,
    DEFAULT_MAX_BYTES,
    NO_ATTACHMENT,
    NO_HELD_FILE,
    Blob,
    BlobStore,
    FileBlobStore,
    NoSuchBlob,
    Readable,
    Staged,
    Summary,
    _ChunkReader,
    is_held_id,
    is_sha256,
    read_limited,
)

TABLES = (
    """CREATE TABLE IF NOT EXISTS attachment_blobs (
        digest TEXT PRIMARY KEY,
        size BIGINT NOT NULL,
        media_type TEXT NOT NULL,
        chunks INTEGER NOT NULL,
        stored TIMESTAMPTZ NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS attachment_chunks (
        blob TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (blob, seq))""",
    """CREATE TABLE IF NOT EXISTS attachment_uploads (
        id TEXT PRIMARY KEY,
        started TIMESTAMPTZ NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS attachment_held (
        id TEXT PRIMARY KEY,
        chunks INTEGER NOT NULL,
        expires DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS attachment_held_expires ON attachment_held (expires)",
)
PAGE = 1000  # digests listed per query
COPIED = "COPIED-INTO-POSTGRESQL.txt"  # left in a disk store's folder once copied in
READ_AHEAD = 4  # chunks read per query (1 MiB): fewer round trips, memory still bounded

Pool = ConnectionPool[psycopg.Connection[Any]]


def migrate(views: ViewDB, disk: FileBlobStore | None = None) -> int:
    """Makes the tables (run by web/migrations.py under its lock); then copies in the blobs a
    store that kept them on this host's disk had (`disk`), those not stored yet, once (a note
    left in the folder says it was done). How many."""
    with views.tx() as tx:
        new = tx.one("SELECT to_regclass('attachment_chunks')") == (None,)
        for statement in TABLES:
            tx.execute(statement)
        if new:  # no compression attempts on what is compressed already (PostgreSQL < 16 has
            # no STORAGE in CREATE TABLE; ALTER only once: it locks the table)
            tx.execute("ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    if disk is None or not disk.root.is_dir() or (disk.root / COPIED).exists():
        return 0
    store, copied = PgBlobStore(views.pool), 0
    for sha256 in disk.digests():
        if not store.exists(sha256):
            with disk.open(sha256) as f:
                store.put(f, max_bytes=disk.path(sha256).stat().st_size)
            copied += 1
    (disk.root / COPIED).write_text(
        "Every file in this folder was copied into PostgreSQL (web/pg_blobs.py), which suz reads\n"
        "them from now on; delete this note to have `suz migrate` look again.\n"
    )
    return copied


class PgBlobStore(BlobStore):
    """Blobs in the PostgreSQL schema the pool's connections use (the views' pool)."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn, returned_fresh(conn):
            cursor = conn.execute(sql, params, binary=True)
            return cursor.fetchall() if cursor.description else []

    def stage(self, stream: Readable, max_bytes: int = DEFAULT_MAX_BYTES) -> PgStaged:
        upload, seen, seq = f"upload:{uuid.uuid4().hex}", Summary(), 0
        with self._pool.connection() as conn, returned_fresh(conn), conn.transaction():
            conn.execute("INSERT INTO attachment_uploads (id) VALUES (%s)", (upload,))
            for chunk in read_limited(stream, max_bytes):
                seen.add(chunk)
                conn.execute("INSERT INTO attachment_chunks (blob, seq, data) VALUES (%s, %s, %b)",
                             (upload, seq, chunk))  # fmt: skip
                seq += 1
        return PgStaged(self._pool, upload, seq, seen.digest.hexdigest(), seen.size,
                        seen.media_type)  # fmt: skip

    def info(self, sha256: str) -> Blob:
        return self._blob(sha256)[0]

    def _blob(self, sha256: str) -> tuple[Blob, int]:
        rows = [] if not is_sha256(sha256) else self._query(
            "SELECT size, media_type, chunks FROM attachment_blobs WHERE digest = %s", (sha256,)
        )  # fmt: skip
        if not rows:
            raise NoSuchBlob(NO_ATTACHMENT)
        size, media_type, chunks = rows[0]
        return Blob(sha256, size, media_type), chunks

    def chunks(self, sha256: str) -> Iterator[bytes]:
        _, count = self._blob(sha256)
        return self._read(sha256, count)

    def _read(self, blob: str, count: int) -> Iterator[bytes]:
        for first in range(0, count, READ_AHEAD):
            wanted = min(READ_AHEAD, count - first)
            rows = self._query(
                "SELECT data FROM attachment_chunks WHERE blob = %s AND seq >= %s"
                " AND seq < %s ORDER BY seq", (blob, first, first + wanted),
            )  # fmt: skip
            if len(rows) != wanted:
                raise NoSuchBlob(f"Chunks {first}.. of attachment {blob} are missing.")
            for row in rows:
                yield bytes(row[0])

    def exists(self, sha256: str) -> bool:
        return is_sha256(sha256) and bool(
            self._query("SELECT 1 FROM attachment_blobs WHERE digest = %s", (sha256,))
        )

    def digests(self) -> Iterator[str]:
        after = ""
        while True:
            rows = self._query("SELECT digest FROM attachment_blobs WHERE digest > %s "
                               f"ORDER BY digest LIMIT {PAGE}", (after,))  # fmt: skip
            yield from (r[0] for r in rows)
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def pending(self) -> int:
        return int(self._query("SELECT count(*) FROM attachment_uploads")[0][0])

    def clear_leftovers(self, older_than: float = 0.0) -> int:
        with self._pool.connection() as conn, returned_fresh(conn), conn.transaction():
            gone = conn.execute(
                "DELETE FROM attachment_uploads WHERE started <= now() - make_interval(secs => %s)"
                " RETURNING id", (older_than,),
            ).fetchall()  # fmt: skip
            ids = [r[0] for r in gone]
            conn.execute("DELETE FROM attachment_chunks WHERE blob = ANY(%s)", (ids,))
        return len(ids)

    def held(self, hold_id: str) -> BinaryIO:
        rows = [] if not is_held_id(hold_id) else self._query(
            "SELECT chunks FROM attachment_held WHERE id = %s AND expires > %s",
            (hold_id, time.time()),
        )  # fmt: skip
        if not rows:
            raise NoSuchBlob(NO_HELD_FILE)
        reader = _ChunkReader(self._read(f"held:{hold_id}", rows[0][0]))
        return cast(BinaryIO, io.BufferedReader(reader, CHUNK))

    def drop_held(self, hold_ids: list[str]) -> None:
        self._delete_held("DELETE FROM attachment_held WHERE id = ANY(%s) RETURNING id",
                          ([h for h in hold_ids if is_held_id(h)],))  # fmt: skip

    def purge_held(self, now: float | None = None) -> int:
        return self._delete_held(
            "DELETE FROM attachment_held WHERE expires <= %s RETURNING id",
            (time.time() if now is None else now,),
        )

    def holding(self) -> int:
        return int(self._query("SELECT count(*) FROM attachment_held")[0][0])

    def _delete_held(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._pool.connection() as conn, returned_fresh(conn), conn.transaction():
            gone = [f"held:{r[0]}" for r in conn.execute(sql, params).fetchall()]
            conn.execute("DELETE FROM attachment_chunks WHERE blob = ANY(%s)", (gone,))
        return len(gone)


class PgStaged(Staged):
    """An upload's chunks under its upload id."""

    def __init__(
        self, pool: Pool, upload: str, chunks: int, sha256: str, size: int, media_type: str
    ) -> None:
        self._pool, self.upload, self.chunks = pool, upload, chunks
        self.sha256, self.size, self.media_type = sha256, size, media_type
        self._done = False

    def keep(self) -> None:
        if self._done:
            return
        with self._pool.connection() as conn, returned_fresh(conn), conn.transaction():
            claimed = conn.execute(
                "INSERT INTO attachment_blobs (digest, size, media_type, chunks) VALUES "
                "(%s, %s, %s, %s) ON CONFLICT (digest) DO NOTHING",
                (self.sha256, self.size, self.media_type, self.chunks),
            ).rowcount
            if claimed:
                conn.execute("UPDATE attachment_chunks SET blob = %s WHERE blob = %s",
                             (self.sha256, self.upload))  # fmt: skip
            else:  # stored before, or by a concurrent upload that committed first
                conn.execute("DELETE FROM attachment_chunks WHERE blob = %s", (self.upload,))
            conn.execute("DELETE FROM attachment_uploads WHERE id = %s", (self.upload,))
        self._done = True

    def discard(self) -> None:
        if self._done:
            return
        with self._pool.connection() as conn, returned_fresh(conn), conn.transaction():
            conn.execute("DELETE FROM attachment_chunks WHERE blob = %s", (self.upload,))
            conn.execute("DELETE FROM attachment_uploads WHERE id = %s", (self.upload,))
        self._done = True

    def hold(self, until: float) -> str:
        hold_id = secrets.token_hex(16)
        with self._pool.connection() as conn, returned_fresh(conn), conn.transaction():
            conn.execute("INSERT INTO attachment_held (id, chunks, expires) VALUES (%s, %s, %s)",
                         (hold_id, self.chunks, until))  # fmt: skip
            conn.execute("UPDATE attachment_chunks SET blob = %s WHERE blob = %s",
                         (f"held:{hold_id}", self.upload))  # fmt: skip
            conn.execute("DELETE FROM attachment_uploads WHERE id = %s", (self.upload,))
        self._done = True
        return hold_id
