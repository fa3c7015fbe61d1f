"""Reading an inbound letter (RFC 5322 bytes) into plain values: who, what, which thread, files.

Pure: no domain, no storage. Hostile input gives a `BadLetter` or a best-effort `Letter`, never
another exception. The MIME structure is the email package's, read with the compat32 policy:
headers are decoded here from their raw form anyway (email.policy.default turns raw 8-bit
windows-1251 into replacement characters), and policy.default builds a header class at every
header lookup, six times slower (a letter of 10,000 tiny parts: 7.7 s against 1.3 s)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

from mail import html_text, quotes
from mail.decoding import decode_bytes, header_text, printable, safe_name, unfold
from mail.noise import Headers, asks_no_auto_reply, noise

MAX_TEXT = 20_000  # the desk's MAX_BODY (domain.ticket): a longer text could not be filed
MAX_QUOTED = 200_000  # characters of quoted history kept for "show quoted"; the rest is cut
MAX_READ = MAX_TEXT + MAX_QUOTED  # characters of plain text read; nothing past them is kept
CUT_NOTE = "\n\n[…]"
MAX_LINES = 2_000_000  # the email package reads line by line: ~2.5 s a million lines
MAX_DELIMITERS = 10_000  # lines starting "--" (MIME part delimiters): ~70 µs a part
MAX_HEADER = 100_000  # characters of a header value read (the stdlib's address parser is slow)
MAX_IDS = 100  # ids kept of one header
MAX_ID = 998  # characters of one id (a line's limit); longer ones are ignored
MAX_DEPTH = 30  # nested multiparts followed; deeper parts are dropped
_LETTER_HEADERS = {"from", "to", "cc", "subject", "date", "message-id", "sender", "received"}
_DEFAULT_NAMES = {"message/rfc822": "message.eml", "message/delivery-status": "status.txt"}


@dataclass(frozen=True)
class Part:
    """An attachment or an inline image of a letter."""

    name: str  # safe file name (no path parts, no control chars; "attachment" when none)
    media_type: str  # as declared, lowercased; the upload store sniffs it again later
    data: bytes
    inline: bool  # Content-Disposition inline (or none) with a Content-ID: an image in the HTML
    content_id: str  # without <>, "" when none


@dataclass(frozen=True)
class Letter:
    """What an inbound letter says, decoded; see the module docstring of mail.noise for `noise`."""

    message_id: str  # without <>; "suz-<sha256(raw)[:32]>@missing" when the letter has none
    in_reply_to: tuple[str, ...]  # ids without <>
    references: tuple[str, ...]
    sender: str  # the From address, lowercased, "" if none
    sender_name: str  # display name from From (decoded), may be ""
    recipients: tuple[str, ...]  # lowercased: To, Cc, Delivered-To, X-Original-To
    subject: str  # decoded, stripped, "" if none
    text: str  # the new text, plain, at most MAX_TEXT characters
    quoted: str  # the trimmed quoted history and signature; "" if none
    attachments: tuple[Part, ...]
    noise: str | None  # "auto-submitted", "auto-reply", "bounce", "mailing-list", "own" or None
    date: datetime | None  # aware, from the Date header
    no_auto_reply: bool = False  # the sender asks for no automatic answer (nor acknowledgement)
    reply_to: tuple[str, ...] = ()  # lowercased Reply-To addresses; who wrote is still `sender`


class BadLetter(ValueError):
    """Raised when the bytes are not a letter that can be read; the message says why."""


def parse(raw: bytes, *, own_domain: str = "", max_bytes: int = 30 * 1024 * 1024) -> Letter:
    """The letter in `raw`; BadLetter when it is too large, empty or not a letter at all."""
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise BadLetter(f"The letter is {len(raw)} bytes, larger than the {max_bytes} allowed.")
    if (lines := raw.count(b"\n")) > MAX_LINES:
        raise BadLetter(f"The letter has {lines} lines, more than the {MAX_LINES} allowed.")
    if (parts := raw.count(b"\n--")) > MAX_DELIMITERS:
        raise BadLetter(f"The letter has {parts} parts, more than the {MAX_DELIMITERS} allowed.")
    try:
        return _read(raw, own_domain.strip().lower())
    except BadLetter:
        raise
    except Exception as e:  # the email package raises many kinds on hostile input; none escape
        raise BadLetter(f"The letter cannot be read ({type(e).__name__}: {e}).") from e


def _headers(msg: Message) -> dict[str, list[str]]:
    """Every header, by lowercased name, its raw values (each cut to MAX_HEADER) in order."""
    found: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        found.setdefault(str(name).strip().lower(), []).append(str(value)[:MAX_HEADER])
    return found


def _ids(values: list[str]) -> tuple[str, ...]:
    """Message ids (without <>) in header values; bare ids with an @ when none is bracketed.

    Of a very long References, the first (the thread's root) and the latest are kept."""
    seen: dict[str, None] = {}  # in order, once each
    for value in values:
        text = unfold(value)
        ids = re.findall(r"<([^<>\s]+)>", text) or re.findall(r"[^\s<>,;]+@[^\s<>,;]+", text)
        seen.update((i, None) for i in ids if len(i) <= MAX_ID)
    found = list(seen)
    return tuple(found if len(found) <= MAX_IDS else found[:1] + found[-(MAX_IDS - 1) :])


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """(decoded display name, lowercased address) of each address in header values."""
    pairs = email.utils.getaddresses([unfold(v) for v in values])
    return [
        (header_text(name), address.strip().lower())
        for name, address in pairs
        if "@" in address and not re.search(r"\s", address.strip())
    ]


def _date(values: list[str]) -> datetime | None:
    """The Date header as an aware datetime (UTC when the zone is unknown), None if unreadable."""
    if not values:
        return None
    try:
        when = email.utils.parsedate_to_datetime(header_text(values[0]))
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    """The leaf parts in order; an attached letter (message/*) is a leaf, not opened."""
    if part.get_content_maintype() == "multipart":
        if depth < MAX_DEPTH:
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    yield from _leaves(sub, depth + 1)
    else:
        yield part


def _data(part: Message) -> bytes:
    """The decoded bytes of a leaf part (an attached letter as its RFC 5322 bytes)."""
    if part.get_content_maintype() == "message":
        payload = part.get_payload()
    else:
        payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    items = payload if isinstance(payload, list) else [payload]
    return b"".join(_bytes_of(item) for item in items)


def _bytes_of(item: Message | str | None) -> bytes:
    """An attached letter (or a stray string) as bytes."""
    if isinstance(item, Message):
        return item.as_bytes(policy=email.policy.SMTP)
    return str(item or "").encode("utf-8", errors="surrogateescape")


def _text_of(part: Message) -> str:
    """A text part decoded by its charset (or a <meta charset> in HTML, or a guess)."""
    data = _data(part)
    charset = part.get_content_charset()
    if not charset and part.get_content_subtype() == "html":
        meta = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", data[:4096], re.IGNORECASE)
        charset = meta[1].decode("ascii") if meta else None
    return decode_bytes(data, charset)


def _is_body(part: Message) -> bool:
    """Whether a leaf is the letter's own text rather than an attached file."""
    return (
        part.get_content_type() in ("text/plain", "text/html")
        and part.get_content_disposition() != "attachment"
        and not part.get_filename()
    )


def _raw_filename(part: Message) -> str | None:
    """The file name as written in the raw Content-Disposition or Content-Type, decoded here."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = " ".join(str(v) for k, v in part.raw_items() if k.lower() == header)
        if found := re.search(rf'\b{param}\s*=\s*("[^"]*"|[^;\s]+)', raw, re.IGNORECASE):
            return header_text(found[1].strip('"'))
    return None


def _attachment(part: Message) -> Part | None:
    """A leaf that is a file (or inline image) as a Part; None for an empty unnamed part."""
    media_type = part.get_content_type().lower()
    data = _data(part)
    filename = part.get_filename()
    if filename and "\ufffd" in filename:  # raw 8-bit: the email package gave up on it
        filename = _raw_filename(part) or filename
    if not data and not filename:
        return None
    content_id = header_text(str(part.get("content-id", "") or "")).strip().strip("<>").strip()
    disposition = part.get_content_disposition()
    inline = bool(content_id) and disposition != "attachment"
    name = safe_name(filename or _DEFAULT_NAMES.get(media_type))
    return Part(name, media_type, data, inline, content_id)


def _bodies(msg: Message) -> tuple[str, str, tuple[Part, ...]]:
    """(plain text, HTML, attachments) of a letter."""
    plain: list[str] = []
    html: list[str] = []
    files: list[Part] = []
    for leaf in _leaves(msg):
        if _is_body(leaf):
            (plain if leaf.get_content_subtype() == "plain" else html).append(_text_of(leaf))
        elif (found := _attachment(leaf)) is not None:
            files.append(found)
    return "\n".join(plain), "\n".join(html), tuple(files)


def _capped(text: str, quoted: str) -> tuple[str, str]:
    """The text cut to MAX_TEXT at a line end (the rest goes to quoted), quoted to MAX_QUOTED."""
    if len(text) > MAX_TEXT:
        limit = MAX_TEXT - len(CUT_NOTE)
        cut = text.rfind("\n", limit // 2, limit)
        cut = cut if cut > 0 else limit
        text, quoted = text[:cut].rstrip() + CUT_NOTE, text[cut:].strip() + "\n\n" + quoted
    if len(quoted) > MAX_QUOTED:
        quoted = quoted[: MAX_QUOTED - len(CUT_NOTE)] + CUT_NOTE
    return text, quoted.strip()


def _read(raw: bytes, own_domain: str) -> Letter:
    """The letter in `raw`, whose size is already checked."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers = _headers(msg)
    if not headers.keys() & _LETTER_HEADERS:
        raise BadLetter("This is not a letter: it has no From, To, Subject, Date or Message-ID.")
    decoded: Headers = {name: [header_text(v) for v in values] for name, values in headers.items()}
    ids = _ids(headers.get("message-id", []))
    message_id = ids[0] if ids else f"suz-{hashlib.sha256(raw).hexdigest()[:32]}@missing"
    senders = _addresses(headers.get("from", []))
    sender_name, sender = senders[0] if senders else ("", "")
    recipients: dict[str, None] = {}  # in order, once each
    for name in ("to", "cc", "delivered-to", "x-original-to"):
        recipients.update((a, None) for _, a in _addresses(headers.get(name, [])))
    plain, html, attachments = _bodies(msg)
    if len(plain) > MAX_READ:
        plain = plain[:MAX_READ] + CUT_NOTE
    if plain.strip():
        text, quoted = quotes.split(printable(plain))
    else:
        text, quoted = html_text.split(printable(html)) if html.strip() else ("", "")
    text, quoted = _capped(text, quoted)
    why = noise(decoded, msg.get_content_type(), sender, message_id, own_domain)
    return Letter(
        message_id=message_id,
        in_reply_to=_ids(headers.get("in-reply-to", [])),
        references=_ids(headers.get("references", [])),
        sender=sender,
        sender_name=printable(sender_name),
        recipients=tuple(recipients),
        subject=(decoded.get("subject") or [""])[0],
        text=text,
        quoted=quoted,
        attachments=attachments,
        noise=why,
        date=_date(headers.get("date", [])),
        no_auto_reply=why is not None or asks_no_auto_reply(decoded),
        reply_to=tuple(dict.fromkeys(a for _, a in _addresses(headers.get("reply-to", [])))),
    )
