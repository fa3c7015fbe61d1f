"""One-click unsubscribe (RFC 8058) for the staff's letters: a signed token naming a person and
a kind of notification.

Every letter to a staff member carries `List-Unsubscribe: <{public_url}/unsubscribe/{token}>`
and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; the mail client POSTs to that address
and the person gets that kind in the app only from then on (web/ui/unsubscribe_pages.py). The
token is the account id and the kind's number, with an HMAC-SHA256 tag under the desk's mail
key, so an edited or guessed address changes nobody's preferences. It does not expire: the
header must keep working for as long as the letter is kept, and what it does is harmless (the
notification still reaches the person in the app; the preferences page turns it back on).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from uuid import UUID

from domain.notifications import STAFF_KINDS, Kind

TAG_BYTES = 12  # 96 bits of HMAC-SHA256


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, b"suz-unsubscribe:" + body, hashlib.sha256).digest()[:TAG_BYTES]


def unsubscribe_token(key: bytes, account_id: UUID, kind: Kind) -> str:
    """The URL-safe token that turns `kind`'s e-mail off for `account_id`."""
    body = account_id.bytes + bytes([STAFF_KINDS.index(kind)])
    return _b64(body + _tag(key, body))


def read_token(key: bytes, token: str) -> tuple[UUID, Kind] | None:
    """The person and the kind a token names, or None when it is malformed or forged."""
    if not isinstance(token, str) or len(token) > 64:
        return None
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(data) != 17 + TAG_BYTES or data[16] >= len(STAFF_KINDS):
        return None
    body, tag = data[:17], data[17:]
    if not hmac.compare_digest(_tag(key, body), tag):
        return None
    return UUID(bytes=body[:16]), STAFF_KINDS[body[16]]
