"""The agents' desk: queues with live counts in a sidebar and the chosen queue's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import requests_seen
from domain.errors import InvalidInput, NotFound
from domain.queue_filter import from_query
from domain.setup.queue_views import DeleteQueueView, SaveQueueView
from projections import catalog, desk_query, kb_queries, queue_views, queues
from projections.catalog import group_names, names_for
from projections.db import Tx
from projections.incidents import incidents as incident_rows
from projections.queue_history import queue_at
from projections.sla import deadlines
from web.auth import services
from web.http import number, wait_for_views
from web.ui import bulk_actions, desk_filters, i18n, mentions
from web.ui.guard import Viewer, need, ui
from web.ui.refusals import translated
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


@dataclass(frozen=True)
class Asked:
    """What the URL asks of the desk: a fixed queue, a saved view, or a filter (issue 18)."""

    key: str  # a fixed queue's key; "filter" for the filter
    view_id: str | None  # a saved view (its filter, unless the URL gives its own)
    after: int | None  # a fixed queue's page
    cursor: str | None  # a filtered list's page
    as_of: datetime | None
    params: QueryParams
    full: bool  # the whole page (the filter form's choices too), not a fragment
    counts_only: bool = False  # the sidebar's live refresh: no list


def _saved_counts(tx: Tx, viewer: Viewer, saved: list[queue_views.SavedView]) -> dict[str, int]:
    """Each saved view's count, as the viewer may see it (one indexed count each)."""
    seen, me = requests_seen(viewer.actor), viewer.actor.id
    counts = {}
    for v in saved:
        try:
            counts[f"view:{v.id}"] = desk_query.count(tx, seen, from_query(v.query), me)
        except InvalidInput:  # a view saved before a parameter changed: shown, counted 0
            counts[f"view:{v.id}"] = 0
    return counts


def _filtered(tx: Tx, viewer: Viewer, asked: Asked, saved: list[queue_views.SavedView]
              ) -> dict[str, Any]:  # fmt: skip
    """The filtered list: the filter form, its page, the query that shows it again."""
    _ = i18n.gettext
    view = None
    if asked.view_id is not None:
        view = next((v for v in saved if v.id == asked.view_id), None)
        if view is None:
            raise NotFound("No such view.")
    form = desk_filters.read(asked.params, view.query if view else None)
    if view is not None:
        current = Queue(f"view:{view.id}", view.name, f"view:{view.id}", "activity")
        here = f"view={view.id}" + (f"&{form.query}" if form.given else "")
    else:
        current = Queue("filter", _("Filtered requests"), "", "activity")
        here = form.query or "queue=filter"
    rows = desk_query.DeskPage([], None)
    if not asked.counts_only:
        rows = desk_query.find(tx, requests_seen(viewer.actor), form.filter, viewer.actor.id,
                               asked.cursor)  # fmt: skip
    more = f"/desk?{here}&cursor={quote(rows.after)}" if rows.after else None
    matching = len(rows.rows)  # what "all requests of this filter" would act on (bulk bar)
    if rows.after and asked.full:
        matching = desk_query.count(tx, requests_seen(viewer.actor), form.filter, viewer.actor.id)
    return {"current": current, "form": form, "view": view, "here": here, "matching": matching,
            "page": queues.Page(rows.rows, None), "next_href": more,
            "modified": bool(view and form.given and form.query != view.query)}  # fmt: skip


def _load(request: Request, viewer: Viewer, asked: Asked) -> dict[str, Any]:
    key, after, as_of = asked.key, asked.after, asked.as_of
    with services(request).projections.db.read() as tx:
        sections = _queues(tx, viewer)
        flat = [q for _name, qs in sections for q in qs]
        counts = queues.counts(tx, [q.count_key for q in flat])
        counts[f"mentioned:{viewer.actor.id}"] = queues.mentioning_count(tx, viewer.actor.id)  # type: ignore[arg-type]
        assert viewer.actor.id is not None  # staff: an account
        saved = queue_views.seen_by(tx, viewer.actor.id)
        counts.update(_saved_counts(tx, viewer, saved))
        extra: dict[str, Any] = {"saved": saved, "form": desk_filters.read(asked.params)}
        if asked.full:
            extra["choices"] = desk_filters.choices(tx)
            extra["incidents"] = incident_rows(tx, ("open",))
            extra["templates"] = kb_queries.published_templates(tx)
        if asked.view_id is not None or key == "filter" or extra["form"].given:
            extra.update(_filtered(tx, viewer, asked, saved))
            rows = extra["page"]
            names = names_for(tx, rows.rows)
            sla = deadlines(tx, [r.id for r in rows.rows])
            return {"sections": sections, "counts": counts, "names": names, "sla": sla,
                    **extra}  # fmt: skip
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
    more = (f"/desk?queue={current.key}&after_number={rows.next_after}" if rows.next_after
            else None)  # fmt: skip
    return {"sections": sections, "current": current, "counts": counts, "page": rows,
            "names": names, "sla": sla, "here": f"queue={current.key}", "next_href": more,
            **extra}  # fmt: skip


