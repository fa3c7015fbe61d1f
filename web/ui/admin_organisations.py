"""The administrators' organisation pages: the organisations (name, INN, KPP, how many
accounts), registering one (`RegisterOrganisation`: the INN's check digits are checked and the
INN is claimed, so two organisations never share one; the KPP is checked as the EIS field type
checks it, domain/eis_fields.py), an organisation's page (its members, its history) and its form
(`EditOrganisation`: name, KPP, legal and postal addresses against the version shown; the INN
stays, it is the organisation's claimed key).

An account's organisation is set when it is registered: members are added by registering their
accounts (the page links to the account form with the organisation chosen).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain import eis_fields
from domain.access import Setup
from domain.errors import DeskError, InvalidInput
from domain.people import Organisation, checked_details
from domain.setup.people import EditOrganisation, RegisterOrganisation
from projections import admin_queries
from web.auth import services
from web.ui import i18n
from web.ui.admin_accounts import ROLE_NAMES
from web.ui.admin_forms import (
    Step,
    allowed,
    caught_up,
    history,
    load,
    problem,
    text,
    uuid_or_none,
    version,
)
from web.ui.guard import Viewer, ui
from web.ui.i18n import lazy
from web.ui.render import page

NO_ORGANISATION = lazy("No such organisation.")
DETAILS = (("kpp", 20), ("legal_address", 500), ("postal_address", 500))
HISTORY = {
    "Registered": lazy("Registered"),
    "Renamed": lazy("Renamed"),
    "DetailsChanged": lazy("KPP and addresses changed"),
}


def _list(request: Request) -> list[dict[str, Any]]:
    with services(request).projections.db.read() as tx:
        return admin_queries.organisations(tx)


async def _organisations(request: Request, status: int = 200,
                         typed: dict[str, str] | None = None,
                         errors: dict[str, str] | None = None,
                         error: str | None = None) -> Response:  # fmt: skip
    organisations = await run_in_threadpool(_list, request)
    return page(request, "admin/organisations.html", status, nav="admin",
                organisations=organisations, typed=typed or {}, errors=errors or {},
                error=error)  # fmt: skip


@ui
async def organisations_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.REGISTER_ORGANISATION)
    return await _organisations(request)


@ui
async def register_organisation(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.REGISTER_ORGANISATION)
    form = await request.form()
    typed = {"name": text(form, "name", 200), "inn": text(form, "inn", 20)}
    typed |= {name: text(form, name, limit + 1) for name, limit in DETAILS}
    try:
        if not typed["name"]:
            raise InvalidInput(i18n.gettext("Give the organisation a name."), ["name"])
        try:  # what is wrong with it: its shape or its check digits (domain/eis_fields.py)
            typed["inn"] = eis_fields.inn(typed["inn"])
        except eis_fields.Refused as e:
            message = i18n.gettext(e.template).format(label=i18n.gettext("INN"))
            raise InvalidInput(message, ["inn"]) from None
        checked_details(typed["kpp"], typed["legal_address"], typed["postal_address"])
        command = RegisterOrganisation(typed["name"], typed["inn"], typed["kpp"],
                                       typed["legal_address"], typed["postal_address"])  # fmt: skip
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        status, errors, message = problem(e)
        return await _organisations(request, status, typed, errors, message)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/organisations/{w.id}?done=registered", 303)


def _members(request: Request, organisation_id: UUID) -> list[admin_queries.AccountRow]:
    with services(request).projections.db.read() as tx:
        return admin_queries.organisation_members(tx, str(organisation_id))


async def _organisation(request: Request, organisation: Organisation, status: int = 200,
                        typed: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None,
                        error: str | None = None) -> Response:  # fmt: skip
    members = await run_in_threadpool(_members, request, organisation.id)
    steps = await run_in_threadpool(_history, request, organisation.id)
    shown = typed or {"name": organisation.name, "kpp": organisation.kpp,
                      "legal_address": organisation.legal_address,
                      "postal_address": organisation.postal_address}  # fmt: skip
    return page(request, "admin/organisation.html", status, nav="admin", organisation=organisation,
                members=members, role_names=ROLE_NAMES, history=steps, typed=shown,
                errors=errors or {}, error=error,
                done=request.query_params.get("done", ""))  # fmt: skip


def _history(request: Request, organisation_id: UUID) -> list[Step]:
    def detail(kind: str, e: Any) -> str:
        if kind == "DetailsChanged":
            parts = [f"{i18n.gettext('KPP')} {e.kpp}" if e.kpp else "", e.legal_address,
                     e.postal_address]  # fmt: skip
            return "; ".join(p for p in parts if p) or "—"
        return str(e.name)

    return history(request, organisation_id, HISTORY, detail)


def _organisation_id(request: Request) -> UUID | None:
    return uuid_or_none(str(request.path_params["organisation_id"]))


@ui
async def organisation_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.REGISTER_ORGANISATION)
    organisation = await load(request, Organisation, _organisation_id(request), NO_ORGANISATION)
    return await _organisation(request, organisation)


@ui
async def edit_organisation(request: Request, viewer: Viewer) -> Response:
    """Name, KPP and addresses, against the version the form showed (a stale form: 409)."""
    allowed(viewer, Setup.EDIT_ORGANISATION)
    organisation = await load(request, Organisation, _organisation_id(request), NO_ORGANISATION)
    form = await request.form()
    typed = {"name": text(form, "name", 201)}
    typed |= {name: text(form, name, limit + 1) for name, limit in DETAILS}
    try:
        if not typed["name"]:
            raise InvalidInput(i18n.gettext("Give the organisation a name."), ["name"])
        command = EditOrganisation(organisation.id, version(form), typed["name"], typed["kpp"],
                                   typed["legal_address"], typed["postal_address"])  # fmt: skip
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        status, errors, message = problem(e)
        return await _organisation(request, organisation, status, typed, errors, message)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/organisations/{organisation.id}?done=saved", 303)


routes = [
    Route("/admin/organisations", organisations_page),
    Route("/admin/organisations", register_organisation, methods=["POST"]),
    Route("/admin/organisations/{organisation_id}", organisation_page),
    Route("/admin/organisations/{organisation_id}", edit_organisation, methods=["POST"]),
]
