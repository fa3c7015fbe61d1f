"""The agents' desk: queues with live counts in a sidebar and the chosen queue's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.errors import InvalidInput
from projections import catalog, kb_queries, queues
from projections.catalog import group_names, names_for
from projections.db import Tx
from projections.queue_history import queue_at
from projections.sla import deadlines
from web.auth import services
from web.http import number, wait_for_views
from web.ui import i18n, mentions
from web.ui.guard import Viewer, need, ui
from web.ui.render import TIMEZONE, page

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
        (_("Personal"), [
            Queue("mine", _("Assigned to me"), f"assignee:{me}", f"assignee:{me}"),
            # the requests other lines consult him on by @mentions in notes (issue 16)
            Queue("mentioned", _("Mentioned me"), f"mentioned:{me}", f"mentioned:{me}"),
            *([Queue("gaps", _("Knowledge gaps"), "gaps", "queues")]
              if viewer.has("methodologist", "admin") else []),  # kb_queries.open_gaps
        ])
    ]  # fmt: skip
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
    if kind == "mentioned":
        return queues.mentioning(tx, viewer.actor.id, after)  # type: ignore[arg-type]
    if kind == "gaps":
        return kb_queries.open_gaps(tx, after)
    if kind == "line" and arg in ("1", "2", "3"):
        return queues.for_line(tx, int(arg), after)
    query = {"group": queues.for_group, "unassigned": queues.unassigned,
             "waiting": queues.waiting}.get(kind)  # fmt: skip
    try:
        group = UUID(arg)
    except ValueError:
        return queues.Page([], None)
    return query(tx, group, after) if query else queues.Page([], None)


def _load(request: Request, viewer: Viewer, key: str, after: int | None,
          as_of: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    with services(request).projections.db.read() as tx:
        sections = _queues(tx, viewer)
        flat = [q for _name, qs in sections for q in qs]
        counts = queues.counts(tx, [q.count_key for q in flat])
        counts[f"mentioned:{viewer.actor.id}"] = queues.mentioning_count(tx, viewer.actor.id)  # type: ignore[arg-type]
        if not key:  # mine when it holds something, else the first group's open requests
            personal = len(sections[0][1])  # then the first group's open requests
            key = "mine" if counts.get(flat[0].count_key) or len(flat) <= personal else (
                flat[personal].key)  # fmt: skip
        current = next((q for q in flat if q.key == key), flat[0])
        if as_of is not None and current.key == "mentioned":  # kept as it is now only
            rows = queues.Page([], None)
        elif as_of is not None:  # the queue as it stood then (an auditor's look back)
            kind, _, arg = current.key.partition(":")
            kind, arg = ("assignee", str(viewer.actor.id)) if kind == "mine" else (kind, arg)
            rows = queues.Page(queue_at(tx, kind, arg, as_of), None)
        else:
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
    as_of = _moment(request.query_params.get("as_of", ""))
    data = await run_in_threadpool(_load, request, viewer, key, after, as_of)
    part = request.query_params.get("part")
    template = {"list": "desk/list.html", "counts": "desk/queues.html"}.get(
        part or "", "desk/page.html"
    )
    position = services(request).projections.positions.reached("tickets")
    account = await run_in_threadpool(services(request).desk.account_by_id, viewer.actor.id)
    away = getattr(account, "away", False)
    return page(request, template, nav="desk", position=position, away=away, as_of=as_of,
                **data)  # fmt: skip


def _moment(text: str) -> datetime | None:
    """`?as_of=` as the form's datetime-local (Moscow time) or an ISO moment with its zone."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text[:40])
    except ValueError:
        raise InvalidInput(
            i18n.gettext("Give the moment as YYYY-MM-DDTHH:MM."), ["as_of"]
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=TIMEZONE)


@ui
async def set_away(request: Request, viewer: Viewer) -> Response:
    """An agent says he is away (automatic assignment skips him) or back."""
    need(viewer, *STAFF_ROLES)
    form = await request.form()
    away = form.get("away") == "1"
    assert viewer.actor.id is not None
    await run_in_threadpool(services(request).desk.set_away, viewer.actor, viewer.actor.id, away)
    return RedirectResponse("/desk", 303)


routes = [Route("/desk", desk), Route("/desk/away", set_away, methods=["POST"]),
          Route("/desk/mentions", mentions.handles)]  # fmt: skip
