"""Oversight for curators, auditors and all staff: the desk's live activity stream and the
search results page.

The stream shows, for each change, its time, the request's number and subject, who did it and
what happened in a few words, with the request's line and group then (what was written stays on
the request's own page). It filters by line, group, category and kind of change (query
parameters, validated; the query and its indexes: projections/activity.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from projections import activity, catalog
from projections.catalog import account_names, group_names, names_for
from projections.db import Tx
from projections.queues import rows_in_order
from projections.search import search
from web.auth import services
from web.http import number, wait_for_views
from web.ui import i18n
from web.ui.desk_pages import STAFF_ROLES
from web.ui.guard import Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.render import page

PAGE = 50
# the filters' refusals (projections/activity.py), extracted for translation; shown through _()
FILTER_MESSAGES = (
    lazy("Choose line 1, 2 or 3."),
    lazy("Choose a group from the list."),
    lazy("Choose a category from the list."),
    lazy("Choose a kind of change from the list."),
)
NEWER = 100  # at most this many changes are prepended at once; beyond, the page says reload


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
        "TagRemoved": _("tag removed"), "MergedInto": _("merged into another request"),
        "MergedFrom": _("another request merged into it"), "SplitOff": _("an entry split off"),
        "SplitFrom": _("made from another request's entry"),
    }  # fmt: skip


def _load(tx: Tx, changes: list[activity.Change]) -> dict[str, Any]:
    """Who did each change, and the names of its line's group and category."""
    people = account_names(tx, {c.actor_id for c in changes if c.actor_id})
    groups = group_names(tx, {c.group_id for c in changes if c.group_id})
    return {"lines": changes, "people": people, "groups": groups}


def choices(tx: Tx) -> dict[str, Any]:
    """What the filters offer: every group and category, and every kind of change by its name."""
    said = phrases()
    first, second = ("ru", "en") if i18n.current() == "ru" else ("en", "ru")
    return {
        "groups_offered": [(g["id"], g["name"]) for g in catalog.groups(tx)],
        "categories": [
            (c["id"], c[f"name_{first}"] or c[f"name_{second}"]) for c in catalog.categories(tx)
        ],
        "events": sorted(((e, said.get(e, e)) for e in activity.EVENTS), key=lambda p: p[1]),
        "lines_offered": activity.LINES,
    }


def _query(f: activity.Filters, **more: str) -> str:
    """The filters (and `more`) as a query string, for the live and "older" links."""
    values = {"line": str(f.line) if f.line else "", "group": f.group_id or "",
              "category": f.category_id or "", "event": f.event or "", **more}  # fmt: skip
    return urlencode({k: v for k, v in values.items() if v})


@ui
async def activity_page(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    await wait_for_views(request)
    params = request.query_params
    part = params.get("part", "")
    before = number(params.get("before", ""))
    since = number(params.get("since", ""))
    db = services(request).projections.db
    try:
        f = activity.filters(params)
    except activity.BadFilter as e:
        raw = {k: params.get(k, "")[:64] for k in ("line", "group", "category", "event")}
        with db.read() as tx:
            offered = choices(tx)
        return page(request, "oversight/activity.html", 422, nav="activity", lines=[],
                    top=None, before=None, phrases=phrases(), raw=raw, bad=e.field,
                    error=i18n.gettext(e.message), query="", position=0, more=None,
                    **offered)  # fmt: skip
    query = _query(f)

    def newer(since: int) -> dict[str, Any]:
        with db.read() as tx:
            found = activity.stream(tx, f, after=since, limit=NEWER)
            return {**_load(tx, found), "overflow": len(found) == NEWER}

    def older() -> dict[str, Any]:
        with db.read() as tx:
            found = activity.stream(tx, f, before=before, limit=PAGE + 1)
            data = _load(tx, found[:PAGE])
            if part != "older":
                data.update(choices(tx))
        more = found[PAGE - 1].position if len(found) > PAGE else None
        return {**data, "more": more}

    if part == "newer" and since is not None:
        data = await run_in_threadpool(newer, since)
        top = data["lines"][0].position if data["lines"] else since
        return page(request, "oversight/newer.html", top=top, phrases=phrases(), query=query,
                    **data)  # fmt: skip
    data = await run_in_threadpool(older)
    if part == "older":
        return page(request, "oversight/older.html", phrases=phrases(), query=query, **data)
    lines = data["lines"]
    top = None if before is not None else lines[0].position if lines else 0  # live: newest first
    position = services(request).projections.positions.reached("activity")
    raw = {"line": str(f.line or ""), "group": f.group_id or "", "category": f.category_id or "",
           "event": f.event or ""}  # fmt: skip
    return page(request, "oversight/activity.html", nav="activity", position=position, top=top,
                phrases=phrases(), before=before, raw=raw, query=query, filtered=f.any,
                **data)  # fmt: skip


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
