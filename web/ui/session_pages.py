"""Signing in and out, the language switch, and the start page that sends each role home."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from web.access import note_actor
from web.auth import COOKIE, services
from web.sign_in import attempt
from web.ui import i18n
from web.ui.guard import Viewer, refusal, ui
from web.ui.render import page


def home_of(viewer: Viewer) -> str:
    if viewer.staff:
        return "/desk"
    return "/my" if viewer.signed_in else "/new"


def _safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (never `//evil.example` or a full URL)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@ui
async def start(request: Request, viewer: Viewer) -> Response:
    return RedirectResponse(home_of(viewer), 303)


@ui
async def sign_in_form(request: Request, viewer: Viewer) -> Response:
    if viewer.signed_in:
        return RedirectResponse(home_of(viewer), 303)
    return page(request, "login.html", next=request.query_params.get("next", ""), login="")


@ui
async def sign_in(request: Request, viewer: Viewer) -> Response:
    svc = services(request)
    if not svc.origins.permits(request.headers.get("origin"), request.headers.get("referer")):
        return refusal(request, 403, "This request did not come from the desk's own pages, so it "
                       "was refused. Open the desk's address directly and try again.")  # fmt: skip
    form = await request.form()
    login = str(form.get("login", "")).strip().lower()[:200]
    password = str(form.get("password", ""))[:1000]
    target = str(form.get("next", ""))
    address = request.client.host if request.client else "unknown"
    tried = await run_in_threadpool(attempt, svc, login, password, address)
    if tried.wait > 0:
        message = i18n.gettext("Too many failed sign-ins; wait {seconds} s.").format(
            seconds=int(tried.wait) + 1
        )
        return page(request, "login.html", 429, error=message, login=login, next=target)
    account, token = tried.account, tried.token
    if account is None:
        return page(request, "login.html", 401, error=i18n.gettext("Wrong login or password."),
                    login=login, next=target)  # fmt: skip
    note_actor(request.scope, account.id)  # the access line's actor (web/access.py)
    actor = await run_in_threadpool(svc.desk.actor_for, account.id)
    home = home_of(Viewer(actor, account.display_name, None))
    response = RedirectResponse(_safe_next(target, home), 303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")  # fmt: skip
    return response


@ui
async def sign_out(request: Request, viewer: Viewer) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        await run_in_threadpool(services(request).sessions.revoke, token)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


@ui
async def switch_language(request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    lang = str(form.get("lang", ""))
    response = RedirectResponse(_safe_next(str(form.get("next", "")), "/"), 303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


routes = [
    Route("/", start),
    Route("/login", sign_in_form),
    Route("/login", sign_in, methods=["POST"]),
    Route("/logout", sign_out, methods=["POST"]),
    Route("/lang", switch_language, methods=["POST"]),
]
