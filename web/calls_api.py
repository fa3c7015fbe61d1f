"""Phone calls over the JSON API (issue 16): line 1 registers a call (`POST /api/v1/calls`) and
finds the caller (`GET /api/v1/callers`). Staff who work requests only: the policy is asked
before the body is read (domain/calls.py `check_call_taker`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.calls import RegisterCall, check_call_taker
from domain.ticket import Priority
from projections import caller_search
from web.auth import authenticate, services, signed_in
from web.body import Body
from web.errors import ApiError
from web.http import json, wait_for_views


def call_from(body: Body) -> RegisterCall:
    """The call a JSON body (or a form's values, as a Body) describes; a wrong type is a 422
    naming the field."""
    resolution = body.data.get("resolution")
    return RegisterCall(
        category_id=body.uuid("category"),
        subject=body.text("subject"),
        description=body.text("description"),
        fields=body.obj("fields"),
        caller_id=body.opt_uuid("caller"),
        contact_name=body.text("contact_name", ""),
        contact_email=body.text("contact_email", ""),
        phone=body.text("phone", ""),
        organisation_id=body.opt_uuid("organisation"),
        priority=_priority(body),
        resolution=None if resolution is None else body.text("resolution"),
        escalate_to=body.opt_uuid("escalate_to"),
        reason=body.text("reason", ""),
    )


def _priority(body: Body) -> Priority | None:
    given = body.data.get("priority")
    if given is None:
        return None
    try:
        return Priority(body.text("priority"))
    except ValueError:
        raise ApiError(422, "invalid_input", "priority must be low, normal, high or critical.",
                       ("priority",)) from None  # fmt: skip


async def register_call(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    check_call_taker(actor)  # before the body is read
    call = call_from(await Body.read(request))
    filed = await run_in_threadpool(services(request).desk.register_call, actor, call)
    return json({"id": str(filed.id), "number": filed.number, "position": filed.position,
                 "version": filed.version}, 201)  # fmt: skip


async def find_callers(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    check_call_taker(actor)
    await wait_for_views(request)
    text = request.query_params.get("q", "")
    organisation = request.query_params.get("organisation", "")

    def find() -> list[dict[str, Any]]:
        with services(request).projections.db.read() as tx:
            if organisation:
                return [asdict(c) for c in caller_search.people_of(tx, organisation)]
            return [asdict(c) for c in caller_search.search(tx, text)]

    return json({"callers": await run_in_threadpool(find)})


routes = [
    Route("/api/v1/calls", register_call, methods=["POST"]),
    Route("/api/v1/callers", find_callers),
]
