"""The administrators' group pages: the groups and support lines, forming one, its members
(joining and leaving are the account's events) and its lead, appointed against the version of the
group the page showed.

Every change is a set-up command (domain/setup/people.py) handed to `Desk.handle`; each page is
for whoever the command's policy line lets send it, and anybody else is refused before the form
is read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Setup
from domain.errors import DeskError, InvalidInput
from domain.people import Group, GroupKind, Role
from domain.setup.people import AppointGroupLead, FormGroup, JoinGroup, LeaveGroup
from projections import admin_queries, catalog
from web.auth import services
from web.ui import i18n
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

KIND_NAMES = {
    GroupKind.LINE_1: lazy("Line 1"), GroupKind.LINE_2: lazy("Line 2"),
    GroupKind.LINE_3: lazy("Line 3"), GroupKind.METHODOLOGY: lazy("Methodology"),
    GroupKind.ANALYTICS: lazy("Analytics"), GroupKind.DEVELOPMENT: lazy("Development"),
    GroupKind.OPERATIONS: lazy("Operations"), GroupKind.QUALITY: lazy("Quality"),
}  # fmt: skip
NO_GROUP = lazy("No such group.")
HISTORY = {"Formed": lazy("Formed"), "LeadAppointed": lazy("Lead appointed")}


def _overview(request: Request) -> dict[str, Any]:
    with services(request).projections.db.read() as tx:
        groups = catalog.groups(tx)
        sizes = admin_queries.group_sizes(tx)
        leads = catalog.account_names(tx, {g["lead_id"] for g in groups})
    return {"groups": groups, "sizes": sizes, "leads": leads}


async def _groups(request: Request, status: int = 200, typed: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, error: str | None = None
                  ) -> Response:  # fmt: skip
    data = await run_in_threadpool(_overview, request)
    return page(request, "admin/groups.html", status, nav="admin", kinds=list(GroupKind),
                kind_names=KIND_NAMES, typed=typed or {"kind": GroupKind.LINE_1.value},
                errors=errors or {}, error=error, **data)  # fmt: skip


@ui
async def groups_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.FORM_GROUP)
    return await _groups(request)


@ui
async def form_group(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.FORM_GROUP)
    form = await request.form()
    typed = {"name": text(form, "name", 200), "kind": text(form, "kind", 40)}
    try:
        try:
            kind = GroupKind(typed["kind"])
        except ValueError:
            raise InvalidInput(i18n.gettext("Choose from the list."), ["kind"]) from None
        if not typed["name"]:
            raise InvalidInput(i18n.gettext("Give the group a name."), ["name"])
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor,
                                    FormGroup(typed["name"], kind))  # fmt: skip
    except DeskError as e:
        status, errors, message = problem(e)
        return await _groups(request, status, typed, errors, message)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/groups/{w.id}?done=formed", 303)


# -- one group ----------------------------------------------------------------------------------
def _people(request: Request, group_id: UUID) -> dict[str, Any]:
    with services(request).projections.db.read() as tx:
        members = admin_queries.group_members(tx, str(group_id))
        staff = catalog.staff(tx)
    inside = {m.id for m in members}
    leads = [m for m in members if not m.disabled and Role.AGENT.value in m.roles]
    candidates = [s for s in staff if s["id"] not in inside]
    return {"members": members, "candidates": candidates, "leads": leads}


async def _group(request: Request, group: Group, status: int = 200,
                 errors: dict[str, str] | None = None, error: str | None = None
                 ) -> Response:  # fmt: skip
    people = await run_in_threadpool(_people, request, group.id)
    steps = await run_in_threadpool(_history, request, group.id)
    return page(request, "admin/group.html", status, nav="admin", group=group, history=steps,
                kind_names=KIND_NAMES, errors=errors or {}, error=error,
                done=request.query_params.get("done", ""), **people)  # fmt: skip


def _history(request: Request, group_id: UUID) -> list[Step]:
    def detail(kind: str, e: Any) -> str:
        if kind == "LeadAppointed":
            return str(e.lead_id or "")  # an id, named below
        return i18n.gettext(KIND_NAMES[e.kind])

    steps = history(request, group_id, HISTORY, detail)
    leads = [s.detail for s in steps if s.kind == "LeadAppointed" and s.detail]
    with services(request).projections.db.read() as tx:
        names = catalog.account_names(tx, leads)
    nobody = i18n.gettext("no lead")
    return [replace(s, detail=names.get(s.detail, s.detail) if s.detail else nobody)
            if s.kind == "LeadAppointed" else s for s in steps]  # fmt: skip


def _group_id(request: Request) -> UUID | None:
    return uuid_or_none(str(request.path_params["group_id"]))


@ui
async def group_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.APPOINT_GROUP_LEAD)
    group = await load(request, Group, _group_id(request), NO_GROUP)
    return await _group(request, group)


@ui
async def appoint_lead(request: Request, viewer: Viewer) -> Response:
    """The lead (an active agent of the group, or nobody), against the group's version shown."""
    allowed(viewer, Setup.APPOINT_GROUP_LEAD)
    group = await load(request, Group, _group_id(request), NO_GROUP)
    form = await request.form()
    chosen = text(form, "lead")
    lead = uuid_or_none(chosen)
    try:
        if chosen and lead is None:
            raise InvalidInput(i18n.gettext("Choose from the list."), ["lead"])
        command = AppointGroupLead(group.id, lead, version(form))
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        status, errors, message = problem(e)
        if "lead_id" in errors:
            errors["lead"] = errors["lead_id"]
        return await _group(request, group, status, errors, message)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/groups/{group.id}?done=lead", 303)


@ui
async def add_member(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, JoinGroup.policy)  # before the form is read
    account = text(await request.form(), "account")
    return await _membership(request, viewer, JoinGroup, account, "joined")


@ui
async def remove_member(request: Request, viewer: Viewer) -> Response:
    return await _membership(request, viewer, LeaveGroup, str(request.path_params["account_id"]),
                             "left")  # fmt: skip


async def _membership(request: Request, viewer: Viewer, change: type[JoinGroup | LeaveGroup],
                      account_text: str, done: str) -> Response:  # fmt: skip
    """Adds an account to the group or takes it out: the group's page again, with what was wrong
    at the account field, or back to it saying what was done."""
    allowed(viewer, change.policy)
    group = await load(request, Group, _group_id(request), NO_GROUP)
    account = uuid_or_none(account_text)
    try:
        if account is None:
            raise InvalidInput(i18n.gettext("Choose from the list."), ["account"])
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor,
                                    change(account, group.id))  # fmt: skip
    except DeskError as e:
        status, errors, message = problem(e)
        if status == 404 and change is JoinGroup:  # an account not there: a wrong choice here
            status, errors = 422, {"account": message}
        return await _group(request, group, status, errors, message)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/groups/{group.id}?done={done}", 303)


routes = [
    Route("/admin/groups", groups_page),
    Route("/admin/groups", form_group, methods=["POST"]),
    Route("/admin/groups/{group_id}", group_page),
    Route("/admin/groups/{group_id}/lead", appoint_lead, methods=["POST"]),
    Route("/admin/groups/{group_id}/members", add_member, methods=["POST"]),
    Route("/admin/groups/{group_id}/members/{account_id}/remove", remove_member, methods=["POST"]),
]
