"""Writing one outgoing letter: an `Outgoing` (what the notifications process decided to say)
becomes an RFC 5322 message ready for mail/smtp.py.

- Text only, or multipart/alternative (text, then HTML: clients show the last part they can).
  UTF-8, sent 7-bit clean (base64 or quoted-printable bodies, RFC 2047 encoded-words for a
  Cyrillic subject or display name): no server needs 8BITMIME or SMTPUTF8. A Cyrillic domain
  (пример.рф) is written in its IDNA form (xn--e1afmkfd.xn--p1ai); a non-ASCII local part is
  refused (it would need SMTPUTF8 all the way).
- Loops: `Auto-Submitted: auto-generated` (RFC 3834: responders must not answer it) and
  `X-Auto-Response-Suppress: All` (Exchange / Outlook out-of-office rules read only this).
  No `Precedence`: RFC 3834 does not define it (it names it only as a field some responders
  look at, and points to Auto-Submitted as the standard signal); its values mean "bulk mail"
  or "mailing list" to filters, and a requester's answer to his own request is neither.
- Header injection: every field is checked before it is written. Free text (the subject) has
  line breaks and control characters turned into spaces; structured fields (addresses,
  Message-IDs, the unsubscribe URL, the language) with anything unexpected are refused with
  `Unsendable`, a ValueError: the letter cannot be written, retrying will not help.
- Message-IDs, References and List-Unsubscribe are written as they are (checked printable
  ASCII), folded only between IDs: the email package would otherwise turn a token longer than
  a line into encoded-words, which no client reads back as an ID or a URL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime
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


class _Verbatim(UnstructuredHeader, BaseHeader):
    """A header of ASCII tokens (checked before it is set), folded only between tokens and
    never encoded."""

    def fold(self, *, policy: Policy) -> str:
        lines: list[str] = [f"{self.name}:"]
        for token in str(self).split():
            if len(lines[-1]) + 1 + len(token) > _LINE and lines[-1] != f"{self.name}:":
                lines.append("")
            lines[-1] += f" {token}"
        return policy.linesep.join(lines) + policy.linesep


_HEADERS = HeaderRegistry()
for _name in ("message-id", "in-reply-to", "references", "list-unsubscribe"):
    _HEADERS.map_to_type(_name, _Verbatim)
# SMTP line ends, 7-bit bodies, our header classes; the library's default registry untouched
POLICY = email_policy.SMTP.clone(cte_type="7bit", header_factory=_HEADERS)


def build(o: Outgoing, sender: str) -> EmailMessage:
    """The letter `o` from `sender` (Settings.mail_from); Unsendable if a field is unsafe."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address(sender, "sender")
    msg["To"] = _address(o.to, "to")
    if o.reply_to is not None:
        msg["Reply-To"] = _address(o.reply_to, "reply_to")
    msg["Subject"] = _text(o.subject)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = _msg_id(o.message_id, "message_id")
    if o.in_reply_to is not None:
        msg["In-Reply-To"] = _msg_id(o.in_reply_to, "in_reply_to")
    if o.references:
        msg["References"] = " ".join(_msg_id(r, "references") for r in o.references)
    if o.list_unsubscribe is not None:
        if not _URL.fullmatch(o.list_unsubscribe):
            raise Unsendable("list_unsubscribe: one https:// or mailto: URL, printable ASCII")
        msg["List-Unsubscribe"] = f"<{o.list_unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if not _LANGUAGE.fullmatch(o.language):
        raise Unsendable(f"language: not a language tag: {o.language!r}")
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Suz-Notification"] = "1"
    msg.set_content(o.text)
    if o.html:
        msg.add_alternative(o.html, subtype="html")
        for part in msg.iter_parts():  # set_content gives each part one; the letter has one
            del part["MIME-Version"]
    msg["Content-Language"] = o.language  # after the content: set_content drops Content-*
    return msg


def _address(value: str, what: str) -> Address:
    """One clean address, its domain in IDNA form; Unsendable otherwise."""
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
    return Address(_text(display_name), addr_spec=f"{local}@{domain}")


def _text(value: str) -> str:
    """Free text for a header: line breaks and control characters become spaces."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return " ".join(cleaned.split())


def _msg_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _MSG_ID.fullmatch(value):
        raise Unsendable(f"{what}: not a Message-ID <left@right> in printable ASCII: {value!r}")
    return value
