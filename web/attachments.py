"""Attachment storage: content-addressed blobs with a size limit, behind one small interface.

A blob is named by the SHA-256 of its bytes. `BlobStore` is what the web, the mail intake and the
backup use: `stage` streams an upload into the store's temporary place (hashing, counting and
sniffing as it goes, never holding it whole in memory); the web keeps a staged blob (`keep`)
only once the command that references it is recorded, and discards it otherwise: a failed,
oversized, refused or stale upload leaves nothing behind, and identical files are stored once.
`chunks` reads a blob back as a stream; `put` stages and keeps at once.

A form sent back for an error keeps its files (web/held_files.py): a staged upload is then
`hold`-ed, set aside under a random id of its own with an expiry, apart from the blobs (a held
file is nobody's until a request is filed with it, and the blobs, shared by content, are never
deleted, whereas held files are, once filed or expired: `drop_held`, `purge_held`). Filing with
it streams it back through `stage`, so its bytes are hashed, capped and sniffed again.

Two stores (web/blobs.py chooses one from the settings, once, at bootstrap): `FileBlobStore`
here, files at `<SUZ_DATA_DIR>/attachments/ab/cdef...` (the SQLite default), and
`PgBlobStore` (web/pg_blobs.py), chunked `bytea` rows in PostgreSQL so that any web host
serves any file. Blobs are never deleted, so two requests sharing a content hash cannot take
each other's file (each stages its own copy; keeping identical content twice is harmless). A
crash between the recording and the keeping loses that one file (its entry then offers a file
that answers 404). What a blob is (its media type) and what it is called are decided in
`web.media`, never by the client.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import secrets
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from domain.errors import InvalidInput, NotFound
from domain.i18n import lazy
from domain.settings import Settings
from web.media import (
    SNIFF_BYTES,
    clean_filename,
    content_disposition,
    content_type,
    may_show_inline,
    sniff_media_type,
)

__all__ = [  # the naming and typing helpers live in web.media and are offered here too
    "CHUNK",
    "DEFAULT_MAX_BYTES",
    "Blob",
    "BlobStore",
    "FileBlobStore",
    "NoSuchBlob",
    "Staged",
    "TooLarge",
    "clean_filename",
    "content_disposition",
    "content_type",
    "is_held_id",
    "is_sha256",
    "may_show_inline",
    "sniff_media_type",
]

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 25 * MB
CHUNK = 256 * 1024  # what a store reads, writes and sends at a time
_SHA256 = re.compile(r"[0-9a-f]{64}")
_HELD_ID = re.compile(r"[0-9a-f]{32}")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class TooLarge(InvalidInput):
    """Raised when an upload exceeds the limit; the web answers 413 with the message."""

    code = "too_large"

    def __init__(self, max_bytes: int) -> None:
        limit = f"{max_bytes / MB:g} MB" if max_bytes >= MB else f"{max_bytes} bytes"
        super().__init__(
            f"The file is larger than {limit}, the most an attachment may be. "
            "Compress it, split it, or share a link to it instead.",
            ["file"],
        )
        self.max_bytes = max_bytes


class NoSuchBlob(NotFound):
    """Raised when no blob has the given SHA-256."""


NO_ATTACHMENT = lazy("No such attachment.")
NO_HELD_FILE = lazy("No such held file.")


def is_sha256(value: str) -> bool:
    return _SHA256.fullmatch(value) is not None


def is_held_id(value: str) -> bool:
    return _HELD_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class Blob:
    """A stored blob: its name, size and sniffed media type."""

    sha256: str
    size: int
    media_type: str


class Staged(ABC):
    """An upload waiting in the store's temporary place for the command that references it."""

    sha256: str
    size: int
    media_type: str

    @abstractmethod
    def keep(self) -> None:
        """Makes it the blob of its SHA-256 (once a recorded event references it); keeping
        content already stored, even by a concurrent upload, stores nothing twice."""

    @abstractmethod
    def discard(self) -> None:
        """Deletes the staged copy (nothing references it); harmless once kept."""

    @abstractmethod
    def hold(self, until: float) -> str:
        """Sets it aside, apart from the blobs, until `until` (a wall-clock time): its new random
        id (`BlobStore.held` reads it back). Discarding it afterwards does nothing."""


