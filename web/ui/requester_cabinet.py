"""The requester's cabinet, /my: his requests and his organisation's, newest first, live."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from projections import queues
from projections.catalog import names_for
from web.auth import services
from web.http import number, wait_for_views
from web.ui.guard import Viewer, need, ui
from web.ui.render import page

PAGE_SIZE = 25


def _load(request: Request, viewer: Viewer, scope: str, after: int | None) -> dict[str, Any]:
    actor = viewer.actor
    with services(request).projections.db.read() as tx:
        mine = queues.requested_by(tx, actor, after if scope == "mine" else None, PAGE_SIZE)
        org = queues.of_organisation(tx, actor, after if scope == "org" else None, PAGE_SIZE)
        names = names_for(tx, [*mine.rows, *org.rows])
    return {"pages": {"mine": mine, "org": org}, "names": names}


@ui
async def cabinet(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    if viewer.staff:
        return RedirectResponse("/desk", 303)
    await wait_for_views(request)
    scope = "org" if request.query_params.get("scope") == "org" else "mine"
    has_org = viewer.actor.organisation_id is not None
    if not has_org:
        scope = "mine"
    after = number(request.query_params.get("after_number", ""))
    data = await run_in_threadpool(_load, request, viewer, scope, after)
    positions = services(request).projections.positions
    topics = [f"requester:{viewer.actor.id}"]
    if has_org:
        topics.append(f"org:{viewer.actor.organisation_id}")
    if request.query_params.get("part") == "list":
        return page(
            request,
            "requester/my_list.html",
            list=scope,
            rows=data["pages"][scope],
            names=data["names"],
            after=after,
        )
    return page(
        request,
        "requester/my.html",
        nav="my",
        scope=scope,
        has_org=has_org,
        after=after,
        topics=" ".join(topics),
        position=positions.reached("tickets"),
        **data,
    )
