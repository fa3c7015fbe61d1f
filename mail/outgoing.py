"""Writing one outgoing letter: an `Outgoing` (what the notifications process decided to say)
becomes an RFC 5322 message ready for mail/smtp.py.

- Text only, or multipart/alternative (text, then HTML: clients show the last part they can).
  UTF-8, sent 7-bit clean (base64 or quoted-printable bodies, RFC 2047 encoded-words for a
  Cyrillic subject or display name): no server needs 8BITMIME or SMTPUTF8. A Cyrillic domain
  (пример.рф) is written in its IDNA form (xn--e1afmkfd.xn--p1ai); a non-ASCII local part is
  refused (it would need SMTPUTF8 all the way).
- Loops: `Auto-Submitted: auto-generated` (RFC 3834: responders must not answer it) and
  `X-Auto-Response-Suppress: All` (Exchange's and Outlook's own signal for their out-of-office
  and other automatic answers). No `Precedence`: it is in no standard (RFC 3834 has
  Auto-Submitted for what responders should look at), and its values say "bulk mail" or
  "mailing list" to spam filters, while an answer to a requester's own request is neither.
- Header injection: every field is checked before it is written. Free text (the subject) has
  line breaks and control characters turned into spaces; structured fields (addresses,
  Message-IDs, the unsubscribe URL, the language) with anything unexpected are refused with
  `Unsendable`, a ValueError: the letter cannot be written, retrying will not help.
- List-Unsubscribe with List-Unsubscribe-Post (RFC 8058 one-click) counts only if the relay's
  DKIM signature covers both fields: signing is the relay's job (SUZ_SMTP_URL's server).
- Every header is written here once, folded within 78 characters where it can be (encoded-
  words split by email.header.Header; Message-IDs, References and the unsubscribe URL folded
  only between IDs, never encoded), and stored as written: the email package's own folder
  costs ~5 ms a letter and turns a token longer than a line (a long URL or ID) into
  encoded-words, which no client reads back as a URL or an ID.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from domain.settings import mail_address


class Unsendable(ValueError):
    """A field of the letter is unsafe or malformed: the letter is not written (dead letter)."""


@dataclass(frozen=True)
class Outgoing:
    to: str  # one recipient address ("Name <a@b>" allowed)
    subject: str
    text: str  # plain text body
    html: str  # HTML body (already escaped/rendered by the caller's template); "" = text only
    message_id: str  # with <>, made by mail.threads.message_id
    in_reply_to: str | None = None  # with <>
    references: tuple[str, ...] = ()
    reply_to: str | None = None  # the request's token address (support+<token>@domain)
    # a URL for staff digests/notifications: List-Unsubscribe + one-click POST (RFC 8058)
    list_unsubscribe: str | None = None
    language: str = "ru"  # Content-Language


_MSG_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")  # printable ASCII, no <, > or space inside
_URL = re.compile(r"(https://|mailto:)[!-;=?-~]+")  # one URL, no <, >, spaces or controls
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")  # RFC 5646, loosely
_LINE = 78  # where folding aims (RFC 5322 2.1.1)
_HARD = 998  # what no line may pass

# SMTP line ends, 7-bit bodies; headers are stored as written here (set_raw, refold_source
# "none"): the email package's own folder costs ~5 ms a letter and encodes a long URL or ID
POLICY = email_policy.SMTP.clone(cte_type="7bit", refold_source="none")


def build(o: Outgoing, sender: str) -> EmailMessage:
    """The letter `o` from `sender` (Settings.mail_from); Unsendable if a field is unsafe."""
    headers = [
        ("From", _address("From", sender, "sender")),
        ("To", _address("To", o.to, "to")),
    ]
    if o.reply_to is not None:
        headers.append(("Reply-To", _address("Reply-To", o.reply_to, "reply_to")))
    headers += [
        ("Subject", _encoded("Subject", _text(o.subject))),
        ("Date", format_datetime(datetime.now(UTC))),
        ("Message-ID", _msg_id(o.message_id, "message_id")),
    ]
    if o.in_reply_to is not None:
        headers.append(("In-Reply-To", _msg_id(o.in_reply_to, "in_reply_to")))
    if o.references:
        ids = [_msg_id(r, "references") for r in o.references]
        headers.append(("References", _tokens("References", ids)))
    if o.list_unsubscribe is not None:
        if not _URL.fullmatch(o.list_unsubscribe) or len(o.list_unsubscribe) > _HARD - 30:
            raise Unsendable("list_unsubscribe: one https:// or mailto: URL, printable ASCII")
        headers.append(("List-Unsubscribe", f"<{o.list_unsubscribe}>"))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    if not _LANGUAGE.fullmatch(o.language):
        raise Unsendable(f"language: not a language tag: {o.language!r}")
    headers += [
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Suz-Notification", "1"),
    ]
    msg = EmailMessage(policy=POLICY)
    for name, value in headers:
        assert value.isascii() and "\r" not in value, name  # the checks above make it so
        msg.set_raw(name, value)
    msg.set_content(o.text)
    if o.html:
        msg.add_alternative(o.html, subtype="html")
        for part in msg.iter_parts():  # set_content gives each part one; the letter has one
            del part["MIME-Version"]
    msg.set_raw("Content-Language", o.language)  # after the content: set_content drops Content-*
    return msg


def _address(header: str, value: str, what: str) -> str:
    """One clean address as a header value (display name encoded if need be, the domain in
    IDNA form); Unsendable otherwise."""
    display_name, addr_spec = _address_parts(value, what)
    if not display_name:
        return addr_spec
    plain = formataddr((display_name, addr_spec))
    if _plain(display_name) and len(header) + 2 + len(plain) <= _LINE:
        return plain
    name = _encoded(header, display_name, always=True)
    last = name.rpartition("\n")[2]
    return f"{name}{' ' if len(last) + len(addr_spec) + 3 <= _LINE else chr(10) + ' '}<{addr_spec}>"


@functools.lru_cache(maxsize=4096)
def _address_parts(value: str, what: str) -> tuple[str, str]:
    try:
        display_name, addr_spec = mail_address(value)
    except ValueError as e:
        raise Unsendable(f"{what}: {e}") from None
    local, _, domain = addr_spec.rpartition("@")
    if not local.isascii():
        raise Unsendable(f"{what}: a non-ASCII local part needs SMTPUTF8: {addr_spec!r}")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise Unsendable(f"{what}: not a domain name: {domain!r}") from None
    return _text(display_name), f"{local}@{domain}"


def _plain(text: str) -> bool:
    """Text that may stand as it is: ASCII that a reader would not take for encoded-words."""
    return text.isascii() and "=?" not in text


def _encoded(header: str, text: str, *, always: bool = False) -> str:
    """Free text as a folded header value: as it is if plain ASCII that folds within the
    limit, else RFC 2047 encoded-words (UTF-8, base64), each short enough for a line."""
    if not always and _plain(text):
        folded = Header(text, "us-ascii", header_name=header).encode(linesep="\n")
        if all(len(line) <= _HARD - len(header) - 2 for line in folded.split("\n")):
            return folded
    return Header(text, "utf-8", header_name=header).encode(linesep="\n")


def _tokens(header: str, tokens: list[str]) -> str:
    """Tokens (checked ASCII, no spaces) folded between tokens only, never encoded."""
    lines = [""]
    width = len(header) + 2
    for token in tokens:
        if lines[-1] and width + len(lines[-1]) + 1 + len(token) > _LINE:
            lines.append("")
            width = 0
        lines[-1] += f" {token}" if lines[-1] or width == 0 else token
    return "\n".join(lines)


def _text(value: str) -> str:
    """Free text for a header: line breaks and control characters become spaces."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return " ".join(cleaned.split())


def _msg_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _MSG_ID.fullmatch(value):
        raise Unsendable(f"{what}: not a Message-ID <left@right> in printable ASCII: {value!r}")
    return value
