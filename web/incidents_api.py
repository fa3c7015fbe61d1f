"""Triggers and mass incidents through the API.

GET/PUT /api/v1/incidents/triggers: the rules (staff read; administrators and analysts write,
against the version they saw) with each rule's count in its window now. GET /api/v1/incidents:
proposals, open and recently resolved incidents (staff). POST /api/v1/incidents opens one, by
hand or from a proposal (`proposal`); then per incident: dismissal, links (POST a list, DELETE
one), public updates and the resolution. The domain decides who may (developers, operations and
administrators manage; whoever works requests links them).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Actor
from domain.desk import Desk
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.incident_commands import BY_API, OpenIncident, UnlinkFromIncident
from domain.incidents import Criteria, IncidentStatus, TriggerRule, Triggers
from domain.setup.documents import SetTriggerRules
from projections import incidents as view
from web.auth import authenticate, services, signed_in
from web.body import Body, path_id
from web.errors import ApiError
from web.http import json, wait_for_views, written
from web.incident_input import JsonReader, build, criteria_from
from web.setup_document import SetupDocumentApi
from web.ui.i18n import lazy

if TYPE_CHECKING:
    from web.services import Services


def criteria_json(c: Criteria) -> dict[str, Any]:
    category = str(c.category_id) if c.category_id else None
    return {
        "category_id": category,
        "field_key": c.field_key,
        "field_value": c.field_value,
        "words": list(c.words),
    }


def _factor(raw: Any) -> Decimal:
    if raw is None:
        return Decimal(0)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ApiError(422, "invalid_input", "rate_factor must be a number.", ("rate_factor",))
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        raise ApiError(
            422, "invalid_input", "rate_factor must be a number.", ("rate_factor",)
        ) from None


def rule_from(raw: Any, i: int) -> TriggerRule:
    """One rule from its JSON object (criteria fields inline)."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"Rule {i + 1} must be an object.", ["rules"])
    b = Body(raw)
    groups = raw.get("groups", [])
    if not isinstance(groups, list):
        raise ApiError(422, "invalid_input", "groups must be a list of ids.", ("groups",))
    try:
        group_ids = tuple(UUID(str(g)) for g in groups)
    except ValueError:
        raise ApiError(422, "invalid_input", "groups must be a list of ids.", ("groups",)) from None
    return TriggerRule(
        id=b.opt_uuid("id") or uuid4(),
        name=b.text("name", ""),
        criteria=criteria_from(raw),
        threshold=b.integer("threshold"),
        window_minutes=b.integer("window_minutes") if "window_minutes" in raw else 10,
        rate_factor=_factor(raw.get("rate_factor")),
        groups=group_ids,
    )


def rule_json(r: TriggerRule) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "name": r.name,
        **criteria_json(r.criteria),
        "threshold": r.threshold,
        "window_minutes": r.window_minutes,
        "rate_factor": str(r.rate_factor),
        "groups": [str(g) for g in r.groups],
    }


def incident_json(row: view.IncidentRow) -> dict[str, Any]:
    return {**asdict(row), "criteria": criteria_json(row.criteria)}


def _staff(actor: Actor) -> Actor:
    if not actor.is_staff:
        raise Forbidden("Mass incidents are for the support staff.")
    return actor


# -- triggers ---------------------------------------------------------------------------------
def _show_triggers(triggers: Triggers, svc: Services) -> dict[str, Any]:
    """The rules, each with its count in its window now and when it last fired."""
    with svc.projections.db.read() as tx:
        counts = view.window_counts(tx, triggers.rules, datetime.now(UTC))
    rules = []
    for r in triggers.rules:
        c = counts[r.id]
        fired = triggers.fired.get(r.id)
        rules.append(
            {
                **rule_json(r),
                "count": c.count,
                "usual": str(c.usual) if c.usual is not None else None,
                "last_fired": fired[0].isoformat() if fired else None,
                "last_incident": str(fired[1]) if fired else None,
            }
        )
    return {"rules": rules}


def _parse_triggers(body: Body) -> tuple[tuple[TriggerRule, ...]]:
    raw = body.data.get("rules")
    if not isinstance(raw, list):
        raise InvalidInput("rules must be a list of rules.", ["rules"])
    return (tuple(rule_from(r, i) for i, r in enumerate(raw)),)


TRIGGERS = SetupDocumentApi(
    "/api/v1/incidents/triggers",
    load=Desk.triggers,
    refusal=lazy("Mass incidents are for the support staff."),
    show=_show_triggers,
    parse=_parse_triggers,
    command=SetTriggerRules,
    wait=True,
)


# -- incidents --------------------------------------------------------------------------------
async def list_incidents(request: Request) -> Response:
    _staff(signed_in(await authenticate(request)))
    await wait_for_views(request)
    with services(request).projections.db.read() as tx:
        found = {
            "proposals": view.incidents(tx, (IncidentStatus.PROPOSED.value,)),
            "open": view.incidents(tx, (IncidentStatus.OPEN.value,)),
            "resolved": view.incidents(tx, (IncidentStatus.RESOLVED.value,), limit=20),
        }
    return json({k: [incident_json(r) for r in rows] for k, rows in found.items()})


async def get_incident(request: Request) -> Response:
    _staff(signed_in(await authenticate(request)))
    incident_id = path_id(request, "incident_id", "incident")
    await wait_for_views(request)
    with services(request).projections.db.read() as tx:
        row = view.incident(tx, str(incident_id))
        if row is None:
            raise NotFound("No such incident.")
        linked = view.linked_requests(tx, row.id)
        news = view.updates(tx, row.id)
    return json(
        {"incident": incident_json(row), "requests": linked, "updates": news},
        headers={"ETag": f'"{row.version}"'},
    )


async def open_incident(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    command = build(OpenIncident, JsonReader(await Body.read(request)))
    return written(await run_in_threadpool(services(request).desk.handle, actor, command), 201)


async def incident_command(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    incident_id = path_id(request, "incident_id", "incident")
    body = await Body.read(request)
    kind = BY_API.get(request.path_params["command"])
    if kind is None:
        raise ApiError(404, "not_found", "No such command on an incident.")
    command = build(kind, JsonReader(body), incident_id=incident_id)
    return written(await run_in_threadpool(services(request).desk.handle, actor, command))


async def unlink(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    incident_id = path_id(request, "incident_id", "incident")
    ticket_id = path_id(request, "ticket_id", "request")
    command = UnlinkFromIncident(incident_id, ticket_id)
    return written(await run_in_threadpool(services(request).desk.handle, actor, command))


routes = [
    *TRIGGERS.routes(),
    Route("/api/v1/incidents", list_incidents),
    Route("/api/v1/incidents", open_incident, methods=["POST"]),
    Route("/api/v1/incidents/{incident_id}", get_incident),
    Route("/api/v1/incidents/{incident_id}/links/{ticket_id}", unlink, methods=["DELETE"]),
    Route("/api/v1/incidents/{incident_id}/{command}", incident_command, methods=["POST"]),
]
