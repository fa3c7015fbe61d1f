"""What a request is made of, apart from its events: its statuses, channels, priorities and link
kinds, the contact of an anonymous requester, an attachment's and a template's references, and
the limits on its texts. The `Ticket` aggregate and its events are in domain/ticket.py (the
events stay nested in it: their topics, `domain.ticket:Ticket.Replied`, are stored with every
event and are what the views ask the log for); these values are stored by their topic too, and
domain/ticket.py re-exports them, so the older `domain.ticket:Status` still resolves."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from domain.errors import InvalidInput
from domain.people import clean_text

SLA_ALARMS = ("first_response_warning", "first_response_breach", "resolution_warning",
              "resolution_breach")  # fmt: skip


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"  # for the requester: information was requested
    RESOLVED = "resolved"
    CLOSED = "closed"


# Active: someone still has to act on the request, the desk (new, open) or the requester
# (waiting). Queues, incident links, knowledge gaps and the requester's chat all mean this set.
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING)


class Channel(StrEnum):
    CABINET = "cabinet"
    PUBLIC_FORM = "public_form"
    API = "api"
    EMAIL = "email"  # a letter to the desk's mailbox
    PHONE = "phone"  # line 1 registered a call on the caller's behalf


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class Urgency(StrEnum):
    """How urgent the requester says it is for him; the priority is the staff's to set."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class LinkKind(StrEnum):
    RELATED = "related"
    DUPLICATE_OF = "duplicate_of"
    CAUSED_BY = "caused_by"
    KNOWLEDGE_GAP = "knowledge_gap"


@dataclass(frozen=True)
class Contact:
    """Who filed an anonymous request from the public form."""

    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    """An attached file's metadata; the bytes live in content-addressed storage."""

    name: str
    size: int
    sha256: str
    media_type: str
    internal: bool = False


@dataclass(frozen=True)
class TemplateUse:
    """Which knowledge-base template (and which of its revisions) a message was written from."""

    article_id: UUID
    revision: int


class TicketKind(StrEnum):
    REQUEST = "request"
    KNOWLEDGE_GAP = "knowledge_gap"  # raised by staff: the knowledge base lacks an answer


MAX_BODY = 20_000


def clean_body(body: str, field: str = "body") -> str:
    return clean_text(body, field, max_length=MAX_BODY)


MAX_TAG = 32  # characters of one tag
MAX_TAGS = 20  # tags on one request


def clean_tag(raw: str) -> str:
    """A tag as stored: trimmed, lower-case, inner spaces as '-'; letters (any script), digits,
    '-', '_' and '.' only, starting with a letter or digit, at most MAX_TAG characters."""
    tag = unicodedata.normalize("NFC", "-".join(str(raw).split())).lower().lstrip("#")
    if (not 0 < len(tag) <= MAX_TAG or not tag[0].isalnum()
            or not all(ch.isalnum() or ch in "-_." for ch in tag)):  # fmt: skip
        raise InvalidInput("A tag is 1 to 32 letters or digits, joined by '-', '_' or '.'.",
                           ["tag"])  # fmt: skip
    return tag
