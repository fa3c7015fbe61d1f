"""The auditor's routes: signed exports of a ticket's stored events or of a period (streamed:
the zip is written while the log is read, so it has no size limit and memory stays flat), the
public key that checks them (`GET /api/v1/audit/public-key`), and full-store integrity checks
run in the background. What they serve is the audit/ package: the signing key (audit/keys.py),
the exports (audit/export.py), the checks' records (audit/checks.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from audit.checks import check_json, last_check, run_check
from audit.export import build_export, event_lines, period_zip
from audit.keys import public_pem, signing_key
from domain.access import Actor
from domain.desk import Desk
from domain.errors import Forbidden, InvalidInput
from domain.people import Role
from domain.settings import Settings
from projections.db import ViewDB
from web import background
from web.auth import authenticate, services, signed_in
from web.body import path_id
from web.http import json

AUDIT_ROLES = (Role.AUDITOR, Role.CURATOR, Role.ADMIN)


def export_ticket(settings: Settings, desk: Desk, actor: Actor, ticket_id: UUID) -> bytes:
    ticket = desk.ticket(actor, ticket_id)  # 404 for who may not see it
    if not actor.is_staff:
        raise Forbidden("Exports hold the whole history, internal notes included: staff only.")
    lines = event_lines(desk, ticket_id)
    return build_export(settings, lines, aggregate_id=str(ticket_id), ticket_number=ticket.number)


async def ticket_export(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    ticket_id = path_id(request, "ticket_id", "request")
    svc = services(request)
    data = await run_in_threadpool(export_ticket, svc.settings, svc.desk, actor, ticket_id)
    name = f"suz-ticket-{ticket_id}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"Give {name} as a date, YYYY-MM-DD.", [name]) from None


async def period_export(request: Request) -> Response:
    """The whole desk's events of a period (days in UTC, both included), signed."""
    actor = signed_in(await authenticate(request))
    if not may_audit(actor):
        raise Forbidden("Exports of a period are for auditors, curators and administrators.")
    first = _day(request.query_params.get("from", ""), "from")
    last = _day(request.query_params.get("to", ""), "to")
    if last < first:
        raise InvalidInput("The period ends before it starts.", ["to"])
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    svc = services(request)
    key = await run_in_threadpool(signing_key, svc.settings)  # a missing key fails before
    stream = period_zip(
        svc.desk, key, start, end, period_from=first.isoformat(), period_to=last.isoformat()
    )
    name = f"suz-events-{first}-{last}.zip"
    return StreamingResponse(  # a sync iterator: starlette drains it in the thread pool
        stream,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def public_key(request: Request) -> Response:
    pem = await run_in_threadpool(public_pem, services(request).settings)
    return Response(pem, media_type="application/x-pem-file")


# -- full-store checks --------------------------------------------------------------------------
async def start_full_check(desk: Desk, db: ViewDB) -> int | None:
    """Starts a whole-store verification in the thread pool; its id, or None if one runs."""
    return await background.start(db, "audit_checks", partial(run_check, desk, db))


def may_audit(actor: Actor) -> bool:
    return actor.has(*AUDIT_ROLES)


async def get_last_check(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    if not may_audit(actor):
        raise Forbidden("Integrity checks are for auditors, curators and administrators.")
    check = await run_in_threadpool(last_check, services(request).projections.db)
    return json({"last": check_json(check)})


routes = [
    Route("/api/v1/tickets/{ticket_id}/export", ticket_export),
    Route("/api/v1/audit/public-key", public_key),
    Route("/api/v1/audit/export", period_export),
    Route("/api/v1/audit/checks/last", get_last_check),
]
