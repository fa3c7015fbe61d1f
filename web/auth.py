"""Who is calling: an API token, a session cookie (with CSRF and Origin checks), or nobody.

A caller seen within SUZ_AUTH_CACHE_TTL seconds is known without the database (web/caller_cache.py):
`authenticate` then costs no thread-pool hop, and `in_one_hop` runs the lookup (when one is
needed) and the command in one. A remembered account whose aggregate this process has since
seen change (it disabled the account, say) is looked up afresh."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from domain.access import Actor
from domain.errors import DeskError, Forbidden
from web.access import note_actor
from web.caller_cache import Entry
from web.csrf import check_request
from web.errors import ApiError
from web.services import Services
from web.sessions import Session, token_hash

T = TypeVar("T")

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
    """The remembered caller, or `caller` run in the thread pool: its lookups touch the
    database and must not stall the event loop that every other request and socket shares."""
    method = conn.scope.get("method", "GET")
    known = remembered(conn, method, form_token)
    if known is None:
        known = await run_in_threadpool(caller, conn, method, form_token)
    note_actor(conn.scope, known.actor.id)  # the access line's actor (web/access.py)
    return known


async def in_one_hop(conn: HTTPConnection, work: Callable[[Caller], T]) -> T:
    """`work(caller)` in the thread pool, the caller looked up in the same hop when it is not
    remembered: a write costs one hop, not two."""
    method = conn.scope.get("method", "GET")
    known = remembered(conn, method, None)

    def noted(c: Caller) -> T:
        note_actor(conn.scope, c.actor.id)  # the access line's actor (web/access.py)
        return work(c)

    if known is not None:
        return await run_in_threadpool(noted, known)
    return await run_in_threadpool(lambda: noted(caller(conn, method)))


def remembered(conn: HTTPConnection, method: str, form_token: str | None) -> Caller | None:
    """The caller from the cache, with the same CSRF and Origin checks; None when it must be
    looked up (not remembered, expired, its account changed here since, or a link's holder)."""
    svc = services(conn)
    cache = svc.sessions.cache
    if not cache.enabled:
        return None
    authorization = conn.headers.get("authorization", "")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not _plausible(secret):
            return None
        entry = cache.get("t:" + token_hash(secret))
        return None if entry is None or _changed(svc, entry) else Caller(entry.actor)
    cookie = conn.cookies.get(COOKIE)
    if not cookie or not _plausible(cookie):
        return None
    entry = cache.get("s:" + token_hash(cookie))
    if entry is None or entry.session is None or _changed(svc, entry):
        return None
    if not entry.actor.is_staff and _holds_link(conn):
        return None  # whether the link's request is theirs needs the views: `caller` decides
    check_request(
        method,
        expected_token=entry.session.csrf_token,
        given_token=conn.headers.get("x-csrf-token") or form_token,
        origin=conn.headers.get("origin"),
        referer=conn.headers.get("referer"),
        allowed=svc.origins,
    )
    return Caller(entry.actor, entry.session, cookie)


def _plausible(secret: str) -> bool:
    return 0 < len(secret) <= 128 and secret.isascii()


def _account_version(svc: Services, account_id: object) -> int | None:
    """The version of the account's aggregate in this process's aggregate cache (no I/O), if
    there: a command here that changed the account (disabled it, changed its roles) put it."""
    cache = getattr(svc.desk.repository, "cache", None)
    if cache is None:
        return None
    try:
        version = cache.get(account_id).version
    except (KeyError, AttributeError):
        return None
    return version if isinstance(version, int) else None


def _changed(svc: Services, entry: Entry[Session]) -> bool:
    now = _account_version(svc, entry.actor.id)
    return now is not None and now != entry.account_version


def caller(conn: HTTPConnection, method: str = "GET", form_token: str | None = None) -> Caller:
    """Authenticates the request; cookie calls that change state must pass CSRF and Origin.

    The CSRF token comes in the X-CSRF-Token header, or (`form_token`) a plain form's field."""
    svc = services(conn)
    generation = svc.sessions.cache.generation  # before the lookups: see CallerCache.put
    authorization = conn.headers.get("authorization", "")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        token = svc.sessions.lookup_api_token(secret) if scheme.lower() == "bearer" else None
        if token is None:
            raise ApiError(401, "unauthenticated", "The API token is unknown or revoked.")
        version = _account_version(svc, token.account_id)
        actor = _actor(svc, token.account_id)
        _remember(svc, "t:" + token_hash(secret), actor, None, version, generation)
        return Caller(actor)
    cookie = conn.cookies.get(COOKIE)
    if not cookie:
        return _visitor(conn, svc)
    session = svc.sessions.lookup(cookie)
    if session is None:
        return Caller(ANONYMOUS)
    version = _account_version(svc, session.account_id)
    actor = _actor(svc, session.account_id)
    _remember(svc, "s:" + token_hash(cookie), actor, session, version, generation)
    check_request(
        method,
        expected_token=session.csrf_token,
        given_token=conn.headers.get("x-csrf-token") or form_token,
        origin=conn.headers.get("origin"),
        referer=conn.headers.get("referer"),
        allowed=svc.origins,
    )
    if not actor.is_staff and _holds_link(conn) and not _may_see(svc, actor, conn):
        # someone else's request opened with its private link: the link's holder acts
        return Caller(_visitor(conn, svc).actor, session, cookie)
    return Caller(actor, session, cookie)


def _remember(svc: Services, key: str, actor: Actor, session: Session | None,
              version: int | None, generation: int) -> None:  # fmt: skip
    """Remembers a caller just looked up; the account's version read before its actor was
    made (None: not in the aggregate cache then; the version it holds now is the one read)."""
    if version is None:
        version = _account_version(svc, actor.id)
    svc.sessions.cache.put(key, actor, session, version, generation)


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
