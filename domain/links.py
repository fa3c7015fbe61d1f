"""Secrets the desk derives for what it hands out, so that it can hand them out again.

An anonymous request's private link used to carry a random key shown once; a letter about the
request (issue 16) must carry it again, and the desk keeps only its hash. So the key is derived:
HMAC-SHA256 of the request's id under a secret derived from the chain key (domain/keys.py), as
unguessable as a random one to whoever does not hold that key, and the same every time. The reply
token of a request's letters (mail/threads.py) is keyed the same way, under its own purpose, so
one secret never serves two uses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from uuid import UUID


def derive(master: bytes | None, purpose: str) -> bytes:
    """A 32-byte secret for `purpose` from the chain key; a random one per process without a key
    (bare test desks: their links then last as long as the process)."""
    if not master:
        return secrets.token_bytes(32)
    return hmac.new(master, b"suz:" + purpose.encode(), hashlib.sha256).digest()


def visitor_key(secret: bytes, ticket_id: UUID) -> str:
    """The private link's key of an anonymous request: 32 URL-safe characters (192 bits)."""
    mac = hmac.new(secret, b"visitor:" + ticket_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()
