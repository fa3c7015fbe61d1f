"""GET /ready: may this process take traffic? (GET /health, in web/app.py, says only that it is
alive.) Ready when the event store answers, every table is made in the shape this code expects
(the migrations are done: each view's recorded shape is its current one), and no view is more
than SUZ_READY_MAX_LAG events behind the log. 200 `{"status": "ready", ...}`, else 503 with
`"status": "not ready"` and `problems`: what is not ready, in words, one entry each."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from projections import health_queries
from web.errors import environment_fault
from web.http import json
from web.services import Services


def _fault(store: str, e: Exception) -> str:
    """What a failed read of `store` says (the error's class only: its text may hold an address)."""
    if environment_fault(e):
        return f"{store} unreachable ({type(e).__name__})"
    return f"{store} unreadable ({type(e).__name__}): tables missing? (suz migrate)"


def check(svc: Services) -> tuple[list[str], dict[str, Any]]:
    """(problems, facts); no problems: ready."""
    problems: list[str] = []
    facts: dict[str, Any] = {"max_lag": svc.settings.ready_max_lag}
    try:
        head = svc.desk.recorder.max_notification_id() or 0
    except Exception as e:  # never a 500 here: say what is wrong
        return [_fault("event store", e)], facts
    facts["log_position"] = head
    try:
        with svc.projections.db.read() as tx:
            shapes = health_queries.shapes(tx)
            reached = health_queries.positions(tx)
    except Exception as e:
        return [_fault("view store", e)], facts
    lag: dict[str, int] = {}
    for view in svc.projections.views:
        if shapes.get(view.name) != view.shape or view.name not in reached:
            problems.append(f"view {view.name}: not migrated to shape {view.shape} (suz migrate)")
            continue
        lag[view.name] = max(0, head - reached[view.name])
        if lag[view.name] > svc.settings.ready_max_lag:
            problems.append(f"view {view.name}: {lag[view.name]} events behind the log "
                            f"(at most {svc.settings.ready_max_lag})")  # fmt: skip
    facts["view_lag"] = lag
    return problems, facts


async def ready(request: Request) -> Response:
    svc: Services = request.app.state.services
    problems, facts = await run_in_threadpool(check, svc)
    if problems:
        return json({"status": "not ready", "problems": problems, **facts}, 503)
    return json({"status": "ready", **facts})