@ui
async def desk(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    await wait_for_views(request)
    params = request.query_params
    part = params.get("part")
    view_id = params.get("view", "")[:40] or None
    if view_id is not None:
        try:
            view_id = str(UUID(view_id))
        except ValueError:
            raise NotFound("No such view.") from None
    as_of = _moment(params.get("as_of", ""))
    page_after = number(params.get("after_number", ""))
    asked = Asked(params.get("queue", "")[:80], view_id, page_after, params.get("cursor") or None,
                  as_of, params, part not in ("list", "counts"), part == "counts")  # fmt: skip
    data = await run_in_threadpool(_load, request, viewer, asked)
    status = 422 if data["form"].errors and asked.full else 200
    template = {"list": "desk/list.html", "counts": "desk/queues.html"}.get(
        part or "", "desk/page.html"
    )
    position = services(request).projections.positions.reached("tickets")
    account = await run_in_threadpool(services(request).desk.account_by_id, viewer.actor.id)
    away = getattr(account, "away", False)
    return page(request, template, status, nav="desk", position=position, away=away,
                as_of=as_of, **data)  # fmt: skip


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


def _view_command(form: Any, viewer: Viewer) -> SaveQueueView | DeleteQueueView:
    """The saved-view form's command: save the current filter as a new view, save it over the
    view shown (against the version the page showed), or delete that view."""
    op = str(form.get("op", "save"))
    try:
        view_id = UUID(str(form.get("view_id", ""))) if op != "save" else None
    except ValueError:
        raise NotFound("No such view.") from None
    if op == "delete" and view_id is not None:
        return DeleteQueueView(view_id)
    seen = number(str(form.get("version", "")))
    return SaveQueueView(str(form.get("name", "")), str(form.get("query", "")),
                         form.get("shared") == "1", view_id, seen if view_id else None)  # fmt: skip


@ui
async def save_view(request: Request, viewer: Viewer) -> Response:
    """Saves, changes or deletes a saved view (domain/setup/queue_views.py); a name or filter
    at fault shows the desk again with the form saying what to fix, nothing saved."""
    need(viewer, *STAFF_ROLES)
    form = await request.form()
    command = _view_command(form, viewer)
    desk_ = services(request).desk
    try:
        written = await run_in_threadpool(desk_.handle, viewer.actor, command)
    except InvalidInput as e:
        query = str(form.get("query", ""))[:4000]
        back = QueryParams(query) if isinstance(command, SaveQueueView) else QueryParams("")
        view_id = getattr(command, "view_id", None)
        view = str(view_id) if view_id else None
        asked = Asked("filter", view, None, None, None, back, True)
        data = await run_in_threadpool(_load, request, viewer, asked)
        position = services(request).projections.positions.reached("tickets")
        return page(request, "desk/page.html", 422, nav="desk", position=position, away=False,
                    as_of=None, save_error=translated(e.message), save_name=form.get("name", ""),
                    **data)  # fmt: skip
    if isinstance(command, DeleteQueueView):
        return RedirectResponse(f"/desk?after={written.position}", 303)
    return RedirectResponse(f"/desk?view={written.id}&after={written.position}", 303)


routes = [Route("/desk", desk), Route("/desk/away", set_away, methods=["POST"]),
          Route("/desk/views", save_view, methods=["POST"]),
          Route("/desk/bulk", bulk_actions.act, methods=["POST"]),
          Route("/desk/mentions", mentions.handles)]  # fmt: skip
