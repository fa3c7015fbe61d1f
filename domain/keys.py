"""The two secrets of the desk, kept apart from the database it protects.

- The chain key (SUZ_CHAIN_KEY, a file holding 32 random bytes in hex): every event is saved
  with an HMAC of its chain link under it (domain/chain.py), so whoever can write the database
  but does not hold the key cannot forge or rewrite an event that `suz verify` accepts.
- The signing key (SUZ_SIGNING_KEY, an Ed25519 PEM): signs seals and exports.

In demo mode (SUZ_MODE=demo: ./scripts/run and the tests) a missing key is generated into the
data folder, next to the database: convenient, and no protection against whoever holds that
folder. In production (the default) both must be given, as files outside the data folder, or
suz refuses to start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from domain.settings import Settings


class KeyProblem(RuntimeError):
    """A key is missing or misplaced; the message says what to set."""


def require_keys(settings: Settings) -> None:
    """Refuses a production start without both keys, or with one inside the data folder."""
    if settings.demo:
        return
    if settings.mode != "production":
        raise KeyProblem(f"SUZ_MODE must be demo or production, not {settings.mode!r}")
    data = settings.data_dir.resolve()
    for name, given in (("SUZ_CHAIN_KEY", settings.chain_key),
                        ("SUZ_SIGNING_KEY", settings.signing_key)):  # fmt: skip
        if given is None:
            raise KeyProblem(
                f"{name} is not set: in production give the key's file, outside the data "
                "folder (or set SUZ_MODE=demo to generate keys into the data folder)"
            )
        if not given.is_file():
            raise KeyProblem(f"{name} names {given}, which is not a file")
        if given.resolve().is_relative_to(data):
            raise KeyProblem(
                f"{name} ({given}) is inside the data folder {settings.data_dir}: whoever "
                "copies or rewrites the data would hold the key too; keep it elsewhere"
            )


def read_chain_key(path: Path, *, generate: bool) -> bytes:
    """The chain key in `path`; with `generate` (demo mode), one is made there when missing."""
    if not path.exists():
        if not generate:
            raise KeyProblem(f"the chain key {path} does not exist (SUZ_CHAIN_KEY)")
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:  # a link appears whole or not at all: a process starting meanwhile reads one key
            os.link(draft, path)
        except FileExistsError:  # another process made it first: use theirs
            pass
        finally:
            draft.unlink()
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyProblem(f"the chain key {path} is not hex") from None
    if len(key) < 32:
        raise KeyProblem(f"the chain key {path} is shorter than 32 bytes")
    return key
