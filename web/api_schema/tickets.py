"""Requests: filing, reading, the queues, search, history, attachments, and every ticket
command, whose bodies come from the command registry (domain/tickets/commands.py)."""

from __future__ import annotations

import typing
from typing import Annotated, Any, cast
from uuid import UUID

import msgspec
from msgspec import NODEFAULT, UNSET, Meta, UnsetType

from domain.ticket import Channel, LinkKind, Priority, Status, TemplateUse, TicketKind, Urgency
from domain.tickets.commands import BY_API, TicketCommand
from projections.timeline import TICKET_EVENTS
from web.api_schema.common import (
    AFTER,
    COMMAND_REFUSED,
    KEY,
    Answer,
    Moment,
    Operation,
    Position,
    Raw,
    Sent,
    TemplateRef,
    Version,
    Written,
    in_path,
    in_query,
    said,
)
from web.command_input import NO_DEFAULT, sent_fields, wire

TicketEvent = Annotated[
    str,
    Meta(description="The event's name (past tense).",
         extra_json_schema={"enum": sorted(c.__name__ for c in TICKET_EVENTS)}),
]  # fmt: skip
EventData = Annotated[
    dict[str, Any],
    Meta(description="The event's recorded values, by name; which depends on the event. A "
         "requester sees only public events, and some without who and where."),
]  # fmt: skip
FieldValues = Annotated[dict[str, str], Meta(description="The category form's values, by key.")]


class FileTicket(Sent, kw_only=True):
    """A new request. A requester or an anonymous visitor says how urgent it is for him
    (`urgency`); only staff filing on someone's behalf set `priority` (from others: 422). An
    anonymous visitor gives a contact (`contact_name`, `contact_email`)."""

    category: UUID
    subject: str
    description: str
    fields: Annotated[dict[str, Any], Meta(description="The category form's values, by key.")] = {}
    priority: Priority | UnsetType = UNSET
    urgency: Urgency = Urgency.NORMAL
    contact_name: str | UnsetType = UNSET
    contact_email: str | UnsetType = UNSET


class Filed(Answer, kw_only=True):
    """A filed request (or a raised knowledge gap). An anonymous filer gets the private link and
    its key, once: whoever holds them is the request's requester."""

    id: UUID
    number: int
    position: Position
    version: int
    private_link: str | UnsetType = UNSET
    key: str | UnsetType = UNSET


class Attached(Answer, kw_only=True):
    """The attachment command's answer and the file as stored (typed by its content)."""

    id: UUID
    position: Position
    version: int
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    media_type: str
    name: str
    size: Annotated[int, Meta(ge=0)]


class TicketSummary(Answer, kw_only=True):
    """A request as the queues list it. A requester is not shown who works it, where, nor the
    priority the staff gave it, nor its tags: those fields are absent from his answers."""

    id: UUID
    number: int
    subject: str
    status: Status
    priority: Priority | UnsetType = UNSET
    line: Annotated[int, Meta(ge=1, le=3)] | UnsetType = UNSET
    group_id: UUID | UnsetType | None = UNSET
    assignee_id: UUID | UnsetType | None = UNSET
    requester_id: UUID | None
    organisation_id: UUID | None
    category_id: UUID
    channel: Channel
    contact_name: str
    filed_at: Moment
    updated_at: Moment
    version: int
    kind: TicketKind
    tags: Annotated[str, Meta(description="The staff's tags, separated by spaces.")] | UnsetType = (
        UNSET
    )


class Entry(Answer, kw_only=True):
    """One event of a request's timeline as the reader may see it (`internal`: staff only)."""

    version: int
    position: Annotated[int, Meta(ge=0, description="Its log position (0 in a replay).")]
    at: Moment
    event: TicketEvent
    actor_id: UUID | None
    internal: bool
    data: EventData


class TicketPage(Answer, kw_only=True):
    ticket: TicketSummary
    timeline: list[Entry]


