"""@mentions on the staff's pages (issue 16): what the note composer's autocomplete lists
(static/js/suz.js asks it as you type after an `@`). The highlight of the handles a note named
is web/ui/mention_markup.py."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from projections import catalog
from web.auth import services
from web.http import json, wait_for_views
from web.ui.guard import Viewer, staff_only, ui


@ui
@staff_only
async def handles(request: Request, viewer: Viewer) -> Response:
    """GET /desk/mentions?q=iv: up to 8 staff and groups a note may mention (staff only)."""
    await wait_for_views(request)  # ?after=N, as every page's fragments
    typed = request.query_params.get("q", "")[:64]

    def look_up() -> list[dict[str, str]]:
        with services(request).projections.db.read() as tx:
            return catalog.mention_handles(tx, typed)

    return json({"handles": await run_in_threadpool(look_up)})
