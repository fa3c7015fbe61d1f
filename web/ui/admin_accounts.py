"""The administrators' account pages: find accounts, register one (roles, groups, an initial
password), edit its roles and groups against the version the form showed, disable or enable it,
set a new password.

Every change is a set-up command (domain/setup/people.py) handed to `Desk.handle`, so each is an
event of the account, listed on its page. Each page is for whoever the command's policy line
lets send it (administrators); anybody else is refused before the form is read. A refusal shows
the form again with what was typed and the message at the field, and changes nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Setup
from domain.errors import DeskError, InvalidInput, NotFound
from domain.people import Account, Role
from domain.setup.dispatch import ACCOUNT_ACTIONS
from domain.setup.people import (
    DisableAccount,
    EditAccount,
    EnableAccount,
    JoinGroup,
    RegisterAccount,
)
from projections import admin_queries, catalog
from web.auth import services
from web.credentials import set_password
from web.passwords import MAX_LENGTH, MIN_LENGTH
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
from web.ui.render import is_htmx, page

ROLE_NAMES = {
    Role.REQUESTER: lazy("Requester"), Role.AGENT: lazy("Agent"),
    Role.METHODOLOGIST: lazy("Methodologist"), Role.ANALYST: lazy("Analyst"),
    Role.DEVELOPER: lazy("Developer"), Role.OPERATIONS: lazy("Operations"),
    Role.QUALITY: lazy("Quality reviewer"), Role.CURATOR: lazy("Curator"),
    Role.AUDITOR: lazy("Auditor"), Role.ADMIN: lazy("Administrator"),
}  # fmt: skip
HISTORY = {
    "Registered": lazy("Registered"), "RolesChanged": lazy("Roles changed"),
    "JoinedGroup": lazy("Joined a group"), "LeftGroup": lazy("Left a group"),
    "Disabled": lazy("Disabled"), "Enabled": lazy("Enabled"),
    "PasswordChanged": lazy("Password changed"), "PasswordSet": lazy("Password changed"),
    "AvailabilityChanged": lazy("Away or back"),
    "NotificationPreferencesSet": lazy("Notification choices changed"),
}  # fmt: skip


def _lists(request: Request) -> dict[str, Any]:
    with services(request).projections.db.read() as tx:
        return {"groups": catalog.groups(tx), "organisations": catalog.organisations(tx),
                "roles": list(Role), "role_names": ROLE_NAMES}  # fmt: skip


# -- the list -----------------------------------------------------------------------------------
@ui
async def accounts_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.REGISTER_ACCOUNT)
    q = request.query_params
    typed, role, state = q.get("q", "")[:200], q.get("role", ""), q.get("state", "")
    role = role if role in set(Role) else ""

    def read() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            found, more = admin_queries.find_accounts(tx, typed, role, state)
            names = catalog.group_names(tx, {g for a in found for g in a.group_ids})
        return {"accounts": found, "more": more, "group_names": names}

    data = await run_in_threadpool(read)
    lists = await run_in_threadpool(_lists, request)
    name = "admin/account_rows.html" if is_htmx(request) else "admin/accounts.html"
    return page(request, name, nav="admin", q=typed, role=role, state=state, **data, **lists)


# -- registering --------------------------------------------------------------------------------
def _roles(form: FormData) -> tuple[Role, ...]:
    try:
        return tuple(Role(str(r)) for r in form.getlist("roles"))
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose from the list."), ["roles"]) from None


def _groups(form: FormData, known: list[dict[str, Any]]) -> tuple[UUID, ...]:
    ids = {str(g["id"]) for g in known}
    chosen = [str(g) for g in form.getlist("groups")]
    if any(g not in ids for g in chosen):
        raise InvalidInput(i18n.gettext("Choose from the list."), ["groups"])
    return tuple(UUID(g) for g in dict.fromkeys(chosen))


def _check_password(password: str, login: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(i18n.gettext("The password must be at least {n} characters long.")
                           .format(n=MIN_LENGTH), ["password"])  # fmt: skip
    if len(password) > MAX_LENGTH:
        raise InvalidInput(i18n.gettext("The password is too long."), ["password"])
    if login and password.strip().lower() == login.strip().lower():
        raise InvalidInput(i18n.gettext("The password must not be the login."), ["password"])


def _typed(form: FormData) -> dict[str, Any]:
    return {"login": text(form, "login", 64), "display_name": text(form, "display_name", 200),
            "email": text(form, "email", 200), "phone": text(form, "phone", 40),
            "organisation": text(form, "organisation"),
            "roles": [str(r) for r in form.getlist("roles")],
            "groups": [str(g) for g in form.getlist("groups")]}  # fmt: skip


@ui
async def new_account(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.REGISTER_ACCOUNT)
    lists = await run_in_threadpool(_lists, request)
    organisation = uuid_or_none(request.query_params.get("organisation", ""))
    if organisation is not None:  # from an organisation's page: one of its requesters
        typed = {"roles": [Role.REQUESTER.value], "groups": [], "organisation": str(organisation)}
    else:
        typed = {"roles": [Role.AGENT.value], "groups": []}
    return page(request, "admin/account_new.html", nav="admin", typed=typed, errors={},
                error=None, **lists)  # fmt: skip


@ui
async def register_account(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.REGISTER_ACCOUNT)
    form = await request.form()
    lists = await run_in_threadpool(_lists, request)
    typed = _typed(form)
    svc = services(request)
    try:
        roles, groups = _roles(form), _groups(form, lists["groups"])
        organisation = uuid_or_none(typed["organisation"])
        if typed["organisation"] and organisation is None:
            raise InvalidInput(i18n.gettext("Choose from the list."), ["organisation"])
        password = str(form.get("password") or "")
        _check_password(password, typed["login"])
        command = RegisterAccount(typed["login"], typed["display_name"], roles, organisation,
                                  typed["email"], typed["phone"])  # fmt: skip
        w = await run_in_threadpool(svc.desk.handle, viewer.actor, command)
        for group_id in groups:
            w = await run_in_threadpool(svc.desk.handle, viewer.actor, JoinGroup(w.id, group_id))
        w = await run_in_threadpool(set_password, svc.desk, svc.sessions, svc.passwords,
                                    viewer.actor, w.id, password)  # fmt: skip
    except DeskError as e:
        status, errors, message = problem(e)
        return page(request, "admin/account_new.html", status, nav="admin", typed=typed,
                    errors=errors, error=message, **lists)  # fmt: skip
    await caught_up(request, w)
    return RedirectResponse(f"/admin/accounts/{w.id}?done=registered", 303)


# -- one account --------------------------------------------------------------------------------
def _history(request: Request, account_id: UUID, group_names: dict[str, str]) -> list[Step]:
    def detail(kind: str, e: Any) -> str:
        if kind in ("RolesChanged", "Registered"):
            return ", ".join(i18n.gettext(ROLE_NAMES[r]) for r in e.roles)
        if kind in ("JoinedGroup", "LeftGroup"):
            return group_names.get(str(e.group_id), str(e.group_id))
        return ""

    return history(request, account_id, HISTORY, detail)


async def _account(request: Request, account: Account, status: int = 200,
                   errors: dict[str, str] | None = None, error: str | None = None,
                   typed: dict[str, Any] | None = None) -> Response:  # fmt: skip
    lists = await run_in_threadpool(_lists, request)
    names = {str(g["id"]): str(g["name"]) for g in lists["groups"]}
    organisation = ""
    if account.organisation_id is not None:
        orgs = {str(o["id"]): str(o["name"]) for o in lists["organisations"]}
        organisation = orgs.get(str(account.organisation_id), "")
    steps = await run_in_threadpool(_history, request, account.id, names)
    shown = typed or {"roles": [r.value for r in account.roles],
                      "groups": [str(g) for g in account.group_ids],
                      "version": account.version}  # fmt: skip
    done = request.query_params.get("done", "")
    return page(request, "admin/account.html", status, nav="admin", account=account,
                organisation=organisation, typed=shown, errors=errors or {}, error=error,
                history=steps, done=done, group_names=names, **lists)  # fmt: skip


def _account_id(request: Request) -> UUID | None:
    return uuid_or_none(str(request.path_params["account_id"]))


@ui
async def account_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.EDIT_ACCOUNT)
    account = await load(request, Account, _account_id(request), lazy("No such account."))
    return await _account(request, account)


@ui
async def edit_account(request: Request, viewer: Viewer) -> Response:
    """Roles and groups as a whole, against the version the form showed."""
    allowed(viewer, Setup.EDIT_ACCOUNT)
    account = await load(request, Account, _account_id(request), lazy("No such account."))
    form = await request.form()
    lists = await run_in_threadpool(_lists, request)
    typed = {"roles": [str(r) for r in form.getlist("roles")],
             "groups": [str(g) for g in form.getlist("groups")],
             "version": text(form, "version")}  # fmt: skip
    svc = services(request)
    try:
        roles, groups = _roles(form), _groups(form, lists["groups"])
        if not roles:
            raise InvalidInput(i18n.gettext("Choose at least one role."), ["roles"])
        if Role.REQUESTER in roles and account.organisation_id is None:
            raise InvalidInput(i18n.gettext("A requester must belong to an organisation."),
                               ["roles"])  # fmt: skip
        if account.id == viewer.actor.id and Role.ADMIN not in roles:
            raise InvalidInput(i18n.gettext("You may not take away your own administrator "
                                            "role."), ["roles"])  # fmt: skip
        command = EditAccount(account.id, roles, groups, version(form))
        w = await run_in_threadpool(svc.desk.handle, viewer.actor, command)
    except DeskError as e:
        status, errors, message = problem(e)
        return await _account(request, account, status, errors, message, typed)
    if set(roles) != set(account.roles):  # sessions carry no roles, but sign in afresh anyway
        svc.sessions.revoke_all(account.id)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/accounts/{account.id}?done=saved", 303)


@ui
async def account_state(request: Request, viewer: Viewer) -> Response:
    """Disable (its sessions and API tokens end at once) or enable an account."""
    allowed(viewer, Setup.DISABLE_ACCOUNT)  # before anything is read
    kind = ACCOUNT_ACTIONS.get(str(request.path_params["action"]))
    if kind not in (DisableAccount, EnableAccount):
        raise NotFound(lazy("Accounts can be disabled or enabled."))
    assert kind is not None
    allowed(viewer, kind.policy)
    account = await load(request, Account, _account_id(request), lazy("No such account."))
    if kind is DisableAccount and account.id == viewer.actor.id:
        return await _account(request, account, 422, {}, i18n.gettext(
            "You may not disable your own account."))  # fmt: skip
    svc = services(request)
    try:
        w = await run_in_threadpool(svc.desk.handle, viewer.actor, kind(account.id))
    except DeskError as e:
        status, errors, message = problem(e)
        return await _account(request, account, status, errors, message)
    if kind is DisableAccount:
        svc.sessions.revoke_all(account.id, include_api_tokens=True)
    await caught_up(request, w)
    done = "disabled" if kind is DisableAccount else "enabled"
    return RedirectResponse(f"/admin/accounts/{account.id}?done={done}", 303)


@ui
async def reset_password(request: Request, viewer: Viewer) -> Response:
    """A new password the administrator tells the person; every session and token ends."""
    allowed(viewer, Setup.RECORD_PASSWORD_CHANGE)
    account = await load(request, Account, _account_id(request), lazy("No such account."))
    form = await request.form()
    password = str(form.get("password") or "")
    svc = services(request)
    try:
        _check_password(password, account.login)
        w = await run_in_threadpool(set_password, svc.desk, svc.sessions, svc.passwords,
                                    viewer.actor, account.id, password)  # fmt: skip
    except DeskError as e:
        status, errors, message = problem(e)
        return await _account(request, account, status, errors, message)
    svc.sessions.revoke_all(account.id, include_api_tokens=True)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/accounts/{account.id}?done=password", 303)


routes = [
    Route("/admin/accounts", accounts_page),
    Route("/admin/accounts", register_account, methods=["POST"]),
    Route("/admin/accounts/new", new_account),
    Route("/admin/accounts/{account_id}", account_page),
    Route("/admin/accounts/{account_id}", edit_account, methods=["POST"]),
    Route("/admin/accounts/{account_id}/password", reset_password, methods=["POST"]),
    Route("/admin/accounts/{account_id}/{action:str}", account_state, methods=["POST"]),
]