class QueuePage(Answer, kw_only=True):
    """One page of a queue, by request number; `next_after` is the next page's `after_number`
    (null on the last page)."""

    tickets: list[TicketSummary]
    next_after: int | None


QueueCounts = Annotated[
    dict[str, Annotated[int, Meta(ge=0)]],
    Meta(description="The count of each queue asked for (0 when empty), by its name."),
]


class SearchHit(Answer, kw_only=True):
    id: UUID
    number: int


class SearchResults(Answer, kw_only=True):
    results: list[SearchHit]


class ActivityItem(Answer, kw_only=True):
    """One change of the desk, newest first; pass the last `position` as `before`."""

    position: Position
    ticket_id: UUID
    event: TicketEvent
    version: int
    number: int
    subject: str


class TicketState(Answer, kw_only=True):
    """A request's facts at a version, replayed from its events; a requester's replay leaves
    out who works it, where, the priority and the links."""

    id: UUID
    version: int
    number: int
    kind: TicketKind
    channel: Channel
    status: Status
    priority: Priority | UnsetType = UNSET
    line: int | UnsetType = UNSET
    group_id: UUID | UnsetType | None = UNSET
    assignee_id: UUID | UnsetType | None = UNSET
    requester_id: UUID | None
    organisation_id: UUID | None
    category_id: UUID
    subject: str
    description: str
    fields: FieldValues
    rating: Annotated[int, Meta(ge=1, le=5)] | None
    resolution: str
    links: list[tuple[UUID, LinkKind]] | UnsetType = UNSET
    articles: list[UUID] | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET
    created_on: Moment
    modified_on: Moment


class History(Answer, kw_only=True):
    """A request as it was at `version` (of `latest`, recorded `at`), with its timeline up to
    it; `public_only`: as the requester saw it."""

    version: int
    latest: int
    at: Moment
    public_only: bool
    ticket: TicketState
    timeline: list[Entry]


# -- the ticket commands' bodies, from their fields -------------------------------------------
# What the fields' types cannot say, by (command segment, wire name):
BOUNDS: dict[tuple[str, str], Meta] = {("rating", "score"): Meta(ge=1, le=5)}


def _wire_type(t: Any) -> Any:
    """The JSON type of a command field as web/command_input.py reads it."""
    if TemplateUse in typing.get_args(t):
        return TemplateRef | None
    if typing.get_origin(t) is tuple:
        return list[str]
    if typing.get_origin(t) is dict:
        return Annotated[dict[str, Any], Meta(description="Values by the form's field keys.")]
    return t


def _default(value: Any) -> Any:
    if value is NO_DEFAULT:
        return NODEFAULT
    if isinstance(value, tuple):
        return list(value)
    return value


def command_body(api: str, kind: type[TicketCommand]) -> type[Sent]:
    """The body `kind` is read from: its sent fields by wire name, and `version`."""
    fields: list[tuple[str, Any, Any]] = []
    for name, t, default in sent_fields(kind):
        typed = _wire_type(t)
        if (api, wire(name)) in BOUNDS:
            typed = Annotated[typed, BOUNDS[api, wire(name)]]
        fields.append((wire(name), typed, _default(default)))
    fields.append(("version", Version | UnsetType, UNSET))
    doc = kind.__doc__ if kind.__doc__ and not kind.__doc__.startswith(kind.__name__ + "(") else ""
    body = msgspec.defstruct(
        f"{kind.__name__}Body", fields, bases=(Sent,), kw_only=True, module=__name__,
        namespace={"__doc__": doc or f"The body of the ticket command {kind.__name__}."},
    )  # fmt: skip
    return cast(type[Sent], body)


COMMAND_BODIES = {api: command_body(api, kind) for api, kind in BY_API.items()}


TICKET = in_path("ticket_id")
PAGE = (in_query("after_number", Annotated[int, Meta(ge=0)], "The last page's `next_after`."),
        AFTER)  # fmt: skip
