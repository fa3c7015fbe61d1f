"""Who is calling: an API token, a session cookie (with CSRF and Origin checks), or nobody."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from domain.access import Actor
from domain.errors import DeskError, Forbidden
from web.access import note_actor
from web.csrf import check_request
from web.errors import ApiError
from web.services import Services
from web.sessions import Session

COOKIE = "suz_session"
ANONYMOUS = Actor(id=None, roles=frozenset())


@dataclass(frozen=True)
class Caller:
    actor: Actor
    session: Session | None = None
    token: str | None = None  # the session cookie's token, for sign-out


def services(conn: HTTPConnection) -> Services:
    s: Services = conn.app.state.services
    return s


async def authenticate(conn: HTTPConnection, form_token: str | None = None) -> Caller:
    """`caller`, run in the thread pool: its lookups touch the database and must not stall
    the event loop that every other request and socket shares."""
    known = await run_in_threadpool(caller, conn, conn.scope.get("method", "GET"), form_token)
    note_actor(conn.scope, known.actor.id)  # the access line's actor (web/access.py)
    return known


def caller(conn: HTTPConnection, method: str = "GET", form_token: str | None = None) -> Caller:
    """Authenticates the request; cookie calls that change state must pass CSRF and Origin.

    The CSRF token comes in the X-CSRF-Token header, or (`form_token`) a plain form's field."""
    svc = services(conn)
    authorization = conn.headers.get("authorization", "")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        token = (
            svc.sessions.lookup_api_token(secret.strip()) if scheme.lower() == "bearer" else None
        )
        if token is None:
            raise ApiError(401, "unauthenticated", "The API token is unknown or revoked.")
        return Caller(_actor(svc, token.account_id))
    cookie = conn.cookies.get(COOKIE)
    if not cookie:
        return _visitor(conn, svc)
    session = svc.sessions.lookup(cookie)
    if session is None:
        return Caller(ANONYMOUS)
    check_request(
        method,
        expected_token=session.csrf_token,
        given_token=conn.headers.get("x-csrf-token") or form_token,
        origin=conn.headers.get("origin"),
        referer=conn.headers.get("referer"),
        allowed=svc.origins,
    )
    actor = _actor(svc, session.account_id)
    if not actor.is_staff and _holds_link(conn) and not _may_see(svc, actor, conn):
        # someone else's request opened with its private link: the link's holder acts
        return Caller(_visitor(conn, svc).actor, session, cookie)
    return Caller(actor, session, cookie)


def _holds_link(conn: HTTPConnection) -> bool:
    key = conn.headers.get("x-ticket-key") or conn.query_params.get("key")
    return bool(key and (conn.path_params.get("ticket_id") or conn.query_params.get("ticket")))


def _may_see(svc: Services, actor: Actor, conn: HTTPConnection) -> bool:
    ticket = conn.path_params.get("ticket_id") or conn.query_params.get("ticket")
    try:
        svc.desk.ticket(actor, UUID(str(ticket)))
    except (ValueError, DeskError):
        return False
    return True


def _visitor(conn: HTTPConnection, svc: Services) -> Caller:
    """An anonymous caller; with a ticket's private-link key, that ticket's requester."""
    key = conn.headers.get("x-ticket-key") or conn.query_params.get("key")
    ticket = conn.path_params.get("ticket_id") or conn.query_params.get("ticket")
    if not key or not ticket:
        return Caller(ANONYMOUS)
    try:
        return Caller(svc.desk.visitor(UUID(str(ticket)), key[:200]))
    except (ValueError, DeskError):
        raise ApiError(404, "not_found", "No such request, or the link's key is wrong.") from None


def _actor(svc: Services, account_id: object) -> Actor:
    try:
        return svc.desk.actor_for(account_id)  # type: ignore[arg-type]
    except Forbidden:
        raise ApiError(401, "unauthenticated", "This account is disabled.") from None
    except DeskError:
        raise ApiError(401, "unauthenticated", "This account no longer exists.") from None


def signed_in(c: Caller) -> Actor:
    if c.actor.id is None:
        raise ApiError(401, "unauthenticated", "Sign in first (POST /api/v1/session).")
    return c.actor
