"""Ticket commands from what an edge received: one walk over a command's fields, by type.

The JSON API (web/api.py) and the staff page's forms (web/ui/ticket_pages.py) each give a
`Reader` for their input; `build` asks it for every field the command declares, by the field's
wire name (`group_id` is sent as `group`), so neither edge keeps a table of commands. `schema`
describes the same fields for the OpenAPI document.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any, Protocol
from uuid import UUID

from domain.ticket import TemplateUse
from domain.tickets.commands import TicketCommand

# Fields an edge never reads from its input: the ticket and version come from the path and
# If-Match, attachments from the upload routes.
NOT_SENT = frozenset({"ticket_id", "expected_version", "attachments", "attachment"})
NO_DEFAULT: Any = dataclasses.MISSING


class Reader(Protocol):
    """One edge's typed access to what was sent; a bad value raises a 4xx naming the field."""

    def text(self, name: str, default: str | None) -> str: ...
    def uuid(self, name: str) -> UUID: ...
    def opt_uuid(self, name: str) -> UUID | None: ...
    def integer(self, name: str) -> int: ...
    def strs(self, name: str) -> tuple[str, ...]: ...
    def obj(self, name: str) -> dict[str, Any]: ...
    def choice(self, name: str, kind: type[enum.Enum], default: enum.Enum | None) -> Any: ...
    def template(self) -> TemplateUse | None: ...


def wire(name: str) -> str:
    """The name a field is sent under: `group_id` -> `group`."""
    return name.removesuffix("_id")


_SENT: dict[type[TicketCommand], tuple[tuple[str, Any, Any], ...]] = {}


def sent_fields(kind: type[TicketCommand]) -> tuple[tuple[str, Any, Any], ...]:
    """(name, type, default) of each field a sender gives, in declaration order."""
    if kind in _SENT:
        return _SENT[kind]
    hints = typing.get_type_hints(kind)
    found = []
    for f in dataclasses.fields(kind):
        if f.name not in NOT_SENT:
            default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            found.append((f.name, hints[f.name], default))
    _SENT[kind] = tuple(found)
    return _SENT[kind]


def build(kind: type[TicketCommand], ticket_id: UUID, version: int | None,
          reader: Reader) -> TicketCommand:  # fmt: skip
    values = {name: _read(reader, wire(name), t, d) for name, t, d in sent_fields(kind)}
    return kind(ticket_id=ticket_id, expected_version=version, **values)


def _read(reader: Reader, name: str, t: Any, default: Any) -> Any:
    optional = type(None) in typing.get_args(t)
    if t is str:
        return reader.text(name, None if default is NO_DEFAULT else default)
    if t is UUID:
        return reader.uuid(name)
    if optional and UUID in typing.get_args(t):
        return reader.opt_uuid(name)
    if optional and TemplateUse in typing.get_args(t):
        return reader.template()
    if t is int:
        return reader.integer(name)
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return reader.choice(name, t, None if default is NO_DEFAULT else default)
    origin = typing.get_origin(t)
    if origin is tuple:
        return reader.strs(name)
    if origin is dict:
        return reader.obj(name)
    raise TypeError(f"no reader for {name}: {t}")  # a new field type: teach build
