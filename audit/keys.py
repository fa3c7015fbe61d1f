"""The Ed25519 key that signs exports and seals: the PEM private key at `SUZ_SIGNING_KEY`, or, in
demo mode, one generated into the data folder on first use. Read once per process and path."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.settings import Settings

_keys: dict[str, Ed25519PrivateKey] = {}
_key_lock = threading.Lock()


def key_path(settings: Settings) -> Path:
    return settings.signing_key_file


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The operator's key (SUZ_SIGNING_KEY), or one generated into the data folder once."""
    path = key_path(settings)
    with _key_lock:
        found = _keys.get(str(path))
        if found is not None:
            return found
        if not path.exists():
            if settings.signing_key is not None or not settings.demo:  # generated in demo only
                raise RuntimeError(f"the signing key {path} does not exist (SUZ_SIGNING_KEY)")
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError(f"{path} is not an Ed25519 private key")
        _keys[str(path)] = key
        return key


def pem(key: Ed25519PrivateKey) -> bytes:
    """The public half of `key`, as PEM."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_pem(settings: Settings) -> bytes:
    return pem(signing_key(settings))
