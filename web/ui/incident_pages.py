"""The mass-incident board, /incidents, and each incident's page, /incidents/{id}.

The board (all staff read it: developers, operations, curators, agents...) shows the proposals
the triggers made, the open incidents with their linked counts, and every trigger rule with its
count in its window now; it refreshes live (topics `incidents`, and `queues` for new requests).
An incident's page shows its public text, updates and linked requests (live too), and the forms
of those who may act: developers, operations and administrators open, dismiss, update and
resolve; whoever works requests links and unlinks them. The forms sit outside the live regions,
so a refresh never loses what is being typed; a refusal shows the page again with the message
and what was typed, and changes nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import WORKERS, Setup, may_set_up
from domain.errors import DeskError, InvalidInput, NotFound
from domain.incident_commands import BY_ACTION, IncidentCommand, OpenIncident
from domain.incidents import Criteria, IncidentStatus
from projections import catalog, queues
from projections import incidents as view
from web.auth import services
from web.body import path_id
from web.errors import STATUS
from web.http import wait_for_views
from web.incident_input import build
from web.ui import i18n
from web.ui.desk_pages import STAFF_ROLES
from web.ui.guard import Viewer, need, ui
from web.ui.refusals import translated
from web.ui.render import page


def _may_manage(viewer: Viewer) -> bool:
    return may_set_up(viewer.actor, Setup.MANAGE_INCIDENTS)


def _may_link(viewer: Viewer) -> bool:
    return viewer.actor.has(*WORKERS)


def _position(request: Request) -> int:
    positions = services(request).projections.positions
    return min(positions.reached("tickets"), positions.reached("incidents"))


def _board(request: Request) -> dict[str, Any]:
    svc = services(request)
    triggers = svc.desk.triggers()
    now = datetime.now(UTC)
    with svc.projections.db.read() as tx:
        counts = view.window_counts(tx, triggers.rules, now)
        proposals = view.incidents(tx, (IncidentStatus.PROPOSED.value,))
        opened = view.incidents(tx, (IncidentStatus.OPEN.value,))
        resolved = view.incidents(tx, (IncidentStatus.RESOLVED.value,), limit=10)
        categories = {c["id"]: c for c in catalog.categories(tx)}
    rules = []
    for r in triggers.rules:
        fired = triggers.fired.get(r.id)
        recent = fired is not None and fired[0] + timedelta(minutes=r.window_minutes) > now
        rules.append(
            {
                "rule": r,
                "count": counts[r.id].count,
                "usual": counts[r.id].usual,
                "fired": fired[0].isoformat() if fired else None,
                "recent": recent,
                "share": min(100, counts[r.id].count * 100 // max(r.threshold, 1)),
            }
        )
    return {
        "rules": rules,
        "proposals": proposals,
        "opened": opened,
        "resolved": resolved,
        "categories": categories,
    }


@ui
async def board(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    await wait_for_views(request)
    data = await run_in_threadpool(_board, request)
    template = (
        "incidents/live.html"
        if request.query_params.get("part") == "board"
        else "incidents/board.html"
    )
    position = _position(request)
    return page(
        request,
        template,
        headers={"X-Suz-Position": str(position)},
        nav="incidents",
        position=position,
        may_manage=_may_manage(viewer),
        typed={},
        error=None,
        **data,
    )


@ui
async def alerts(request: Request, viewer: Viewer) -> Response:
    """The proposals waiting for a decision, as a small fragment other pages may include."""
    need(viewer, *STAFF_ROLES)
    with services(request).projections.db.read() as tx:
        proposals = view.incidents(tx, (IncidentStatus.PROPOSED.value,), limit=5)
    return page(request, "incidents/alerts.html", proposals=proposals)


def _incident(request: Request, incident_id: UUID) -> dict[str, Any]:
    with services(request).projections.db.read() as tx:
        row = view.incident(tx, str(incident_id))
        if row is None:
            raise NotFound("No such incident.")
        linked = view.linked_requests(tx, row.id)
        news = view.updates(tx, row.id)
        names = catalog.account_names(tx, [u["by"] for u in news])
        categories = {c["id"]: c for c in catalog.categories(tx)}
    return {
        "incident": row,
        "requests": linked,
        "updates": news,
        "names": names,
        "categories": categories,
    }


async def _show(
    request: Request,
    viewer: Viewer,
    incident_id: UUID,
    status: int = 200,
    error: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    data = await run_in_threadpool(_incident, request, incident_id)
    template = (
        "incidents/incident_live.html"
        if request.query_params.get("part") == "live"
        else "incidents/incident.html"
    )
    position = _position(request)
    return page(
        request,
        template,
        status,
        {"X-Suz-Position": str(position)},
        nav="incidents",
        position=position,
        may_manage=_may_manage(viewer),
        may_link=_may_link(viewer),
        error=error,
        typed=typed or {},
        **data,
    )


@ui
async def incident_page(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    incident_id = path_id(request, "incident_id", "incident")
    await wait_for_views(request)
    return await _show(request, viewer, incident_id)


# -- actions ------------------------------------------------------------------------------------
def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "")[:20_000]


def _criteria(form: FormData) -> Criteria:
    category = _text(form, "category").strip()
    try:
        category_id = UUID(category) if category else None
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose from the list."), ["category"]) from None
    words = tuple(w.strip() for w in _text(form, "words").replace("\n", ",").split(","))
    return Criteria(category_id, words=tuple(w for w in words if w))


def _ticket_by_number(request: Request, text: str) -> UUID:
    number = text.strip().lstrip("№#").strip()
    if not number.isascii() or not number.isdigit():
        raise InvalidInput(i18n.gettext("Write the request's number."), ["number"])
    with services(request).projections.db.read() as tx:
        found = queues.ticket_id_by_number(tx, int(number))
    if found is None:
        raise NotFound("No such request.")
    return UUID(found)


class FormReader:
    """An incident form's fields, as web/incident_input.py asks for them."""

    def __init__(self, request: Request, form: FormData) -> None:
        self.request, self.form = request, form

    def text(self, name: str, default: str | None) -> str:
        return _text(self.form, name)

    def flag(self, name: str, default: bool) -> bool:
        return bool(self.form.get(name))  # a checkbox: sent only when ticked

    def uuid(self, name: str) -> UUID:
        try:
            return UUID(_text(self.form, name))
        except ValueError:
            raise NotFound("No such request.") from None  # the unlink form's hidden request id

    def opt_uuid(self, name: str) -> UUID | None:
        return self.uuid(name) if _text(self.form, name) else None

    def ids(self, name: str) -> tuple[UUID, ...]:
        return (_ticket_by_number(self.request, _text(self.form, "number")),)

    def criteria(self, name: str) -> Criteria | None:
        if "category" not in self.form and "words" not in self.form:
            return None  # a proposal is opened with its own criteria
        return _criteria(self.form)

    def moment(self, name: str) -> datetime | None:
        hours = _text(self.form, "since_hours").strip()
        if hours and not (hours.isdigit() and int(hours) <= 24 * 7):
            raise InvalidInput(
                i18n.gettext("Hours back: a whole number up to a week."), ["since_hours"]
            )
        return (datetime.now(UTC) - timedelta(hours=int(hours))) if hours else None


