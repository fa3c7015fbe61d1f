"""Account routes: password change, personal API tokens; administrators' set-up of the desk
(each builds a set-up command, domain/setup/, and hands it to `Desk.handle`)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Actor, Setup, check_setup, may_set_up
from domain.category import FieldHelp, FieldSpec, FieldType
from domain.errors import InvalidInput
from domain.people import GroupKind, Role
from domain.setup.base import SetupCommand
from domain.setup.categories import ChangeCategoryForm, DefineCategory
from domain.setup.dispatch import ACCOUNT_ACTIONS
from domain.setup.people import (
    AppointGroupLead,
    ChangeRoles,
    DisableAccount,
    EditOrganisation,
    FormGroup,
    JoinGroup,
    LeaveGroup,
    RegisterAccount,
    RegisterOrganisation,
)
from web.auth import authenticate, services, signed_in
from web.body import Body, expected_version, path_id
from web.credentials import check_password, set_password
from web.errors import ApiError
from web.http import json, written
from web.passwords import check_new_password


async def change_password(request: Request) -> Response:
    """POST /api/v1/me/password {current, new}: wrong current passwords are throttled like
    sign-ins; on success the account's other sessions and all its API tokens end (whoever
    changes a password may be shutting out somebody who learnt the old one), this one stays."""
    c = await authenticate(request)
    actor = signed_in(c)
    if c.session is None or c.token is None:
        raise ApiError(403, "forbidden", "Change your password from a signed-in session.")
    body = await Body.read(request)
    svc = services(request)
    account = await run_in_threadpool(svc.desk.account_by_id, actor.id)
    address = request.client.host if request.client else "unknown"
    wait = svc.throttle.retry_after(account.login, address)
    if wait > 0:
        raise ApiError(429, "too_many_attempts",
                       f"Too many wrong current passwords; wait {wait:.0f} s.",
                       headers={"Retry-After": str(int(wait) + 1)})  # fmt: skip
    current = body.text("current")
    ok = await run_in_threadpool(check_password, svc.sessions, svc.passwords, account, current)
    if not ok:
        svc.throttle.failed(account.login, address)
        raise ApiError(422, "invalid_input", "The current password is wrong.", ("current",))
    svc.throttle.succeeded(account.login, address)
    new = body.text("new")
    check_new_password(new, login=account.login)
    w = await run_in_threadpool(set_password, svc.desk, svc.sessions, svc.passwords, actor,
                                account.id, new)  # fmt: skip
    ended = svc.sessions.revoke_all(account.id, include_api_tokens=True, keep=c.token)
    return json({"id": str(w.id), "position": w.position, "version": w.version,
                 "ended": ended, "message": "The password was changed. Your other sessions "
                 "and your API tokens were ended; this session stays signed in."})  # fmt: skip


async def reset_password(request: Request) -> Response:
    """PUT /api/v1/accounts/{id}/password {password}: an administrator sets someone's password;
    every session and API token of that account ends."""
    actor = signed_in(await authenticate(request))
    if not may_set_up(actor, Setup.RECORD_PASSWORD_CHANGE):  # an administrator; before the body
        raise ApiError(403, "forbidden", "Only an administrator may reset a password.")
    account_id = path_id(request, "account_id", "account")
    body = await Body.read(request)
    svc = services(request)
    account = await run_in_threadpool(svc.desk.account_by_id, account_id)
    password = body.text("password")
    check_new_password(password, login=account.login)
    w = await run_in_threadpool(set_password, svc.desk, svc.sessions, svc.passwords, actor,
                                account.id, password)  # fmt: skip
    ended = svc.sessions.revoke_all(account.id, include_api_tokens=True)
    return json({"id": str(w.id), "position": w.position, "version": w.version,
                 "ended": ended}, headers={"ETag": f'"{w.version}"'})  # fmt: skip


async def tokens(request: Request) -> Response:
    c = await authenticate(request)
    actor = signed_in(c)
    svc = services(request)
    assert actor.id is not None
    if request.method == "GET":
        return json([{"id": str(t.id), "name": t.name, "created": t.created.isoformat(),
                      "last_used": t.last_used.isoformat() if t.last_used else None}
                     for t in svc.sessions.api_tokens(actor.id)])  # fmt: skip
    if c.session is None:
        raise ApiError(403, "forbidden", "Issue tokens from a signed-in session, not a token.")
    body = await Body.read(request)
    issued = svc.sessions.issue_api_token(actor.id, body.text("name"))
    return json({"id": str(issued.token.id), "name": issued.token.name,
                 "secret": issued.secret}, 201)  # fmt: skip


async def revoke_token(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    assert actor.id is not None
    token_id = path_id(request, "token_id", "token")
    if not services(request).sessions.revoke_api_token(actor.id, token_id):
        raise ApiError(404, "not_found", "No such token.")
    return Response(status_code=204)


# -- administrators: each route builds one set-up command (domain/setup/) for `Desk.handle` -----
async def _handle(request: Request, actor: Actor, command: SetupCommand, status: int = 200
                  ) -> Response:  # fmt: skip
    w = await run_in_threadpool(services(request).desk.handle, actor, command)
    return written(w, status)


def _roles(body: Body) -> tuple[Role, ...]:
    try:
        return tuple(Role(r) for r in body.strs("roles"))
    except ValueError:
        raise ApiError(422, "invalid_input", f"roles are some of: {', '.join(Role)}.",
                       ("roles",)) from None  # fmt: skip


async def register_account(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    check_setup(actor, RegisterAccount.policy)  # before the body is read or anything hashed
    body = await Body.read(request)
    svc = services(request)
    password = body.text("password")
    check_new_password(password, login=body.text("login"))
    command = RegisterAccount(body.text("login"), body.text("display_name"), _roles(body),
                              body.opt_uuid("organisation"), body.text("email", ""),
                              body.text("phone", ""))  # fmt: skip
    w = await run_in_threadpool(svc.desk.handle, actor, command)
    w = await run_in_threadpool(set_password, svc.desk, svc.sessions, svc.passwords, actor,
                                w.id, password)  # fmt: skip
    return written(w, 201)


async def account_state(request: Request) -> Response:
    """POST /api/v1/accounts/{id}/{disable|enable}: a disabled account's sessions end at once."""
    actor = (await authenticate(request)).actor
    kind = ACCOUNT_ACTIONS.get(request.path_params["action"])
    if kind is None:
        raise ApiError(404, "not_found", "Accounts can be disabled or enabled.")
    account_id = path_id(request, "account_id", "account")
    response = await _handle(request, actor, kind(account_id))
    if kind is DisableAccount:
        services(request).sessions.revoke_all(account_id, include_api_tokens=True)
    return response


