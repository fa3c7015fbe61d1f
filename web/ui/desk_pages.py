"""The agents' desk: queues with live counts in a sidebar and the chosen queue's list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from projections import catalog, queues
from projections.db import Tx
from projections.sla import deadlines
from web.api import number, wait_for_views
from web.auth import services
from web.ui import i18n
from web.ui.guard import Viewer, need, ui
from web.ui.lookups import group_names, names_for
from web.ui.render import page

STAFF_ROLES = ("agent", "methodologist", "analyst", "developer", "operations", "admin",
               "quality", "curator", "auditor")  # fmt: skip


@dataclass(frozen=True)
class Queue:
    key: str  # as in the URL: mine, group:<id>, unassigned:<id>, waiting:<id>, line:<n>
    label: str
    count_key: str
    topic: str


def _queues(tx: Tx, viewer: Viewer) -> list[tuple[str, list[Queue]]]:
    _ = i18n.gettext
    me = str(viewer.actor.id)
    sections: list[tuple[str, list[Queue]]] = [
        (_("Personal"), [Queue("mine", _("Assigned to me"), f"assignee:{me}", f"assignee:{me}")])
    ]
    group_ids = sorted(map(str, viewer.actor.group_ids))
    if not group_ids:  # curators, auditors: every group
        group_ids = [g["id"] for g in catalog.groups(tx)]
    names = group_names(tx, group_ids)
    for g in sorted(group_ids, key=lambda g: names.get(g, "")):
        name = names.get(g, "?")
        sections.append((name, [
            Queue(f"group:{g}", _("All open"), f"group:{g}", f"group:{g}"),
            Queue(f"unassigned:{g}", _("Unassigned"), f"unassigned:{g}", f"group:{g}"),
            Queue(f"waiting:{g}", _("Waiting for the requester"), f"waiting:{g}", f"group:{g}"),
        ]))  # fmt: skip
    sections.append((_("By line"), [
        Queue(f"line:{n}", _("Line {n}").format(n=n), f"line:{n}", f"line:{n}") for n in (1, 2, 3)
    ]))  # fmt: skip
    return sections


def _rows(tx: Tx, viewer: Viewer, key: str, after: int | None) -> queues.Page:
    kind, _, arg = key.partition(":")
    if kind == "mine":
        return queues.for_assignee(tx, viewer.actor.id, after)  # type: ignore[arg-type]
    if kind == "line" and arg in ("1", "2", "3"):
        return queues.for_line(tx, int(arg), after)
    query = {"group": queues.for_group, "unassigned": queues.unassigned,
             "waiting": queues.waiting}.get(kind)  # fmt: skip
    try:
        group = UUID(arg)
    except ValueError:
        return queues.Page([], None)
    return query(tx, group, after) if query else queues.Page([], None)


def _load(request: Request, viewer: Viewer, key: str, after: int | None) -> dict[str, Any]:
    with services(request).projections.db.read() as tx:
        sections = _queues(tx, viewer)
        flat = [q for _name, qs in sections for q in qs]
        counts = queues.counts(tx, [q.count_key for q in flat])
        if not key:  # mine when it holds something, else the first group's open requests
            key = "mine" if counts.get(flat[0].count_key) or len(flat) < 2 else flat[1].key
        current = next((q for q in flat if q.key == key), flat[0])
        rows = _rows(tx, viewer, current.key, after)
        names = names_for(tx, rows.rows)
        sla = deadlines(tx, [r.id for r in rows.rows])
    return {"sections": sections, "current": current, "counts": counts, "page": rows,
            "names": names, "sla": sla}  # fmt: skip


@ui
async def desk(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    await wait_for_views(request)
    key = request.query_params.get("queue", "")[:80]
    after = number(request.query_params.get("after_number", ""))
    data = await run_in_threadpool(_load, request, viewer, key, after)
    part = request.query_params.get("part")
    template = {"list": "desk/list.html", "counts": "desk/queues.html"}.get(
        part or "", "desk/page.html"
    )
    position = services(request).projections.positions.reached("tickets")
    account = await run_in_threadpool(services(request).desk.account_by_id, viewer.actor.id)
    away = getattr(account, "away", False)
    return page(request, template, nav="desk", position=position, away=away, **data)


@ui
async def set_away(request: Request, viewer: Viewer) -> Response:
    """An agent says he is away (automatic assignment skips him) or back."""
    need(viewer, *STAFF_ROLES)
    form = await request.form()
    away = form.get("away") == "1"
    assert viewer.actor.id is not None
    await run_in_threadpool(services(request).desk.set_away, viewer.actor, viewer.actor.id, away)
    return RedirectResponse("/desk", 303)


routes = [Route("/desk", desk), Route("/desk/away", set_away, methods=["POST"])]
