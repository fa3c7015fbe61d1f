"""Register a call (/calls/new): line 1 files a phone consultation as a request on the caller's
behalf (issue 16). The caller is found as the agent types (name, INN, login, e-mail or phone:
projections/caller_search.py), the category asks for its fields (the public form's own
fragment, /new/fields), and the call is resolved on the phone, left open, or escalated to a
line 2 group, in one save (domain/calls.py). Then the request's page.

Staff who work requests only (not requesters, visitors, auditors or curators): refused before
any form is read or anything searched."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.category import FieldSpec
from domain.errors import InvalidInput
from projections import caller_search, catalog
from web.auth import services
from web.body import Body
from web.calls_api import call_from
from web.errors import ApiError
from web.http import wait_for_views
from web.ui import i18n
from web.ui.guard import NotAllowed, Viewer, staff_only, ui
from web.ui.refusals import translated
from web.ui.render import is_htmx, page
from web.ui.requester_forms import errors_from, posted, spec_of, typed_values

OUTCOMES = ("resolved", "open", "escalate")
# fields whose message is the domain's own (the public form's words are for requesters)
OWN_MESSAGES = {"caller", "organisation", "contact_name", "contact_email", "phone", "resolution",
                "escalate_to", "reason", "category"}  # fmt: skip


def _works(viewer: Viewer) -> None:
    if not viewer.works_tickets:
        raise NotAllowed


def _name(c: dict[str, Any]) -> str:
    first, second = ("name_ru", "name_en") if i18n.current() == "ru" else ("name_en", "name_ru")
    return str(c.get(first) or c.get(second) or "")


def _lookups(request: Request, chosen: str = "") -> dict[str, Any]:
    """The categories with their fields, the line 2 groups, and the chosen caller, if any."""
    with services(request).projections.db.read() as tx:
        categories = catalog.categories(tx)
        line2 = [g for g in catalog.groups(tx) if g["kind"] == "line2"]
        caller = caller_search.caller(tx, chosen) if chosen else None
    for c in categories:
        c["specs"] = [spec_of(f) for f in c["form"]]
    categories.sort(key=lambda c: _name(c).lower())
    return {"categories": categories, "line2": line2, "chosen_caller": caller}


def _form(request: Request, status: int = 200, **ctx: Any) -> Response:
    values: dict[str, str] = ctx.pop("values", {})
    current = next((c for c in ctx["categories"] if c["id"] == values.get("category")), None)
    return page(request, "calls/new.html", status, nav="calls", values=values,
                errors=ctx.pop("errors", {}), chosen=current["id"] if current else "",
                specs=current["specs"] if current else [],
                helps=current["help"] if current else {}, **ctx)  # fmt: skip


@ui
@staff_only
async def new_call(request: Request, viewer: Viewer) -> Response:
    _works(viewer)
    await wait_for_views(request)
    lookups = await run_in_threadpool(_lookups, request)
    return _form(request, values={"outcome": "resolved"}, **lookups)


@ui
@staff_only
async def find_callers(request: Request, viewer: Viewer) -> Response:
    """The callers matching what is typed (or an organisation's people), as choices."""
    _works(viewer)
    await wait_for_views(request)
    text = request.query_params.get("q", "")[:200]
    organisation = request.query_params.get("organisation", "")

    def find() -> list[caller_search.Caller]:
        with services(request).projections.db.read() as tx:
            if organisation:
                return caller_search.people_of(tx, organisation)
            return caller_search.search(tx, text)

    found = await run_in_threadpool(find)
    return page(request, "calls/results.html", callers=found, q=text, people=bool(organisation))


@ui
@staff_only
async def chosen_caller(request: Request, viewer: Viewer) -> Response:
    """The form's caller part for the chosen account or organisation (none: a new contact)."""
    _works(viewer)
    chosen = request.query_params.get("id", "")

    def find() -> caller_search.Caller | None:
        with services(request).projections.db.read() as tx:
            return caller_search.caller(tx, chosen) if chosen else None

    return page(request, "calls/chosen.html", chosen_caller=await run_in_threadpool(find),
                values={}, errors={})  # fmt: skip


def _values(form: Any) -> dict[str, str]:
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    values.pop("csrf_token", None)
    return values


def _body(values: dict[str, str], raw: dict[str, str]) -> Body:
    """The form as the API's body: only the outcome chosen carries its fields."""
    data: dict[str, Any] = {
        k: values.get(k, "")
        for k in (
            "category",
            "subject",
            "description",
            "contact_name",
            "contact_email",
            "phone",
            "reason",
        )
    }
    data["fields"] = {k: v for k, v in raw.items() if v}
    for key in ("caller", "organisation"):
        data[key] = values.get(key) or None
    outcome = values.get("outcome", "resolved")
    data["resolution"] = values.get("resolution", "") if outcome == "resolved" else None
    data["escalate_to"] = (values.get("escalate_to") or None) if outcome == "escalate" else None
    if outcome != "escalate":
        data["reason"] = ""
    return Body(data)  # fmt: skip


def _errors(
    e: InvalidInput | ApiError, specs: list[FieldSpec], raw: dict[str, str]
) -> dict[str, str]:
    if isinstance(e, ApiError):
        return {f: translated(e.message) for f in e.fields} or {"": translated(e.message)}
    found = errors_from(e, specs, raw)
    for key in e.fields:
        if key in OWN_MESSAGES:
            found[key] = translated(e.message)
    return found


@ui
@staff_only
async def register_call(request: Request, viewer: Viewer) -> Response:
    _works(viewer)  # before the form is read
    svc = services(request)
    async with posted(request) as p:
        values = _values(p.form)
        if values.get("outcome") not in OUTCOMES:
            values["outcome"] = "resolved"
        chosen = values.get("caller") or values.get("organisation") or ""
        try:
            UUID(chosen) if chosen else None
        except ValueError:
            chosen = ""
        lookups = await run_in_threadpool(_lookups, request, chosen)
        current = next((c for c in lookups["categories"] if c["id"] == values.get("category")),
                       None)  # fmt: skip
        specs: list[FieldSpec] = current["specs"] if current else []
        raw, _files = typed_values(specs, p.form)
        try:
            if current is None:
                raise InvalidInput(i18n.gettext("Choose the category of the call."), ["category"])
            call = _body(values, raw)
            filed = await run_in_threadpool(svc.desk.register_call, viewer.actor, call_from(call))
        except (InvalidInput, ApiError) as e:
            if isinstance(e, ApiError) and e.status != 422:
                raise
            return _form(request, 422, values=values, errors=_errors(e, specs, raw), **lookups)
    target = f"/t/{filed.id}?after={filed.position}"
    headers = {"X-Suz-Position": str(filed.position)}
    if is_htmx(request):
        return Response(status_code=204, headers={**headers, "HX-Redirect": target})
    return RedirectResponse(target, 303, headers)


routes = [
    Route("/calls/new", new_call),
    Route("/calls/callers", find_callers),
    Route("/calls/caller", chosen_caller),
    Route("/calls", register_call, methods=["POST"]),
]
