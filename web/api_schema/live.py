"""The /live websocket (web/live.py) as an AsyncAPI 3.0 document, served at
/api/v1/asyncapi.json; its messages are Structs like the HTTP answers.

AsyncAPI rather than a section of the OpenAPI document: OpenAPI describes requests and their
answers, and has no place for what a socket pushes on its own or for the messages a client
sends after the upgrade. The document describes the server: it *receives* a subscription and
presence announcements, and *sends* the rest.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from web.api_schema.common import Answer, Position, Sent
from web.api_schema.examples import example
from web.live import MAX_MESSAGE, MAX_PER_SESSION
from web.presence import State

TOPIC = (r"^((ticket|requester|org|article|group|assignee):[0-9a-fA-F-]{32,36}"
         r"|line:[1-3]|activity|queues|presence|kb|incidents)$")  # fmt: skip
Topic = Annotated[str, Meta(pattern=TOPIC, description=(
    "ticket:ID (one request, checked against the caller), requester:ID (his own), org:ID (his "
    "organisation's); staff only: activity, queues, presence, kb, article:ID, group:ID, "
    "line:N, assignee:ID, incidents"))]  # fmt: skip


class Subscribe(Sent, kw_only=True):
    """The first message: the topics to follow and the last log position seen (0: from the
    start). At most 50 topics are read."""

    subscribe: list[Topic]
    after: Position = 0


class Announce(Sent, kw_only=True):
    """Presence on a subscribed ticket (at most twice a second for the same state; typing a
    note is the staff's). Not an event: nothing is stored."""

    presence: State
    ticket: UUID


class Subscribed(Answer, kw_only=True):
    """Every topic was allowed; what was missed after `after` follows, then live changes."""

    subscribed: list[str]
    after: int


class Change(Answer, kw_only=True):
    """Something happened on a followed topic, in log order, once: a requester is told only of
    changes with a public timeline entry. Remember `position` to resume from it."""

    position: Position
    ticket: Annotated[UUID, Meta(description="The request's, article's or incident's id.")]
    event: Annotated[str, Meta(description="The event's name (past tense).")]
    version: int


class Present(Answer, kw_only=True):
    account: UUID
    name: str
    state: State


class PresenceNow(Answer, kw_only=True):
    """Who is on a ticket now (a requester sees only those typing a public reply)."""

    presence: Annotated[UUID, Meta(description="The ticket's id.")]
    who: list[Present]


class Refused(Answer, kw_only=True):
    """The subscription is refused, then the socket closes: a malformed first message (1003)
    or topics the caller may not follow (`topics`, 1008)."""

    error: str
    topics: list[str] | UnsetType = UNSET


RECEIVED = {"subscribe": Subscribe, "announce": Announce}
SENT = {"subscribed": Subscribed, "change": Change, "presence": PresenceNow, "refused": Refused}
CLOSES = (f"Close codes: 1008 when the Origin, the session or the account is refused, when a "
          f"session already has {MAX_PER_SESSION} sockets open, when a topic is refused, and "
          f"soon after the session or the account ends; 1009 when a message is larger than "
          f"{MAX_MESSAGE} bytes; 1003 when the first message is not a subscription.")  # fmt: skip
REF = "#/components/schemas/{name}"


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of /live."""
    types = [*RECEIVED.values(), *SENT.values()]
    refs, schemas = msgspec.json.schema_components(types, ref_template=REF)
    payloads = dict(zip([*RECEIVED, *SENT], refs, strict=True))
    messages = {
        name: {"name": kind.__name__, "title": kind.__name__,
               "summary": (kind.__doc__ or "").split("\n")[0], "contentType": "application/json",
               "payload": payloads[name], "examples": [{"name": name, "payload": example(kind)}]}
        for name, kind in {**RECEIVED, **SENT}.items()
    }  # fmt: skip
    channel = "#/channels/live"
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "suz live changes",
            "version": "1",
            "description": "The websocket /live: subscribe to topics, get what was missed since "
            "a log position, then every change as it happens, and presence on tickets. Sign in "
            "as for the API (session cookie with an allowed Origin, or an API token); a "
            "private link's holder passes `ticket` and `key`. " + CLOSES,
        },
        "defaultContentType": "application/json",
        "channels": {
            "live": {
                "address": "/live",
                "title": "Changes by topic",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {"ws": {
                    "method": "GET",
                    "query": {"type": "object", "properties": {
                        "ticket": {"type": "string", "format": "uuid",
                                   "description": "The private link's request."},
                        "key": {"type": "string", "description": "The private link's key."}}},
                    "headers": {"type": "object", "properties": {
                        "Origin": {"type": "string", "description": "One of SUZ_ORIGINS."},
                        "Authorization": {"type": "string", "pattern": "^Bearer "}}},
                    "bindingVersion": "0.1.0",
                }},
            }
        },
        "operations": {
            "receiveSubscription": {
                "action": "receive", "channel": {"$ref": channel},
                "summary": "The client's first message: topics and the last position seen",
                "messages": [{"$ref": f"{channel}/messages/subscribe"}],
                "reply": {"channel": {"$ref": channel}, "messages": [
                    {"$ref": f"{channel}/messages/subscribed"},
                    {"$ref": f"{channel}/messages/refused"}]},
            },
            "receivePresence": {
                "action": "receive", "channel": {"$ref": channel},
                "summary": "Presence announcements on subscribed tickets",
                "messages": [{"$ref": f"{channel}/messages/announce"}],
            },
            "sendChanges": {
                "action": "send", "channel": {"$ref": channel},
                "summary": "What was missed, then every change; presence on followed tickets",
                "messages": [{"$ref": f"{channel}/messages/change"},
                             {"$ref": f"{channel}/messages/presence"}],
            },
        },
        "components": {"messages": messages, "schemas": schemas},
    }  # fmt: skip
