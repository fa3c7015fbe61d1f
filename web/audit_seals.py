"""The seals' routes: `GET /api/v1/audit/seals` hands them out (JSON, or JSON Lines with
`?format=jsonl`), so an outside party can keep copies and check them later with
scripts/verify_export.py; the last check against them; and a check started in the background.
The seals themselves, the Sealer and the checks' records are audit/seals.py.
"""

from __future__ import annotations

from functools import partial

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from audit.keys import public_pem
from audit.seals import all_seals, finish_seal_check, last_seal_check
from domain.desk import Desk
from domain.errors import Forbidden
from domain.settings import Settings
from projections.db import ViewDB
from web import background
from web.audit_export import may_audit
from web.auth import authenticate, services, signed_in
from web.http import json


async def start_seal_check(settings: Settings, desk: Desk, db: ViewDB) -> int | None:
    """Starts a check against the seals in the thread pool; its id, or None if one runs."""
    return await background.start(
        db, "audit_seal_checks", partial(finish_seal_check, settings, desk, db)
    )


# -- the API ------------------------------------------------------------------------------------
async def get_seals(request: Request) -> Response:
    """Every seal: JSON, or JSON Lines (one seal a line) with ?format=jsonl."""
    actor = signed_in(await authenticate(request))
    if not may_audit(actor):
        raise Forbidden("Seals are for auditors, curators and administrators.")
    svc = services(request)
    seals = await run_in_threadpool(all_seals, svc.projections.db)
    if request.query_params.get("format") == "jsonl":
        body = b"".join(orjson.dumps(s.to_json()) + b"\n" for s in seals)
        return Response(
            body,
            media_type="application/jsonl",
            headers={"Content-Disposition": 'attachment; filename="suz-seals.jsonl"'},
        )
    pem = await run_in_threadpool(public_pem, svc.settings)
    return json({"seals": [s.to_json() for s in seals], "public_key": pem.decode()})


async def get_last_seal_check(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    if not may_audit(actor):
        raise Forbidden("Seals are for auditors, curators and administrators.")
    check = await run_in_threadpool(last_seal_check, services(request).projections.db)
    if check is None:
        return json({"last": None})
    return json({"last": {"id": check.id, "started_at": check.started_at,
                          "finished_at": check.finished_at, "running": check.running,
                          "report": check.report}})  # fmt: skip


routes = [
    Route("/api/v1/audit/seals", get_seals),
    Route("/api/v1/audit/seals/checks/last", get_last_seal_check),
]
