"""Tests of the attachment stores, each on both (files with SQLite, chunked rows with
PostgreSQL): naming by SHA-256, size limit, nothing left behind, streamed reads."""

from __future__ import annotations

import hashlib
import io
import random
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from domain.errors import InvalidInput, NotFound
from domain.settings import Settings
from projections.db import ViewDB
from tests.conftest import PG_URL, settings_for
from tests.web.support import HTML, png
from web import pg_blobs
from web.attachments import (
    CHUNK,
    DEFAULT_MAX_BYTES,
    BlobStore,
    FileBlobStore,
    NoSuchBlob,
    Staged,
    TooLarge,
    may_show_inline,
)
from web.blobs import open_blob_store
from web.migrations import migrate
from web.pg_blobs import PgBlobStore

MB = 1024 * 1024
T = TypeVar("T")


class Zeros:
    """A stream of `size` zero bytes, made as it is read (like a large upload)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1, /) -> bytes:
        n = self.left if size < 0 else min(size, self.left)
        self.left -= n
        return bytes(n)


class Breaks:
    """A stream that fails after some bytes (a client that disconnects mid-upload)."""

    def __init__(self) -> None:
        self.calls = 0

    def read(self, size: int = -1, /) -> bytes:
        self.calls += 1
        if self.calls > 3:
            raise ConnectionResetError("client went away")
        return b"x" * 1000


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(settings: Settings) -> Iterator[BlobStore]:
    """The store the settings choose (bootstrap's choice): files, or PostgreSQL's rows."""
    views = ViewDB(settings)
    if views.dialect == "postgres":
        pg_blobs.migrate(views)
    found = open_blob_store(settings, views)
    assert isinstance(found, PgBlobStore if settings.uses_postgres else FileBlobStore)
    yield found
    views.close_all()


def kept(store: BlobStore) -> tuple[list[str], int]:
    """The blobs stored and the uploads staged but neither kept nor discarded; with files, the
    folder holds exactly those (and the held uploads)."""
    found = list(store.digests()), store.pending()
    if isinstance(store, FileBlobStore):
        assert len(files_under(store.root)) == len(found[0]) + found[1] + store.holding()
    return found


def test_a_blob_is_kept_under_its_sha256(store: BlobStore, tmp_path: Path) -> None:
    content = "Скриншот ошибки".encode()
    sha = hashlib.sha256(content).hexdigest()
    assert store.put(io.BytesIO(content)) == (sha, len(content))
    if isinstance(store, FileBlobStore):
        assert files_under(tmp_path) == [tmp_path / "data" / "attachments" / sha[:2] / sha[2:]]
    else:
        assert files_under(tmp_path) == []  # nothing on this host's disk
    assert kept(store) == ([sha], 0)
    assert store.exists(sha) is True
    with store.open(sha) as f:
        assert f.read() == content
    assert b"".join(store.chunks(sha)) == content
    assert (store.info(sha).size, store.info(sha).media_type) == (len(content), "text/plain")


def test_the_same_content_is_stored_once(store: BlobStore) -> None:
    first = store.put(io.BytesIO(b"same bytes"))
    second = store.put(io.BytesIO(b"same bytes"))
    assert first == second
    assert kept(store) == ([first[0]], 0)


def test_an_empty_file_is_a_blob_too(store: BlobStore) -> None:
    empty = hashlib.sha256(b"").hexdigest()
    assert store.put(io.BytesIO(b"")) == (empty, 0)
    assert list(store.chunks(empty)) == []
    with store.open(empty) as f:
        assert f.read() == b""


def test_exactly_the_limit_is_accepted(store: BlobStore) -> None:
    assert DEFAULT_MAX_BYTES == 25 * 1024 * 1024
    sha, size = store.put(Zeros(DEFAULT_MAX_BYTES))
    assert (sha, size) == (hashlib.sha256(bytes(DEFAULT_MAX_BYTES)).hexdigest(), DEFAULT_MAX_BYTES)
    assert store.info(sha).size == DEFAULT_MAX_BYTES
    sizes = [len(c) for c in store.chunks(sha)]
    assert sum(sizes) == DEFAULT_MAX_BYTES and max(sizes) <= CHUNK


def test_one_byte_over_the_limit_is_refused_and_leaves_nothing(store: BlobStore) -> None:
    stream = Zeros(DEFAULT_MAX_BYTES + 1)
    with pytest.raises(TooLarge) as refused:
        store.put(stream)
    assert refused.value.message == (
        "The file is larger than 25 MB, the most an attachment may be. "
        "Compress it, split it, or share a link to it instead."
    )
    assert isinstance(refused.value, InvalidInput) and refused.value.code == "too_large"
    assert kept(store) == ([], 0)
    assert stream.left == 0  # it read one byte past the limit, no more


def test_a_smaller_limit_is_honoured(store: BlobStore) -> None:
    with pytest.raises(TooLarge, match="larger than 10 bytes"):
        store.put(io.BytesIO(b"01234567890"), max_bytes=10)
    assert store.put(io.BytesIO(b"0123456789"), max_bytes=10)[1] == 10
    assert len(kept(store)[0]) == 1


def test_a_broken_upload_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(ConnectionResetError):
        store.put(Breaks())
    assert kept(store) == ([], 0)


def test_a_staged_upload_is_stored_only_when_kept(store: BlobStore) -> None:
    staged = store.stage(io.BytesIO(b"a screenshot"))
    assert kept(store) == ([], 1) and not store.exists(staged.sha256)
    staged.discard()
    assert kept(store) == ([], 0)
    again = store.stage(io.BytesIO(b"a screenshot"))
    again.keep()
    again.discard()  # harmless once kept
    assert kept(store) == ([again.sha256], 0)


@pytest.mark.parametrize("name", ["0" * 64, "../../etc/passwd", "A" * 64, "abc", ""])
def test_unknown_or_malformed_names_are_not_found(store: BlobStore, name: str) -> None:
    store.put(io.BytesIO(b"something"))
    assert store.exists(name) is False
    for read in (store.open, store.chunks, store.info):
        with pytest.raises(NoSuchBlob) as missing:
            read(name)
        assert isinstance(missing.value, NotFound)


def test_an_html_file_sent_as_an_image_is_sniffed_as_text(store: BlobStore) -> None:
    sha, _ = store.put(io.BytesIO(HTML))  # whatever Content-Type the client claimed
    assert store.media_type(sha) == "text/plain"
    assert may_show_inline(store.media_type(sha)) is False


def test_a_real_png_may_be_shown_inline(store: BlobStore) -> None:
    sha, _ = store.put(io.BytesIO(png()))
    assert store.media_type(sha) == "image/png"
    assert may_show_inline(store.media_type(sha)) is True


def test_leftovers_of_a_crash_are_cleared(store: BlobStore) -> None:
    sha, _ = store.put(io.BytesIO(b"kept"))
    store.stage(io.BytesIO(b"half an upload"))  # never kept nor discarded: the process died
    assert store.clear_leftovers(older_than=3600) == 0  # it may be another process's, staging
    assert store.clear_leftovers() == 1
    assert kept(store) == ([sha], 0)


def test_a_held_upload_is_apart_from_the_blobs_until_dropped_or_expired(store: BlobStore) -> None:
    content = bytes(range(256)) * 2000  # 512,000 bytes: several chunks
    now = time.time()
    staged = store.stage(io.BytesIO(content))
    first = staged.hold(now + 3600)
    staged.discard()  # held: discarding it afterwards does nothing
    second = store.stage(io.BytesIO(b"the second")).hold(now + 10)
    assert first != second and store.holding() == 2
    assert kept(store) == ([], 0), "neither a blob nor staged"
    with store.held(first) as f:
        assert f.read() == content
    for name in ("0" * 32, "../../etc/passwd", "held:" + first, ""):
        with pytest.raises(NoSuchBlob):
            store.held(name)
    assert store.purge_held(now + 11) == 1  # the second expired
    with pytest.raises(NoSuchBlob):
        store.held(second)
    store.drop_held([first, "not-an-id"])
    assert store.holding() == 0
    with pytest.raises(NoSuchBlob):
        store.held(first)
    assert kept(store) == ([], 0)
    if isinstance(store, FileBlobStore):
        assert files_under(store.root) == []


def test_an_expired_held_upload_is_not_read_before_it_is_purged(store: BlobStore) -> None:
    gone = store.stage(io.BytesIO(b"late")).hold(time.time() - 1)
    with pytest.raises(NoSuchBlob):
        store.held(gone)
    assert store.purge_held() == 1 and store.holding() == 0


class Noise:
    """`size` bytes of pseudo-random content (nothing compresses it), made as they are read, and
    their SHA-256: a large upload that never exists whole in memory."""

    def __init__(self, size: int, seed: int = 17) -> None:
        self.left, self.rng, self.sha = size, random.Random(seed), hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        n = self.left if size < 0 else min(size, self.left)
        data = self.rng.randbytes(n)
        self.left -= n
        self.sha.update(data)
        return data


def peak_while(work: Callable[[], T]) -> tuple[T, int]:
    """What `work` returns and the most memory Python held meanwhile above what it held before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        done = work()
        return done, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_large_file_is_stored_and_read_back_exactly_without_being_held_whole(
    store: BlobStore,
) -> None:
    size = 20 * MB
    upload = Noise(size)
    (sha, stored), writing = peak_while(lambda: store.put(upload, max_bytes=size))
    assert (sha, stored) == (upload.sha.hexdigest(), size)

    def read_back() -> tuple[str, int]:
        digest, count = hashlib.sha256(), 0
        for chunk in store.chunks(sha):
            digest.update(chunk)
            count += len(chunk)
        return digest.hexdigest(), count

    (read_sha, read_size), reading = peak_while(read_back)
    assert (read_sha, read_size) == (sha, size)  # byte for byte
    # a few chunks (PostgreSQL reads 4 of 256 KiB a query), never the 20 MB
    assert writing < 4 * MB and reading < 4 * MB, (writing, reading)


def test_two_concurrent_uploads_of_the_same_bytes_both_succeed_and_one_copy_is_stored(
    store: BlobStore, settings: Settings
) -> None:
    content = random.Random(5).randbytes(3 * CHUNK + 5)
    first, second = store.stage(io.BytesIO(content)), store.stage(io.BytesIO(content))
    assert kept(store) == ([], 2)
    failures: list[BaseException] = []

    def keep(staged: Staged) -> None:
        try:
            staged.keep()
        except BaseException as e:  # reported by the assertion below
            failures.append(e)

    threads = [threading.Thread(target=keep, args=(s,)) for s in (first, second)]
    with held_back(settings):  # on PostgreSQL both wait at the same INSERT, then race
        for t in threads:
            t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    sha = hashlib.sha256(content).hexdigest()
    assert kept(store) == ([sha], 0)
    assert b"".join(store.chunks(sha)) == content
    if settings.uses_postgres:
        assert chunk_rows(settings) == 4  # one copy's chunks, the other's deleted


@contextmanager
def held_back(settings: Settings) -> Iterator[None]:
    """PostgreSQL: blobs cannot be claimed inside the block, and it ends only once two keepers
    wait for the claim, so they race the moment it ends. Files: nothing to hold."""
    if not settings.uses_postgres:
        yield
        return
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f'SET search_path TO "{settings.schema}"')
        conn.execute("LOCK TABLE attachment_blobs IN SHARE ROW EXCLUSIVE MODE")
        yield
        waiting, deadline = 0, time.monotonic() + 60  # a bound on a hang, not a timing
        while waiting < 2 and time.monotonic() < deadline:
            with psycopg.connect(PG_URL, autocommit=True) as probe:
                probe.execute(f'SET search_path TO "{settings.schema}"')
                row = probe.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND relation = 'attachment_blobs'::regclass"
                ).fetchone()
                waiting = row[0] if row else 0
            time.sleep(0.05)
        assert waiting == 2, "both keepers wait for the claim"
    # the lock ends with the transaction, as the connection's block ends


def chunk_rows(settings: Settings) -> int:
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f'SET search_path TO "{settings.schema}"')
        row = conn.execute("SELECT count(*) FROM attachment_chunks").fetchone()
        return int(row[0]) if row else -1


@pytest.mark.postgres
def test_the_migration_copies_into_postgresql_the_files_an_earlier_suz_kept_on_disk(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = settings_for("postgres", tmp_path, request)
    disk = FileBlobStore.from_settings(settings)
    old = [disk.put(io.BytesIO(png())), disk.put(io.BytesIO(HTML))]
    migrate(settings)
    disk.put(io.BytesIO(b"written on disk by an older process after the copy"))
    migrate(settings)  # again: nothing copied twice, the folder is not looked at again
    views = ViewDB(settings)
    try:
        store = open_blob_store(settings, views)
        assert kept(store) == (sorted(sha for sha, _ in old), 0)
        assert (disk.root / pg_blobs.COPIED).exists()
        assert b"".join(store.chunks(old[0][0])) == png()
        assert store.media_type(old[1][0]) == "text/plain"
    finally:
        views.close_all()