def _act(
    request: Request, viewer: Viewer, kind: type[IncidentCommand], given: dict[str, UUID],
    form: FormData,
) -> tuple[UUID, int]:  # fmt: skip
    """Runs one action; returns the incident to show next and the log position written."""
    command = build(kind, FormReader(request, form), **given)
    w = services(request).desk.handle(viewer.actor, command)
    return w.id, w.position


def _page_given(kind: type[IncidentCommand], incident_id: UUID) -> dict[str, UUID]:
    """The page's incident, as the command names it (a proposal to open, or the incident)."""
    names = {f.name for f in dataclasses.fields(kind)}
    return {"incident_id" if "incident_id" in names else "proposal_id": incident_id}


@ui
async def act(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    kind = BY_ACTION.get(request.path_params["action"])
    if kind is None:
        raise NotFound("No such action.")
    incident_id = path_id(request, "incident_id", "incident")
    form = await request.form()
    given = _page_given(kind, incident_id)
    try:
        shown, at = await run_in_threadpool(_act, request, viewer, kind, given, form)
    except NotFound:
        raise
    except DeskError as e:
        status = next((s for c, s in STATUS.items() if isinstance(e, c)), 400)
        typed = {
            k: _text(form, k)
            for k in ("title", "description", "reason", "body", "answer", "number")
        }
        return await _show(request, viewer, incident_id, status, translated(e.message), typed)
    return RedirectResponse(f"/incidents/{shown}?after={at}", 303)


@ui
async def open_new(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    form = await request.form()
    try:
        shown, at = await run_in_threadpool(_act, request, viewer, OpenIncident, {}, form)
    except DeskError as e:
        status = next((s for c, s in STATUS.items() if isinstance(e, c)), 400)
        data = await run_in_threadpool(_board, request)
        typed = {
            k: _text(form, k) for k in ("title", "description", "category", "words", "since_hours")
        }
        position = _position(request)
        return page(
            request,
            "incidents/board.html",
            status,
            nav="incidents",
            position=position,
            may_manage=_may_manage(viewer),
            typed=typed,
            error=translated(e.message),
            **data,
        )
    return RedirectResponse(f"/incidents/{shown}?after={at}", 303)


routes = [
    Route("/incidents", board),
    Route("/incidents/alerts", alerts),
    Route("/incidents/new", open_new, methods=["POST"]),
    Route("/incidents/{incident_id}", incident_page),
    Route("/incidents/{incident_id}/{action}", act, methods=["POST"]),
]
