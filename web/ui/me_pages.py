"""A signed-in person's own account (/me): who he is, his password and his personal API tokens.

A new account's password is the one the administrator told its owner; here he changes it (the
current one checked and wrong ones throttled as sign-ins are; on success his other sessions and
every API token end, this session stays: web/admin.py's `change_password`, the API's way). An
analyst issues himself the token a report tool sends (`Authorization: Bearer`): its secret is
shown once, on the page that answers the issuing (never in a URL), and revoked here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.errors import DeskError, InvalidInput
from web.auth import COOKIE, services
from web.credentials import check_password, set_password
from web.ui import i18n
from web.ui.admin_accounts import ROLE_NAMES, _check_password
from web.ui.admin_forms import problem
from web.ui.guard import Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.render import page

DONE = {"password": lazy("The password is changed. Your other sessions and your API tokens "
                         "ended; this one stays signed in."),
        "revoked": lazy("The token is revoked.")}  # fmt: skip


async def _page(request: Request, viewer: Viewer, status: int = 200, **shown: Any) -> Response:
    svc = services(request)
    assert viewer.actor.id is not None
    account = await run_in_threadpool(svc.desk.account_by_id, viewer.actor.id)
    tokens = await run_in_threadpool(svc.sessions.api_tokens, viewer.actor.id)
    done = DONE.get(request.query_params.get("done", ""))
    context = {"account": account, "roles": [i18n.gettext(ROLE_NAMES[r]) for r in account.roles],
               "tokens": tokens, "done": i18n.gettext(done) if done else "", "errors": {},
               "error": "", "issued": None, "token_name": ""}  # fmt: skip
    return page(request, "me/page.html", status, nav="me", **{**context, **shown})


@ui
async def me(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    return await _page(request, viewer)


@ui
async def change_password(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    form = await request.form()
    current, new = str(form.get("current") or ""), str(form.get("new") or "")
    svc = services(request)
    account = await run_in_threadpool(svc.desk.account_by_id, viewer.actor.id)
    address = request.client.host if request.client else "unknown"
    try:
        wait = svc.throttle.retry_after(account.login, address)
        if wait > 0:
            message = i18n.gettext("Too many wrong passwords; try again in {n} s.")
            raise InvalidInput(message.format(n=int(wait) + 1), ["current"])
        if not await run_in_threadpool(check_password, svc.sessions, svc.passwords, account,
                                       current):  # fmt: skip
            svc.throttle.failed(account.login, address)
            raise InvalidInput(i18n.gettext("The current password is wrong."), ["current"])
        svc.throttle.succeeded(account.login, address)
        _check_password(new, account.login)
        if new != str(form.get("repeat") or ""):
            raise InvalidInput(i18n.gettext("The two new passwords differ."), ["repeat"])
        await run_in_threadpool(set_password, svc.desk, svc.sessions, svc.passwords,
                                viewer.actor, account.id, new)  # fmt: skip
    except DeskError as e:
        status, errors, message = problem(e)
        errors = {("new" if k == "password" else k): v for k, v in errors.items()}
        return await _page(request, viewer, status, errors=errors, error=message)
    svc.sessions.revoke_all(account.id, include_api_tokens=True,
                            keep=request.cookies.get(COOKIE))  # fmt: skip
    return RedirectResponse("/me?done=password", 303)


@ui
async def issue_token(request: Request, viewer: Viewer) -> Response:
    """Issues a token and shows its secret on this answer only."""
    need(viewer)
    assert viewer.actor.id is not None
    name = str((await request.form()).get("name") or "")[:200]
    try:
        issued = services(request).sessions.issue_api_token(viewer.actor.id, name)
    except InvalidInput:
        message = i18n.gettext("Name the token in 1 to 100 printable characters.")
        return await _page(request, viewer, 422, errors={"name": message}, error=message,
                           token_name=name)  # fmt: skip
    return await _page(request, viewer, 201, issued=issued)


@ui
async def revoke_token(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    assert viewer.actor.id is not None
    try:
        token_id = UUID(str(request.path_params["token_id"]))
    except ValueError:
        token_id = None
    if token_id is None or not services(request).sessions.revoke_api_token(viewer.actor.id,
                                                                           token_id):  # fmt: skip
        return await _page(request, viewer, 404, error=i18n.gettext("No such token."))
    return RedirectResponse("/me?done=revoked", 303)


routes = [
    Route("/me", me),
    Route("/me/password", change_password, methods=["POST"]),
    Route("/me/tokens", issue_token, methods=["POST"]),
    Route("/me/tokens/{token_id}/revoke", revoke_token, methods=["POST"]),
]
