"""The administrators' organisation pages: the organisations (name, INN, how many accounts),
registering one (`RegisterOrganisation`: the INN's check digits are checked and the INN is
claimed, so two organisations never share one) and an organisation's members.

The domain keeps an organisation's name and INN only (no KPP or addresses yet), and an account's
organisation is set when it is registered: members are added by registering their accounts
(the page links to the account form with the organisation chosen).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Setup
from domain.errors import DeskError, InvalidInput
from domain.people import Organisation, is_valid_inn
from domain.setup.people import RegisterOrganisation
from projections import admin_queries
from web.auth import services
from web.ui import i18n
from web.ui.admin_accounts import ROLE_NAMES
from web.ui.admin_forms import allowed, caught_up, load, problem, text, uuid_or_none
from web.ui.guard import Viewer, ui
from web.ui.i18n import lazy
from web.ui.render import page

NO_ORGANISATION = lazy("No such organisation.")


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
    try:
        if not typed["name"]:
            raise InvalidInput(i18n.gettext("Give the organisation a name."), ["name"])
        if not is_valid_inn(typed["inn"]):
            raise InvalidInput(
                i18n.gettext("The INN must be 10 or 12 digits with correct check digits."),
                ["inn"],
            )
        command = RegisterOrganisation(typed["name"], typed["inn"])
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        status, errors, message = problem(e)
        return await _organisations(request, status, typed, errors, message)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/organisations/{w.id}?done=registered", 303)


def _members(request: Request, organisation_id: UUID) -> list[admin_queries.AccountRow]:
    with services(request).projections.db.read() as tx:
        return admin_queries.organisation_members(tx, str(organisation_id))


@ui
async def organisation_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.REGISTER_ORGANISATION)
    organisation_id = uuid_or_none(str(request.path_params["organisation_id"]))
    organisation = await load(request, Organisation, organisation_id, NO_ORGANISATION)
    members = await run_in_threadpool(_members, request, organisation.id)
    return page(request, "admin/organisation.html", nav="admin", organisation=organisation,
                members=members, role_names=ROLE_NAMES,
                done=request.query_params.get("done", ""))  # fmt: skip


routes = [
    Route("/admin/organisations", organisations_page),
    Route("/admin/organisations", register_organisation, methods=["POST"]),
    Route("/admin/organisations/{organisation_id}", organisation_page),
]
