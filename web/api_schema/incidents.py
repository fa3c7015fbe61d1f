"""Trigger rules and mass incidents (web/incidents_api.py); the incident commands' bodies come
from their registry (domain/incident_commands.py)."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import Annotated, Any, cast
from uuid import UUID

import msgspec
from msgspec import NODEFAULT, UNSET, Meta, UnsetType

from domain.incident_commands import BY_API, IncidentCommand, OpenIncident
from domain.incidents import Criteria, IncidentStatus
from domain.ticket import Status
from web.api_schema.common import (
    Answer,
    Moment,
    Operation,
    Sent,
    Version,
    Written,
    in_path,
    said,
)
from web.api_schema.setup import SETUP_REFUSED
from web.api_schema.tickets import TICKET
from web.incident_input import NO_DEFAULT, wire

INCIDENT = in_path("incident_id")


class CriteriaSent(Sent, kw_only=True):
    """What requests match: any of `words` in the text, and every other criterion given."""

    category_id: UUID | None = None
    field_key: str = ""
    field_value: str = ""
    words: list[str] = []


class CriteriaShown(Answer, kw_only=True):
    category_id: UUID | None
    field_key: str
    field_value: str
    words: list[str]


class TriggerRuleSent(Sent, kw_only=True):
    """A rule: `threshold` matching requests within `window_minutes` propose an incident and
    alert `groups`; with `rate_factor` also that many times the category's usual count for the
    hour of the week. Without `id` a rule gets a new one."""

    threshold: int
    id: UUID | None = None
    name: str = ""
    category_id: UUID | None = None
    field_key: str = ""
    field_value: str = ""
    words: list[str] = []
    window_minutes: int = 10
    rate_factor: Annotated[float | str, Meta(description="A decimal; 0: no rate rule.")] = 0
    groups: list[UUID] = []


class TriggerRulesSent(Sent, kw_only=True):
    rules: list[TriggerRuleSent]
    version: Version | UnsetType = UNSET


class TriggerRuleShown(Answer, kw_only=True):
    """A trigger rule with its count in its window now and when it last fired."""

    id: UUID
    name: str
    category_id: UUID | None
    field_key: str
    field_value: str
    words: list[str]
    threshold: int
    window_minutes: int
    rate_factor: Annotated[str, Meta(description="A decimal; 0: no rate rule.")]
    groups: list[UUID]
    count: int
    usual: Annotated[str, Meta(description="A decimal.")] | None
    last_fired: Moment | None
    last_incident: UUID | None


class TriggerRules(Answer, kw_only=True):
    version: int
    rules: list[TriggerRuleShown]


class Incident(Answer, kw_only=True):
    id: UUID
    status: IncidentStatus
    title: str
    description: str
    rule_id: UUID | None
    rule_name: str
    criteria: CriteriaShown
    since: Moment | None
    count: int
    groups: list[UUID]
    linked: int
    updates: int
    last_update: str
    answer: str
    target: int
    pending: int
    created_at: Moment
    updated_at: Moment
    resolved_at: Moment | None
    version: int


class Incidents(Answer, kw_only=True):
    proposals: list[Incident]
    open: list[Incident]
    resolved: Annotated[list[Incident], Meta(description="The last 20.")]


class LinkedRequest(Answer, kw_only=True):
    id: UUID
    number: int
    subject: str
    status: Status
    told: Annotated[bool, Meta(description="Its requester was told every update.")]


class IncidentUpdate(Answer, kw_only=True):
    at: Moment
    by: UUID | None
    body: str


class IncidentPage(Answer, kw_only=True):
    incident: Incident
    requests: list[LinkedRequest]
    updates: list[IncidentUpdate]


# -- the incident commands' bodies, from their fields -----------------------------------------
def _wire_type(t: Any) -> Any:
    """The JSON type of a command field as web/incident_input.py reads it."""
    args = typing.get_args(t)
    if typing.get_origin(t) is tuple:
        return list[UUID]
    if Criteria in args:
        return CriteriaSent | None
    if datetime in args:
        return datetime | None  # without an offset: UTC
    return t


def command_body(kind: type[IncidentCommand], given: tuple[str, ...] = ()) -> type[Sent]:
    """The body `kind` is read from: its fields by wire name, but those the path gives."""
    hints = typing.get_type_hints(kind)
    fields = [(wire(f.name), _wire_type(hints[f.name]),
               NODEFAULT if f.default is NO_DEFAULT else f.default)
              for f in dataclasses.fields(kind) if f.name not in given]  # fmt: skip
    doc = kind.__doc__ if kind.__doc__ and not kind.__doc__.startswith(kind.__name__ + "(") else ""
    body = msgspec.defstruct(
        f"{kind.__name__}Body", fields, bases=(Sent,), kw_only=True, module=__name__,
        namespace={"__doc__": doc or f"The body of the incident command {kind.__name__}."},
    )  # fmt: skip
    return cast(type[Sent], body)


COMMAND_BODIES = {api: command_body(kind, ("incident_id",)) for api, kind in BY_API.items()}
OPERATIONS = [
    Operation("get", "/api/v1/incidents/triggers",
              "Trigger rules with their current counts (staff)", TriggerRules,
              refusals=(401, 403)),
    Operation("put", "/api/v1/incidents/triggers",
              "Replace the trigger rules (administrators, analysts; send the version you saw)",
              Written, TriggerRulesSent, refusals=SETUP_REFUSED),
    Operation("get", "/api/v1/incidents", "Proposals and incidents (staff)", Incidents,
              refusals=(401, 403)),
    Operation("post", "/api/v1/incidents",
              "Open an incident by hand or from a proposal (developers, operations, admins)",
              Written, command_body(OpenIncident), status=201, refusals=SETUP_REFUSED),
    Operation("get", "/api/v1/incidents/{incident_id}",
              "One incident with its linked requests and updates (staff)", IncidentPage,
              params=(INCIDENT,), refusals=(401, 403, 404)),
    Operation("delete", "/api/v1/incidents/{incident_id}/links/{ticket_id}",
              "Take a request out of an incident", Written, params=(INCIDENT, TICKET),
              bodiless=True, refusals=(400, 401, 403, 404, 409, 422)),
]  # fmt: skip
OPERATIONS += [
    Operation("post", f"/api/v1/incidents/{{incident_id}}/{api}",
              said(kind.__name__), Written, COMMAND_BODIES[api],
              params=(INCIDENT,), refusals=SETUP_REFUSED)
    for api, kind in BY_API.items()
]  # fmt: skip
