"""Attachment storage: a content-addressed blob store with a size limit, on the filesystem.

A blob is named by the SHA-256 of its bytes and kept at `<SUZ_DATA_DIR>/attachments/ab/cdef...`
(first two hex digits, then the other 62). `stage` streams into a temporary file beside the blobs,
hashing, counting and sniffing as it goes; the web keeps a staged file (renames it into place)
only once the command that references it is recorded, and discards it otherwise: a failed,
oversized, refused or stale upload leaves nothing behind, and identical files are stored once.
Blobs are never deleted, so two requests sharing a content hash cannot take each other's file
(each stages its own copy; renaming identical content over a blob is atomic and harmless). A
crash between the recording and the rename loses that one file (its entry then offers a file
that answers 404); `put` stages and keeps at once. What a blob is (its media type) and what it
is called are decided in `web.media`, never by the client.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from domain.errors import InvalidInput, NotFound
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
    "DEFAULT_MAX_BYTES",
    "BlobStore",
    "FileBlobStore",
    "NoSuchBlob",
    "Staged",
    "TooLarge",
    "clean_filename",
    "content_disposition",
    "content_type",
    "is_sha256",
    "may_show_inline",
    "sniff_media_type",
]

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 25 * MB
CHUNK = 256 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


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


def is_sha256(value: str) -> bool:
    return _SHA256.fullmatch(value) is not None


class BlobStore(ABC):
    """Blobs named by the SHA-256 (lower-case hex) of their content."""

    @abstractmethod
    def put(self, stream: Readable, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, int]:
        """Stores what `stream` yields, refusing more than `max_bytes`; (sha256, size)."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """The blob's content for reading (close it); NoSuchBlob when absent."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    def media_type(self, sha256: str) -> str:
        """The blob's media type, sniffed from its first bytes."""
        with self.open(sha256) as f:
            return sniff_media_type(f.read(SNIFF_BYTES))


class FileBlobStore(BlobStore):
    """Blobs as files under `root` (`<SUZ_DATA_DIR>/attachments`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_settings(cls, settings: Settings) -> FileBlobStore:
        return cls(settings.data_dir / "attachments")

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise NoSuchBlob("No such attachment.")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, stream: Readable, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, int]:
        staged = self.stage(stream, max_bytes)
        staged.keep()
        return staged.sha256, staged.size

    def stage(self, stream: Readable, max_bytes: int = DEFAULT_MAX_BYTES) -> Staged:
        """Streams `stream` into a temporary file (never all of it in memory), refusing more than
        `max_bytes`; the caller keeps or discards it."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        tmp = Path(tmp_name)
        try:
            digest, size, head = hashlib.sha256(), 0, b""
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(min(CHUNK, max_bytes + 1 - size)):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(max_bytes)
                    digest.update(chunk)
                    if len(head) < SNIFF_BYTES:
                        head = (head + chunk)[:SNIFF_BYTES]
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Staged(self, tmp, digest.hexdigest(), size, sniff_media_type(head))

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise NoSuchBlob("No such attachment.") from None

    def exists(self, sha256: str) -> bool:
        return is_sha256(sha256) and self.path(sha256).is_file()

    def clear_leftovers(self) -> int:
        """Deletes temporary files a crash left behind (call at start-up); how many."""
        count = 0
        for leftover in (self.root / "tmp").glob("upload-*"):
            leftover.unlink(missing_ok=True)
            count += 1
        return count


@dataclass(frozen=True)
class Staged:
    """An upload waiting in the store's temporary folder for the command that references it."""

    store: FileBlobStore
    tmp: Path
    sha256: str
    size: int
    media_type: str

    def keep(self) -> None:
        """Moves the file into place as its blob (once a recorded event references it)."""
        final = self.store.path(self.sha256)
        final.parent.mkdir(exist_ok=True)
        os.replace(self.tmp, final)
        _fsync_dir(final.parent)

    def discard(self) -> None:
        """Deletes the temporary file (nothing references it); harmless once kept."""
        self.tmp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
