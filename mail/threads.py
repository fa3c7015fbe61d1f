"""How a reply finds its request: a signed +token in the address, our own Message-IDs, a marked
number in the subject; never the sender alone (anyone can write From: anybody).

A token is the ticket id in base32 and an HMAC-SHA256 tag of it, lowercase because mail servers
lowercase local parts. Only a tag made with the desk's key opens a ticket, so a guessed or edited
address files nothing into someone else's request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from email.utils import getaddresses, parseaddr
from uuid import UUID

TAG_BYTES = 10  # 80 bits of HMAC-SHA256: forging one by trying addresses is out of reach
_ID_CHARS = 26  # 128 bits in base32, unpadded
TOKEN_LENGTH = _ID_CHARS + 16  # 80 bits in base32
MIN_KEY_BYTES = 16
_TOKEN = re.compile(rf"[a-z2-7]{{{TOKEN_LENGTH}}}")
_OUR_ID = re.compile(r"(?<![^<\s,;])suz\.([0-9a-f]{32})\.\d{1,12}@([^<>\s,;]+)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w#№])(?:\[\s*#\s*(\d{1,12})\s*\]|#(\d{1,12})|№\s?(\d{1,12}))(?!\w)")


def _b32(data: bytes) -> str:
    """Lowercase base32 without padding."""
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _tag(key: bytes, ticket_id: UUID) -> str:
    """The truncated HMAC of a ticket id, in base32."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"The reply key must have at least {MIN_KEY_BYTES} bytes.")
    digest = hmac.new(key, b"suz-reply:" + ticket_id.bytes, hashlib.sha256).digest()
    return _b32(digest[:TAG_BYTES])


def reply_token(key: bytes, ticket_id: UUID) -> str:
    """The address-safe lowercase token naming `ticket_id`, signed with `key`."""
    return _b32(ticket_id.bytes) + _tag(key, ticket_id)


def token_ticket(key: bytes, token: str) -> UUID | None:
    """The ticket a token names, or None when it is malformed or not signed with `key`."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token.lower()):
        return None
    token = token.lower()
    data = base64.b32decode(token[:_ID_CHARS].upper() + "======")
    ticket_id = UUID(bytes=data)
    return ticket_id if hmac.compare_digest(reply_token(key, ticket_id), token) else None


def reply_address(mail_from: str, token: str) -> str:
    """The desk's address with the token: "Support <support@desk.ru>" -> support+<token>@desk.ru."""
    address = parseaddr(mail_from)[1]
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or not _TOKEN.fullmatch(token):
        raise ValueError(f"Cannot make a reply address from {mail_from!r} and {token!r}.")
    return f"{local.split('+', 1)[0]}+{token}@{domain}"


def tokens_in(addresses: Iterable[str]) -> list[str]:
    """The +tokens (lowercased) in the local parts of addresses or address headers, in order."""
    found: list[str] = []
    for _, address in getaddresses(list(addresses)):
        local = address.rpartition("@")[0]
        token = local.partition("+")[2].strip().lower()
        if token and token not in found:
            found.append(token)
    return found


def message_id(ticket_id: UUID, position: int, domain: str) -> str:
    """The Message-ID of the letter we send for a ticket's event at `position`."""
    if position < 0 or not re.fullmatch(r"[A-Za-z0-9.-]+", domain or ""):
        raise ValueError(f"Cannot make a Message-ID from position {position} and {domain!r}.")
    return f"<suz.{ticket_id.hex}.{position}@{domain.lower()}>"


def tickets_in(message_ids: Iterable[str], domain: str) -> list[UUID]:
    """The tickets our own ids (on `domain` only) name among In-Reply-To / References values."""
    found: list[UUID] = []
    for value in message_ids:
        for hexid, on in _OUR_ID.findall(value or ""):
            ticket = UUID(hex=hexid)
            if on.lower() == domain.lower() and ticket not in found:
                found.append(ticket)
    return found


def number_in_subject(subject: str) -> int | None:
    """The ticket number marked in a subject ("[#1042]", "#1042", "№ 1042"), bracketed first."""
    matches = _NUMBER.findall(subject or "")
    ordered = [m[0] for m in matches if m[0]] + [m[1] or m[2] for m in matches if not m[0]]
    numbers = [int(n) for n in ordered if int(n) > 0]
    return numbers[0] if numbers else None