def read_limited(stream: Readable, max_bytes: int) -> Iterator[bytes]:
    """`stream` in chunks of at most CHUNK bytes; TooLarge once it yields more than
    `max_bytes` (having read one byte past the limit, no more)."""
    size = 0
    while chunk := stream.read(min(CHUNK, max_bytes + 1 - size)):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(max_bytes)
        yield chunk


class Summary:
    """What staging learns of a stream as it passes: its SHA-256, size and first bytes."""

    def __init__(self) -> None:
        self.digest, self.size, self.head = hashlib.sha256(), 0, b""

    def add(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.size += len(chunk)
        if len(self.head) < SNIFF_BYTES:
            self.head = (self.head + chunk)[:SNIFF_BYTES]

    @property
    def media_type(self) -> str:
        return sniff_media_type(self.head)


class BlobStore(ABC):
    """Blobs named by the SHA-256 (lower-case hex) of their content."""

    @abstractmethod
    def stage(self, stream: Readable, max_bytes: int = DEFAULT_MAX_BYTES) -> Staged:
        """Streams `stream` into the temporary place (never all of it in memory), refusing
        more than `max_bytes`; the caller keeps or discards it."""

    def put(self, stream: Readable, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, int]:
        """Stores what `stream` yields, refusing more than `max_bytes`; (sha256, size)."""
        staged = self.stage(stream, max_bytes)
        try:
            staged.keep()
        finally:
            staged.discard()
        return staged.sha256, staged.size

    @abstractmethod
    def info(self, sha256: str) -> Blob:
        """The blob's size and media type; NoSuchBlob when absent (or not a SHA-256)."""

    @abstractmethod
    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The blob's content in chunks of at most CHUNK bytes, read as they are consumed;
        NoSuchBlob (raised by this call, before any chunk) when absent."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def digests(self) -> Iterator[str]:
        """Every stored blob's SHA-256, in order (for the backup)."""

    @abstractmethod
    def pending(self) -> int:
        """How many staged uploads are neither kept nor discarded yet."""

    @abstractmethod
    def clear_leftovers(self, older_than: float = 0.0) -> int:
        """Deletes staged uploads a crash left behind, staged over `older_than` seconds ago
        (other processes may be staging now); how many."""

    @abstractmethod
    def held(self, hold_id: str) -> BinaryIO:
        """A held file's content to read (close it); NoSuchBlob when absent or expired."""

    @abstractmethod
    def drop_held(self, hold_ids: list[str]) -> None:
        """Deletes held files (their request is filed); absent ones are skipped."""

    @abstractmethod
    def purge_held(self, now: float | None = None) -> int:
        """Deletes the held files expired by `now` (default: the wall clock); how many."""

    @abstractmethod
    def holding(self) -> int:
        """How many held files there are (expired ones not purged yet too)."""

    def open(self, sha256: str) -> BinaryIO:
        """The blob's content as a file to read (close it); NoSuchBlob when absent."""
        return cast(BinaryIO, io.BufferedReader(_ChunkReader(self.chunks(sha256)), CHUNK))

    def media_type(self, sha256: str) -> str:
        """The blob's media type, sniffed from its first bytes."""
        return self.info(sha256).media_type

    def local_path(self, sha256: str) -> Path | None:
        """The blob's file when it is one on this host's disk (served as a file), else None."""
        return None


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._left = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = chunk
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()


class FileBlobStore(BlobStore):
    """Blobs as files under `root` (`<SUZ_DATA_DIR>/attachments`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_settings(cls, settings: Settings) -> FileBlobStore:
        return cls(settings.data_dir / "attachments")

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise NoSuchBlob(NO_ATTACHMENT)
        return self.root / sha256[:2] / sha256[2:]

    def stage(self, stream: Readable, max_bytes: int = DEFAULT_MAX_BYTES) -> FileStaged:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        tmp = Path(tmp_name)
        seen = Summary()
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in read_limited(stream, max_bytes):
                    seen.add(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return FileStaged(self, tmp, seen.digest.hexdigest(), seen.size, seen.media_type)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise NoSuchBlob(NO_ATTACHMENT) from None

    def info(self, sha256: str) -> Blob:
        with self.open(sha256) as f:
            head = f.read(SNIFF_BYTES)
            size = os.fstat(f.fileno()).st_size
        return Blob(sha256, size, sniff_media_type(head))

    def chunks(self, sha256: str) -> Iterator[bytes]:
        if not self.exists(sha256):
            raise NoSuchBlob(NO_ATTACHMENT)

        def read() -> Iterator[bytes]:  # opened on the first read: blobs are never deleted
            with self.open(sha256) as f:
                while chunk := f.read(CHUNK):
                    yield chunk

        return read()

    def exists(self, sha256: str) -> bool:
        return is_sha256(sha256) and self.path(sha256).is_file()

    def digests(self) -> Iterator[str]:
        found = (p.parent.name + p.name for p in self.root.glob("??/*") if p.is_file())
        return iter(sorted(d for d in found if is_sha256(d)))

    def local_path(self, sha256: str) -> Path | None:
        return self.path(sha256)

    def pending(self) -> int:
        return sum(1 for _ in (self.root / "tmp").glob("upload-*"))

    def clear_leftovers(self, older_than: float = 0.0) -> int:
        count, cutoff = 0, time.time() - older_than
        for leftover in (self.root / "tmp").glob("upload-*"):
            with contextlib.suppress(FileNotFoundError):  # kept or discarded meanwhile
                if older_than <= 0 or leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    count += 1
        return count

    # A held file is `held/<id>`, its modification time set to its expiry.
    def _held_path(self, hold_id: str) -> Path:
        if not is_held_id(hold_id):
            raise NoSuchBlob(NO_HELD_FILE)
        return self.root / "held" / hold_id

    def held(self, hold_id: str) -> BinaryIO:
        try:
            f = self._held_path(hold_id).open("rb")
        except FileNotFoundError:
            raise NoSuchBlob(NO_HELD_FILE) from None
        if os.fstat(f.fileno()).st_mtime <= time.time():
            f.close()
            raise NoSuchBlob("The held file has expired.")
        return f

    def drop_held(self, hold_ids: list[str]) -> None:
        for hold_id in hold_ids:
            with contextlib.suppress(NoSuchBlob):
                self._held_path(hold_id).unlink(missing_ok=True)

    def holding(self) -> int:
        return sum(1 for _ in (self.root / "held").glob("*"))

    def purge_held(self, now: float | None = None) -> int:
        count, now = 0, time.time() if now is None else now
        for held in (self.root / "held").glob("*"):
            with contextlib.suppress(FileNotFoundError):  # dropped meanwhile
                if held.stat().st_mtime <= now:
                    held.unlink()
                    count += 1
        return count


@dataclass(frozen=True)
class FileStaged(Staged):
    """An upload in the store's `tmp` folder."""

    store: FileBlobStore
    tmp: Path
    sha256: str
    size: int
    media_type: str

    def keep(self) -> None:
        """Moves the file into place as its blob (renaming identical content over a blob is
        atomic and harmless)."""
        final = self.store.path(self.sha256)
        final.parent.mkdir(exist_ok=True)
        os.replace(self.tmp, final)
        _fsync_dir(final.parent)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)

    def hold(self, until: float) -> str:
        hold_id = secrets.token_hex(16)
        final = self.store._held_path(hold_id)
        final.parent.mkdir(exist_ok=True)
        os.utime(self.tmp, (until, until))
        os.replace(self.tmp, final)
        _fsync_dir(final.parent)
        return hold_id


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
