"""Helpers every route module shares: JSON answers, a command's `Written` answer, query numbers
and the read-your-writes wait. A leaf: it imports no route module, so any of them may import it
(they used to import these from web.api, which tied the audit routes, the services and the
authentication into one import cycle)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from domain.results import Written

if TYPE_CHECKING:
    from web.services import Services


def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def written(w: Written, status: int = 200) -> Response:
    return json({"id": str(w.id), "position": w.position, "version": w.version}, status,
                {"ETag": f'"{w.version}"'})  # fmt: skip


def number(text: str) -> int | None:
    """A query parameter's whole number: ASCII digits only, capped to fit a 64-bit column."""
    return min(int(text), 2**62) if text.isascii() and text.isdigit() else None


async def wait_for_views(request: Request) -> None:
    """Read-your-writes: `?after=N` waits (up to 10 s in all) until the views reach position N.

    A position past the log's head is only waited for up to the head: no write will bring it.
    """
    after = number(request.query_params.get("after", ""))
    if after is None:
        return
    svc: Services = request.app.state.services
    projections = svc.projections
    if all(projections.positions.reached(v.name) >= after for v in projections.views):
        return
    head = await run_in_threadpool(lambda: svc.desk.recorder.max_notification_id() or 0)
    target, deadline = min(after, head), time.monotonic() + 10.0
    for view in projections.views:
        left = deadline - time.monotonic()
        await projections.positions.wait_async(view.name, target, max(left, 0.0))
