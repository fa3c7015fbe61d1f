"""Oversight for curators, auditors and all staff: the desk's live activity stream and the
search results page.

The stream shows, for each change, only its time, the request's number and subject, and what
happened in a few words: who did it and what was written stay on the request's own page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from projections.catalog import names_for
from projections.db import Tx
from projections.feed import activity
from projections.queues import rows_in_order
from projections.search import search
from projections.timeline import times_of
from web.auth import services
from web.http import number, wait_for_views
from web.ui import i18n
from web.ui.desk_pages import STAFF_ROLES
from web.ui.guard import Viewer, need, ui
from web.ui.render import page

PAGE = 50
NEWER = 100  # at most this many changes are prepended at once; beyond, the page says reload


@dataclass(frozen=True)
class Line:
    """One change of the activity stream."""

    position: int
    ticket_id: str
    number: int
    subject: str
    event: str
    at: str | None


def phrases() -> dict[str, str]:
    """Each ticket event as a few words, in the viewer's language."""
    _ = i18n.gettext
    return {
        "Filed": _("filed"), "Assigned": _("assigned"), "Transferred": _("transferred"),
        "Escalated": _("escalated"), "PriorityChanged": _("priority changed"),
        "Replied": _("replied"), "RequesterWrote": _("the requester wrote"),
        "NoteAdded": _("internal note"), "AttachmentAdded": _("file attached"),
        "InformationRequested": _("information requested"),
        "InformationProvided": _("information provided"), "Resolved": _("resolved"),
        "Reopened": _("reopened"), "Closed": _("closed"), "Rated": _("rated"),
        "Linked": _("linked to another request"), "ArticleLinked": _("article linked"),
        "CategoryChanged": _("category changed"), "SlaAlarmed": _("SLA alarm"),
        "FollowUpRaised": _("low rating to follow up"), "FollowUpDone": _("followed up"),
        "QualityReviewed": _("quality reviewed"), "TagAdded": _("tag added"),
        "TagRemoved": _("tag removed"),
    }  # fmt: skip


def _lines(tx: Tx, found: list[Any]) -> list[Line]:
    times = times_of(tx, [(c.ticket_id, c.version) for c, _n, _s in found])
    return [Line(c.position, c.ticket_id, n, s, c.event, times.get((c.ticket_id, c.version)))
            for c, n, s in found]  # fmt: skip


@ui
async def activity_page(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    await wait_for_views(request)
    params = request.query_params
    part = params.get("part", "")
    before = number(params.get("before", ""))
    since = number(params.get("since", ""))
    db = services(request).projections.db

    def newer(since: int) -> dict[str, Any]:
        with db.read() as tx:
            found = activity(tx, None, NEWER)
            fresh = [f for f in found if f[0].position > since]
            return {"lines": _lines(tx, fresh), "overflow": len(fresh) == NEWER}

    def older() -> dict[str, Any]:
        with db.read() as tx:
            found = activity(tx, before, PAGE + 1)
            lines = _lines(tx, found[:PAGE])
        return {"lines": lines, "more": lines[-1].position if len(found) > PAGE else None}

    if part == "newer" and since is not None:
        data = await run_in_threadpool(newer, since)
        top = data["lines"][0].position if data["lines"] else since
        return page(request, "oversight/newer.html", top=top, phrases=phrases(), **data)
    data = await run_in_threadpool(older)
    if part == "older":
        return page(request, "oversight/older.html", phrases=phrases(), **data)
    lines = data["lines"]
    top = None if before is not None else lines[0].position if lines else 0  # live: newest first
    position = services(request).projections.positions.reached("tickets")
    return page(request, "oversight/activity.html", nav="activity", position=position, top=top,
                phrases=phrases(), before=before, **data)  # fmt: skip


# -- search -----------------------------------------------------------------------------------
@ui
async def search_page(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    await wait_for_views(request)
    text = request.query_params.get("q", "")[:500].strip()
    digits = text.lstrip("№#").strip()
    numbered = number(digits) if digits else None

    def load() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            hits = search(tx, viewer.actor, text) if text else []
            rows = rows_in_order(tx, [i for i, _n in hits], numbered)
            return {"rows": rows, "names": names_for(tx, rows)}

    data = await run_in_threadpool(load)
    return page(request, "oversight/search.html", q=text, **data)


routes = [
    Route("/activity", activity_page),
    Route("/search", search_page),
]
