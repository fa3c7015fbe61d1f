"""Routing rules through the API: GET the ordered rules, PUT a new list (administrators)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import uuid4

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import Forbidden, InvalidInput
from domain.routing import Assignment, Rule
from domain.ticket import Channel, Priority
from web.auth import authenticate, services, signed_in
from web.body import Body, expected_version
from web.http import json, written


def rule_from(raw: Any, i: int) -> Rule:
    """One rule from its JSON object; a wrong value names the rule's place and the field."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"Rule {i + 1} must be an object.", ["rules"])
    b = Body(raw)
    try:
        channel = Channel(raw["channel"]) if raw.get("channel") else None
        priority = Priority(raw["priority"]) if raw.get("priority") else None
        assignment = Assignment(raw.get("assignment") or "none")
    except ValueError:
        raise InvalidInput(f"Rule {i + 1}: unknown channel, priority or assignment.",
                           ["channel", "priority", "assignment"]) from None  # fmt: skip
    return Rule(
        id=b.opt_uuid("id") or uuid4(), name=b.text("name", "").strip(),
        group_id=b.uuid("group_id"),
        category_id=b.opt_uuid("category_id"), field_key=b.text("field_key", "").strip(),
        field_value=b.text("field_value", "").strip(), channel=channel,
        organisation_id=b.opt_uuid("organisation_id"), priority=priority, assignment=assignment,
    )  # fmt: skip


def rule_json(r: Rule) -> dict[str, Any]:
    return {k: (str(v) if v is not None and not isinstance(v, str) else v)
            for k, v in asdict(r).items()}  # fmt: skip


async def get_rules(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    if not actor.is_staff:
        raise Forbidden("Routing rules are for the support staff.")
    routing = await run_in_threadpool(services(request).desk.routing)
    version = routing.saved_version
    return json({"version": version, "rules": [rule_json(r) for r in routing.rules]},
                headers={"ETag": f'"{version}"'})  # fmt: skip


async def put_rules(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    body = await Body.read(request)
    raw = body.data.get("rules")
    if not isinstance(raw, list):
        raise InvalidInput("rules must be a list of rules.", ["rules"])
    rules = tuple(rule_from(r, i) for i, r in enumerate(raw))
    version = expected_version(request, body)
    w = await run_in_threadpool(services(request).desk.set_routing_rules, actor, rules, version)
    return written(w)


routes = [
    Route("/api/v1/routing/rules", get_rules),
    Route("/api/v1/routing/rules", put_rules, methods=["PUT"]),
]
