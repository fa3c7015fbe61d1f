"""The auditor's pages: a ticket as it was at any version (`/t/{id}/history`), with its hash
chain verified, and `/audit`, where auditors, curators and administrators run a whole-store
verification in the background and see the last one's result, seal the log's head, and check
the store against the seals.

No script is needed: the slider is a range input in a GET form.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from audit.checks import last_check
from audit.seals import last_seal, last_seal_check, make_seal
from domain.errors import InvalidInput
from domain.integrity import verify_aggregate
from web.audit_export import may_audit, start_full_check
from web.audit_seals import start_seal_check
from web.auth import services
from web.history_api import History, history
from web.ui import i18n
from web.ui.guard import NotAllowed, Viewer, need, ui
from web.ui.render import page
from web.ui.ticket_pages import _category, _names, _ticket_id


def _version(request: Request) -> int | None:
    raw = request.query_params.get("version", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(i18n.gettext("The version must be a whole number."), ["version"])
    return int(raw)


@ui
async def history_page(request: Request, viewer: Viewer) -> Response:
    ticket_id = _ticket_id(request)
    version = _version(request)
    as_requester = request.query_params.get("as") == "requester"
    svc = services(request)

    def load() -> dict[str, Any]:
        h: History = history(svc.desk, viewer.actor, ticket_id, version=version,
                             as_requester=as_requester)  # fmt: skip
        context: dict[str, Any] = {"h": h, "ticket": h.ticket, "entries": h.entries}
        with svc.projections.db.read() as tx:
            category = _category(tx, h.ticket)
            context["category"] = category
            context["labels"] = {f["key"]: f for f in category["form"]}
            context["names"] = _names(tx, h.ticket, h.entries)
        if viewer.staff:
            context["integrity"] = verify_aggregate(svc.desk, ticket_id)
        return context

    context = await run_in_threadpool(load)
    return page(request, "history/ticket.html", nav="desk" if viewer.staff else "my",
                as_requester=as_requester, **context)  # fmt: skip


@ui
async def audit_page(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    if not may_audit(viewer.actor):
        raise NotAllowed
    svc = services(request)
    db = svc.projections.db
    if request.method == "POST":
        action = (await request.form()).get("action", "check")
        if action == "seal":
            sealed = await run_in_threadpool(make_seal, svc.settings, svc.desk, db)
            return RedirectResponse("/audit" + ("?sealed=1" if sealed else "?unmoved=1"), 303)
        if action == "check_seals":
            started = await start_seal_check(svc.settings, svc.desk, db)
        else:
            started = await start_full_check(svc.desk, db)
        return RedirectResponse("/audit" + ("" if started else "?busy=1"), 303)

    def load() -> dict[str, Any]:
        return {"check": last_check(db), "seal": last_seal(db), "seal_check": last_seal_check(db)}

    context = await run_in_threadpool(load)
    flag = request.query_params.get
    return page(
        request,
        "audit/page.html",
        nav="audit",
        busy=flag("busy") == "1",
        sealed=flag("sealed") == "1",
        unmoved=flag("unmoved") == "1",
        **context,
    )


routes = [
    Route("/t/{ticket_id}/history", history_page),
    Route("/audit", audit_page, methods=["GET", "POST"]),
]