async def membership(request: Request) -> Response:
    """POST (join) or DELETE (leave) /api/v1/accounts/{id}/groups/{group_id}."""
    actor = (await authenticate(request)).actor
    account_id = path_id(request, "account_id", "account")
    group_id = path_id(request, "group_id", "group")
    kind = JoinGroup if request.method == "POST" else LeaveGroup
    return await _handle(request, actor, kind(account_id, group_id))


async def change_roles(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    account_id = path_id(request, "account_id", "account")
    roles = _roles(await Body.read(request))
    response = await _handle(request, actor, ChangeRoles(account_id, roles))
    # sessions carry no roles, but sign in afresh anyway
    services(request).sessions.revoke_all(account_id)
    return response


def _form(body: Body) -> tuple[FieldSpec, ...]:
    raw_form = body.data.get("form", [])
    if not isinstance(raw_form, list):
        raise ApiError(422, "invalid_input", "form must be a list of fields.", ("form",))
    return tuple(_spec(f, i) for i, f in enumerate(raw_form))


def _help(body: Body) -> tuple[FieldHelp, ...] | None:
    """The fields' help texts, by key ({"inn": {"text_ru": ..., "text_en": ...}}); left out
    (or null): kept as they are."""
    raw = body.data.get("help")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(
        isinstance(v, dict) and all(isinstance(v.get(k, ""), str) for k in ("text_ru", "text_en"))
        for v in raw.values()
    ):
        raise ApiError(422, "invalid_input", "help maps a field's key to its text_ru and "
                       "text_en.", ("help",))  # fmt: skip
    return tuple(FieldHelp(str(k), v.get("text_ru", ""), v.get("text_en", ""))
                 for k, v in raw.items())  # fmt: skip


async def change_form(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    check_setup(actor, ChangeCategoryForm.policy)  # before the body is read
    category_id = path_id(request, "category_id", "category")
    body = await Body.read(request)
    command = ChangeCategoryForm(category_id, _form(body), help=_help(body))
    return await _handle(request, actor, command)


async def register_organisation(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    body = await Body.read(request)
    command = RegisterOrganisation(body.text("name"), body.text("inn"), body.text("kpp", ""),
                                   body.text("legal_address", ""),
                                   body.text("postal_address", ""))  # fmt: skip
    return await _handle(request, actor, command, 201)


async def edit_organisation(request: Request) -> Response:
    """PUT /api/v1/organisations/{id}: name, KPP and addresses against the version seen."""
    actor = (await authenticate(request)).actor
    check_setup(actor, EditOrganisation.policy)  # before the body is read
    organisation_id = path_id(request, "organisation_id", "organisation")
    body = await Body.read(request)
    command = EditOrganisation(organisation_id, expected_version(request, body),
                               body.text("name"), body.text("kpp", ""),
                               body.text("legal_address", ""),
                               body.text("postal_address", ""))  # fmt: skip
    return await _handle(request, actor, command)


async def form_group(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    body = await Body.read(request)
    try:
        kind = GroupKind(body.text("kind"))
    except ValueError:
        raise ApiError(422, "invalid_input", f"kind is one of: {', '.join(GroupKind)}.",
                       ("kind",)) from None  # fmt: skip
    return await _handle(request, actor, FormGroup(body.text("name"), kind), 201)


async def appoint_lead(request: Request) -> Response:
    """PUT /api/v1/groups/{group_id}/lead {"lead_id": id or null}."""
    actor = (await authenticate(request)).actor
    group_id = path_id(request, "group_id", "group")
    body = await Body.read(request)
    if "lead_id" not in body.data:
        raise ApiError(422, "invalid_input", "Give lead_id: an agent of the group, or null.",
                       ("lead_id",))  # fmt: skip
    return await _handle(request, actor, AppointGroupLead(group_id, body.opt_uuid("lead_id")))


def _spec(raw: Any, i: int) -> FieldSpec:
    if not isinstance(raw, dict):
        raise InvalidInput(f"form[{i}] must be an object.", [f"form[{i}]"])
    try:
        return FieldSpec(
            key=str(raw["key"]), label_ru=str(raw["label_ru"]), label_en=str(raw["label_en"]),
            type=FieldType(raw["type"]), required=bool(raw.get("required", False)),
            choices=tuple(str(c) for c in raw.get("choices", ())),
        )  # fmt: skip
    except (KeyError, ValueError, TypeError):
        raise InvalidInput(
            f"form[{i}] needs key, label_ru, label_en and a type ({', '.join(FieldType)}).",
            [f"form[{i}]"],
        ) from None


async def define_category(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    body = await Body.read(request)
    command = DefineCategory(body.text("name_ru"), body.text("name_en"), _form(body),
                             body.opt_uuid("default_group"), body.opt_uuid("parent"))  # fmt: skip
    return await _handle(request, actor, command, 201)


routes = [
    Route("/api/v1/me/password", change_password, methods=["POST"]),
    Route("/api/v1/me/tokens", tokens, methods=["GET", "POST"]),
    Route("/api/v1/me/tokens/{token_id}", revoke_token, methods=["DELETE"]),
    Route("/api/v1/accounts", register_account, methods=["POST"]),
    Route("/api/v1/accounts/{account_id}/roles", change_roles, methods=["PUT"]),
    Route("/api/v1/accounts/{account_id}/password", reset_password, methods=["PUT"]),
    Route(
        "/api/v1/accounts/{account_id}/groups/{group_id}", membership, methods=["POST", "DELETE"]
    ),
    Route("/api/v1/accounts/{account_id}/{action}", account_state, methods=["POST"]),
    Route("/api/v1/categories/{category_id}/form", change_form, methods=["PUT"]),
    Route("/api/v1/organisations", register_organisation, methods=["POST"]),
    Route("/api/v1/organisations/{organisation_id}", edit_organisation, methods=["PUT"]),
    Route("/api/v1/groups", form_group, methods=["POST"]),
    Route("/api/v1/groups/{group_id}/lead", appoint_lead, methods=["PUT"]),
    Route("/api/v1/categories", define_category, methods=["POST"]),
]