ZIP = Raw("application/zip", "a zip: events.jsonl, manifest.json, manifest.sig, public_key.pem")
OPERATIONS = [
    Operation("post", "/api/v1/tickets",
              "File a request (signed in, by API token, or anonymously with a contact)",
              Filed, FileTicket, status=201,
              refusals=(400, 401, 403, 404, 413, 415, 422, 429)),
    Operation("get", "/api/v1/tickets/{ticket_id}",
              "A request and its timeline as the caller may see it", TicketPage,
              params=(TICKET, AFTER, KEY)),
    Operation("get", "/api/v1/tickets/{ticket_id}/history",
              "A request exactly as it was at a version or a moment, replayed from its events",
              History, params=(
                  TICKET, in_query("version", Annotated[int, Meta(ge=1)]),
                  in_query("as_of", Moment, "A moment: the last version recorded by then."),
                  in_query("view", typing.Literal["requester"], "Staff: as the requester saw it."),
                  AFTER, KEY)),
    Operation("post", "/api/v1/tickets/{ticket_id}/attachments",
              "Attach a file (multipart: file, version, internal)", Attached,
              Raw("multipart/form-data", "the file and the version seen", {
                  "type": "object", "required": ["file", "version"],
                  "properties": {"file": {"type": "string", "format": "binary"},
                                 "version": {"type": "string", "pattern": "^[0-9]+$"},
                                 "internal": {"type": "string", "enum": ["1", "true", "on", ""]}},
              }),
              status=201, params=(TICKET,), refusals=COMMAND_REFUSED),
    Operation("get", "/api/v1/tickets/{ticket_id}/attachments/{sha256}",
              "Download an attachment (one a timeline entry the caller may see names)",
              Raw("*/*", "the file, typed by its content"),
              params=(TICKET, in_path("sha256", Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]),
                      in_query("inline", typing.Literal["1"], "Shown in the browser if safe."),
                      AFTER, KEY),
              refusals=(401, 404)),
    Operation("get", "/api/v1/tickets/{ticket_id}/export",
              "The request's stored events with a signed manifest (staff)", ZIP,
              params=(TICKET,), refusals=(401, 403, 404)),
    Operation("get", "/api/v1/queues/counts", "Live counts of queues (staff)", QueueCounts,
              params=(in_query("queue", list[str], "Queue names: open, group:ID, line:N, "
                               "status:S, assignee:ID, unassigned:GROUP, waiting:GROUP"),),
              refusals=(401, 403)),
    Operation("get", "/api/v1/queues/{kind}", "A queue, by request number (staff)", QueuePage,
              params=(in_path("kind", typing.Literal["group", "unassigned", "waiting", "mine",
                                                     "line"]),
                      in_query("group", UUID, "group, unassigned, waiting: the group"),
                      in_query("line", typing.Literal["1", "2", "3"], "line: the line (1)"),
                      in_query("status", Status, "line: the status (new)"), *PAGE),
              refusals=(401, 403, 404, 422)),
    Operation("get", "/api/v1/my/tickets", "My (or my organisation's) requests", QueuePage,
              params=(in_query("scope", typing.Literal["mine", "organisation"]), *PAGE),
              refusals=(401,)),
    Operation("get", "/api/v1/search", "Full-text search among the requests I may see",
              SearchResults, params=(in_query("q"),), refusals=(401,)),
    Operation("get", "/api/v1/activity", "The desk's activity stream (staff)", list[ActivityItem],
              params=(in_query("before", Position, "The last page's last position."),),
              refusals=(401, 403)),
]  # fmt: skip
OPERATIONS += [
    Operation("post", f"/api/v1/tickets/{{ticket_id}}/{api}",
              f"{said(kind.__name__)} (send the version you saw: If-Match or `version`)",
              Written, COMMAND_BODIES[api], params=(TICKET, KEY), refusals=COMMAND_REFUSED)
    for api, kind in BY_API.items()
]  # fmt: skip
