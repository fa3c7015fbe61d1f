"""Who is looking at a page, and the wrapper every UI handler runs in.

`ui(handler)` sets the page's language, authenticates the caller the way the API does (session
cookie with CSRF and Origin checks on every state-changing request, or a private-link key), and
turns refusals into HTML: a full error page, a redirect to sign-in, or, for htmx, a message in the
page's notice area. Handlers receive the request and the `Viewer`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from domain.access import WORKERS, Actor, Command, may_work
from domain.errors import DeskError
from domain.people import Role
from web.auth import COOKIE, Caller, authenticate, services
from web.csrf import FORM_FIELD, SAFE_METHODS
from web.errors import STATUS, ApiError
from web.text_input import plain_text
from web.ui import i18n
from web.ui.refusals import translated
from web.ui.render import is_htmx, page


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    name: str
    csrf: str | None  # the session's CSRF token (for hx-headers); None without a session
    key: str | None = None  # a visitor's private-link key

    @property
    def signed_in(self) -> bool:
        return self.actor.id is not None

    @property
    def staff(self) -> bool:
        return self.actor.is_staff

    def has(self, *roles: str) -> bool:
        return self.actor.has(*(Role(r) for r in roles))

    @property
    def works_tickets(self) -> bool:
        """Who answers requests; curators, auditors and quality reviewers only read them."""
        return bool(self.actor.roles & WORKERS)

    @property
    def writes_notes(self) -> bool:
        """Who adds internal notes: those who work requests, and curators and quality reviewers
        (they take part in the discussion, never in the public reply): the access policy's."""
        return may_work(self.actor, Command.NOTE)


Handler = Callable[[Request, Viewer], Awaitable[Response]]


class SignInNeeded(Exception):
    """Raised by handlers that need a signed-in person."""


class NotAllowed(Exception):
    """Raised by handlers when the signed-in person's role may not use the page."""


def need(viewer: Viewer, *roles: str) -> None:
    if not viewer.signed_in:
        raise SignInNeeded
    if roles and not viewer.has(*roles):
        raise NotAllowed


def staff_only(handler: Handler) -> Handler:
    """For the staff's pages and their actions. Anyone else (a requester, a colleague of his, a
    private link's holder, an anonymous visitor) is turned away before the request's form is read
    or anything is loaded, so no error path of the handler can show what only staff may see: a
    page of a request is redirected to the requester's page of it, anything else is refused."""

    @functools.wraps(handler)
    async def run(request: Request, viewer: Viewer) -> Response:
        if viewer.staff:
            return await handler(request, viewer)
        ticket_id = request.path_params.get("ticket_id")
        if request.method in SAFE_METHODS and ticket_id and not is_htmx(request):
            key = f"?key={quote(viewer.key)}" if viewer.key else ""
            return RedirectResponse(f"/r/{quote(str(ticket_id))}{key}", 303)
        raise NotAllowed

    return run


def ui(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        i18n.use(i18n.choose(request.cookies.get(i18n.COOKIE),
                             request.headers.get("accept-language")))  # fmt: skip
        try:
            viewer = await _viewer(request)
            request.scope["suz_viewer"] = viewer
            await _plain_form(request)
            return await handler(request, viewer)
        except SignInNeeded:
            return _to_sign_in(request)
        except ApiError as e:
            if e.status == 401:
                return _to_sign_in(request)
            return refusal(request, e.status, e.message)
        except NotAllowed:
            return refusal(request, 403, i18n.gettext("This page is not for your role."))
        except DeskError as e:
            return refusal(request, next((s for c, s in STATUS.items() if isinstance(e, c)), 400),
                           e.message)  # fmt: skip

    return run


async def _viewer(request: Request) -> Viewer:
    form_token = None
    if (request.method not in SAFE_METHODS and request.cookies.get(COOKIE)
            and not request.headers.get("x-csrf-token")
            and request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded")):  # fmt: skip
        form_token = str((await request.form()).get(FORM_FIELD) or "") or None
    c: Caller = await authenticate(request, form_token)
    if c.actor.id is None:
        key = request.query_params.get("key") or request.headers.get("x-ticket-key")
        csrf = c.session.csrf_token if c.session else None  # signed in, holding a link
        return Viewer(c.actor, "", csrf, key if c.actor.visitor_ticket_id else None)
    name = await _display_name(request, c.actor.id)
    return Viewer(c.actor, name, c.session.csrf_token if c.session else None)


async def _display_name(request: Request, account_id: UUID) -> str:
    """The header's name: remembered with the caller (web/caller_cache.py), else read."""
    cache = services(request).sessions.cache
    name = cache.display_name(account_id)
    if name is None:
        generation = cache.generation
        account = await run_in_threadpool(services(request).desk.account_by_id, account_id)
        name = account.display_name
        cache.remember_name(account_id, name, generation)
    return name


async def _plain_form(request: Request) -> None:
    """A plain form's every text, checked for control characters before any handler reads it
    (multipart forms are checked where their text is read: their files come first)."""
    if request.method in SAFE_METHODS or not request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return
    for name, value in (await request.form()).multi_items():
        if isinstance(value, str):
            plain_text(name, value, i18n.gettext)


def _to_sign_in(request: Request) -> Response:
    target = "/login?next=" + quote(
        request.url.path + (f"?{request.url.query}" if request.url.query else "")
    )
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)


def refusal(request: Request, status: int, message: str) -> Response:
    """A refusal in the viewer's language: a notice for htmx, an error page otherwise."""
    text = translated(message)
    if is_htmx(request):
        return page(request, "notice.html", status, {"HX-Retarget": "#notice",
                    "HX-Reswap": "innerHTML"}, message=text, level="error")  # fmt: skip
    return page(request, "error.html", status, message=text, status_code=status)
