"""Incident commands from what an edge received: one walk over a command's fields, by type.

The JSON API (web/incidents_api.py) and the incident pages (web/ui/incident_pages.py) each give
a `Reader`; `build` asks it for every field the command declares that the edge did not already
take from the path (`given`), by the field's wire name (`proposal_id` is sent as `proposal`,
`ticket_ids` as `tickets`), so neither edge keeps a table or a chain of commands.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from domain.errors import InvalidInput
from domain.incident_commands import IncidentCommand
from domain.incidents import Criteria
from web.body import Body
from web.errors import ApiError

NO_DEFAULT: Any = dataclasses.MISSING


class Reader(Protocol):
    """One edge's typed access to what was sent; a bad value raises a 4xx naming the field."""

    def text(self, name: str, default: str | None) -> str: ...
    def flag(self, name: str, default: bool) -> bool: ...
    def uuid(self, name: str) -> UUID: ...
    def opt_uuid(self, name: str) -> UUID | None: ...
    def ids(self, name: str) -> tuple[UUID, ...]: ...
    def criteria(self, name: str) -> Criteria | None: ...
    def moment(self, name: str) -> datetime | None: ...


def wire(name: str) -> str:
    """The name a field is sent under: `proposal_id` -> `proposal`, `ticket_ids` -> `tickets`."""
    return name.removesuffix("_id").replace("_ids", "s")


def build(kind: type[IncidentCommand], reader: Reader, **given: Any) -> IncidentCommand:
    hints = typing.get_type_hints(kind)
    values = dict(given)
    for f in dataclasses.fields(kind):
        if f.name not in values:
            values[f.name] = _read(reader, wire(f.name), hints[f.name], f.default)
    return kind(**values)


def _read(reader: Reader, name: str, t: Any, default: Any) -> Any:
    args = typing.get_args(t)
    if t is str:
        return reader.text(name, None if default is NO_DEFAULT else default)
    if t is bool:
        return reader.flag(name, bool(default))
    if t is UUID:
        return reader.uuid(name)
    if UUID in args and type(None) in args:
        return reader.opt_uuid(name)
    if typing.get_origin(t) is tuple and UUID in args:
        return reader.ids(name)
    if Criteria in args:
        return reader.criteria(name)
    if datetime in args:
        return reader.moment(name)
    raise TypeError(f"no reader for {name}: {t}")  # a new field type: teach build and readers


def criteria_from(raw: Any) -> Criteria:
    if not isinstance(raw, dict):
        raise InvalidInput("criteria must be an object.", ["criteria"])
    b = Body(raw)
    return Criteria(
        b.opt_uuid("category_id"),
        b.text("field_key", ""),
        b.text("field_value", ""),
        b.strs("words"),
    )


class JsonReader:
    """The JSON API's body."""

    def __init__(self, body: Body) -> None:
        self.body = body

    def text(self, name: str, default: str | None) -> str:
        return self.body.text(name, default)

    def flag(self, name: str, default: bool) -> bool:
        value = self.body.data.get(name, default)
        if not isinstance(value, bool):
            # literal messages (here and below) so the translations are extracted; each reader
            # method serves one field today (resolve_requests, tickets, since)
            raise ApiError(422, "invalid_input", "resolve_requests must be true or false.", (name,))
        return value

    def uuid(self, name: str) -> UUID:
        return self.body.uuid(name)

    def opt_uuid(self, name: str) -> UUID | None:
        return self.body.opt_uuid(name)

    def ids(self, name: str) -> tuple[UUID, ...]:
        try:
            return tuple(UUID(t) for t in self.body.strs(name))
        except ValueError:
            raise ApiError(
                422, "invalid_input", "tickets must be a list of request ids.", (name,)
            ) from None

    def criteria(self, name: str) -> Criteria | None:
        raw = self.body.data.get(name)
        return criteria_from(raw) if raw is not None else None

    def moment(self, name: str) -> datetime | None:
        raw = self.body.data.get(name)
        if raw is None:
            return None
        try:
            moment = datetime.fromisoformat(str(raw))
        except ValueError:
            raise ApiError(
                422,
                "invalid_input",
                "since must be a moment like 2026-11-06T09:00:00+03:00.",
                (name,),
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
