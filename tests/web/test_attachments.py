"""Tests of web.attachments on real files: layout, size limit, nothing left behind."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from domain.errors import InvalidInput, NotFound
from domain.settings import Settings
from tests.web.support import HTML, png
from web.attachments import (
    DEFAULT_MAX_BYTES,
    FileBlobStore,
    NoSuchBlob,
    TooLarge,
    may_show_inline,
)


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
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore.from_settings(Settings(data_dir=tmp_path / "data", database_url=None))


def test_a_blob_is_kept_under_its_sha256(store: FileBlobStore, tmp_path: Path) -> None:
    content = "Скриншот ошибки".encode()
    sha = hashlib.sha256(content).hexdigest()
    assert store.put(io.BytesIO(content)) == (sha, len(content))
    assert files_under(tmp_path) == [tmp_path / "data" / "attachments" / sha[:2] / sha[2:]]
    assert store.exists(sha) is True
    with store.open(sha) as f:
        assert f.read() == content


def test_the_same_content_is_stored_once(store: FileBlobStore) -> None:
    first = store.put(io.BytesIO(b"same bytes"))
    second = store.put(io.BytesIO(b"same bytes"))
    assert first == second
    assert len(files_under(store.root)) == 1


def test_an_empty_file_is_a_blob_too(store: FileBlobStore) -> None:
    assert store.put(io.BytesIO(b"")) == (hashlib.sha256(b"").hexdigest(), 0)


def test_exactly_the_limit_is_accepted(store: FileBlobStore) -> None:
    assert DEFAULT_MAX_BYTES == 25 * 1024 * 1024
    sha, size = store.put(Zeros(DEFAULT_MAX_BYTES))
    assert (sha, size) == (hashlib.sha256(bytes(DEFAULT_MAX_BYTES)).hexdigest(), DEFAULT_MAX_BYTES)
    assert store.path(sha).stat().st_size == DEFAULT_MAX_BYTES


def test_one_byte_over_the_limit_is_refused_and_leaves_nothing(store: FileBlobStore) -> None:
    stream = Zeros(DEFAULT_MAX_BYTES + 1)
    with pytest.raises(TooLarge) as refused:
        store.put(stream)
    assert refused.value.message == (
        "The file is larger than 25 MB, the most an attachment may be. "
        "Compress it, split it, or share a link to it instead."
    )
    assert isinstance(refused.value, InvalidInput) and refused.value.code == "too_large"
    assert files_under(store.root) == []
    assert stream.left == 0  # it read one byte past the limit, no more


def test_a_smaller_limit_is_honoured(store: FileBlobStore) -> None:
    with pytest.raises(TooLarge, match="larger than 10 bytes"):
        store.put(io.BytesIO(b"01234567890"), max_bytes=10)
    assert store.put(io.BytesIO(b"0123456789"), max_bytes=10)[1] == 10
    assert len(files_under(store.root)) == 1


def test_a_broken_upload_leaves_nothing(store: FileBlobStore) -> None:
    with pytest.raises(ConnectionResetError):
        store.put(Breaks())
    assert files_under(store.root) == []


@pytest.mark.parametrize("name", ["0" * 64, "../../etc/passwd", "A" * 64, "abc", ""])
def test_unknown_or_malformed_names_are_not_found(store: FileBlobStore, name: str) -> None:
    store.put(io.BytesIO(b"something"))
    assert store.exists(name) is False
    with pytest.raises(NoSuchBlob) as missing:
        store.open(name)
    assert isinstance(missing.value, NotFound)


def test_an_html_file_sent_as_an_image_is_sniffed_as_text(store: FileBlobStore) -> None:
    sha, _ = store.put(io.BytesIO(HTML))  # whatever Content-Type the client claimed
    assert store.media_type(sha) == "text/plain"
    assert may_show_inline(store.media_type(sha)) is False


def test_a_real_png_may_be_shown_inline(store: FileBlobStore) -> None:
    sha, _ = store.put(io.BytesIO(png()))
    assert store.media_type(sha) == "image/png"
    assert may_show_inline(store.media_type(sha)) is True


def test_leftovers_of_a_crash_are_cleared(store: FileBlobStore) -> None:
    sha, _ = store.put(io.BytesIO(b"kept"))
    (store.root / "tmp" / "upload-abc123").write_bytes(b"half an upload")
    assert store.clear_leftovers() == 1
    assert files_under(store.root) == [store.path(sha)]
