"""Time travel for auditors: a ticket exactly as it was at a version or a moment.

The state at version n is the aggregate replayed from its own stored events up to n (the
repository's `get(version=n)`), never a view; the timeline up to n is built from the same events
with the timeline view's rules (projections/timeline.py), so staff see every entry and a
requester (or staff asking "as the requester saw it") the public ones, redacted as the policy
says. A moment maps to the last version recorded at or before it.

A requester travels only through the versions of his own timeline's entries: a version asked in
between shows the last of his entries at or before it, the latest is his last entry, and the
state shows only what the policy lets him see (`visible_state`), so neither the number nor the
time of internal events, nor who works the request where, can be read from an answer.

GET /api/v1/tickets/{id}/history?version=n | ?as_of=<ISO datetime> [&view=requester]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Actor, visible_data, visible_state
from domain.desk import SYSTEM, Desk
from domain.errors import InvalidInput, NotFound
from domain.ticket import Ticket
from domain.transcoder import DATA
from projections.timeline import _SKIP, REQUESTER, TICKET_EVENTS, Entry, to_json
from web.auth import authenticate, services
from web.body import path_id
from web.http import json

_NAMES = frozenset(c.__name__ for c in TICKET_EVENTS)
# What the state shows: the ticket's facts (not the private link's key hash).
STATE_KEYS = ("id", "version", "number", "kind", "channel", "status", "priority", "line",
              "group_id", "assignee_id", "requester_id", "organisation_id", "category_id",
              "subject", "description", "fields", "rating", "resolution", "links", "articles",
              "created_on", "modified_on", "tags")  # fmt: skip


@dataclass(frozen=True)
class History:
    """A ticket at `version` (of `latest`), with the timeline up to it."""

    ticket: Ticket
    version: int
    latest: int
    at: str  # when the event of `version` was recorded
    moments: list[tuple[int, str]]  # every version the reader may visit, with its time
    entries: list[Entry]
    public: bool  # only what the requester could see

    @property
    def previous(self) -> int | None:
        return max((v for v, _ in self.moments if v < self.version), default=None)

    @property
    def next(self) -> int | None:
        return min((v for v, _ in self.moments if v > self.version), default=None)

    def state(self) -> dict[str, Any]:
        """The ticket's facts at this version as JSON values, as the reader may see them."""
        return visible_state(REQUESTER if self.public else SYSTEM, state_json(self.ticket))


def state_json(ticket: Any) -> dict[str, Any]:
    """The ticket's facts as JSON values (the same function serves the tests' replay)."""
    state = {k: getattr(ticket, k, None) for k in STATE_KEYS}
    result: dict[str, Any] = orjson.loads(to_json(state))
    return result


def entry_of(event: Any, *, public: bool) -> Entry | None:
    """One event as the timeline view records it; None when the reader may not see it."""
    data = {k: v for k, v in vars(event).items() if k not in _SKIP}
    name = type(event).__name__
    shown = visible_data(REQUESTER, name, data)
    by = data.get("by")
    at = event.timestamp.isoformat()
    if not public:
        data = orjson.loads(to_json(data))
        return Entry(event.originator_version, 0, at, name, str(by) if by else None,
                     shown is None, data)  # fmt: skip
    if shown is None:
        return None
    shown = orjson.loads(to_json(shown))
    actor = str(by) if by and "by" in shown else None  # a redacted event names nobody
    return Entry(event.originator_version, 0, at, name, actor, False, shown)


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("as_of must be an ISO date and time.", ["as_of"]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def history(desk: Desk, actor: Actor, ticket_id: UUID, *, version: int | None = None,
            as_of: datetime | None = None, as_requester: bool = False) -> History:  # fmt: skip
    """The ticket at a version or moment, as `actor` may see it (NotFound if he may not)."""
    current = desk.ticket(actor, ticket_id)  # the same access check as every ticket read
    stored = [s for s in desk.recorder.select_events(ticket_id)
              if s.topic.rpartition(".")[2] in _NAMES]  # fmt: skip
    public = as_requester or not actor.is_staff
    shown: list[Entry] | None = None
    if public:  # only his entries' versions exist for a requester
        events = (desk.mapper.to_domain_event(s) for s in stored)
        shown = [entry for e in events if (entry := entry_of(e, public=True)) is not None]
        moments = [(e.version, e.at) for e in shown]
        latest = moments[-1][0]
    else:  # the slider's moments come from the stored JSON; only the events shown are decoded
        moments = [(s.originator_version, str(orjson.loads(s.state)["timestamp"][DATA]))
                   for s in stored]  # fmt: skip
        latest = current.version
    if as_of is not None:
        before = [v for v, t in moments if datetime.fromisoformat(t) <= as_of]
        if not before:
            raise NotFound("The request did not exist yet at that moment.")
        version = before[-1]
    if version is None:
        version = latest
    if not 1 <= version <= latest:
        raise InvalidInput(f"version must be between 1 and {latest}.", ["version"])
    version = max(v for v, _ in moments if v <= version)
    ticket = cast(Ticket, desk.repository.get(ticket_id, version=version))
    if shown is not None:
        entries = [e for e in shown if e.version <= version]
    else:
        events = (desk.mapper.to_domain_event(s) for s in stored if s.originator_version <= version)
        entries = [entry for e in events if (entry := entry_of(e, public=False)) is not None]
    at = next(t for v, t in moments if v == version)
    return History(ticket, version, latest, at, moments, entries, public)


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(f"{name} must be a whole number.", [name])
    return int(raw)


async def ticket_history(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    ticket_id = path_id(request, "ticket_id", "request")
    raw = request.query_params.get("as_of", "")
    as_of = parse_moment(raw) if raw else None
    version = _int(request, "version")
    as_requester = request.query_params.get("view", "") == "requester"
    h = await run_in_threadpool(history, services(request).desk, actor, ticket_id,
                                version=version, as_of=as_of,
                                as_requester=as_requester)  # fmt: skip
    return json({
        "version": h.version, "latest": h.latest, "at": h.at, "public_only": h.public,
        "ticket": h.state(), "timeline": [asdict(e) for e in h.entries],
    })  # fmt: skip


routes = [Route("/api/v1/tickets/{ticket_id}/history", ticket_history)]
