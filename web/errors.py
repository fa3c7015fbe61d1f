"""One shape for every error: RFC 9457 `application/problem+json` (type, title, status, detail,
instance) that keeps the earlier `{"error": {"code", "message", "fields"}}` inside it, so clients
that read `error` keep working; 4xx as meant, and 503 "unavailable" (with Retry-After) when the
environment fails: database away, disk full (`environment_fault` says when; web/handlers.py
answers it, with a page for a browser)."""

from __future__ import annotations

import errno
import sqlite3
from typing import Any

import eventsourcing.persistence as es
import orjson
import psycopg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from domain import errors
from domain.article import StaleRevision
from web.ui.i18n import gettext, lazy
from web.ui.refusals import translated

STATUS = {
    StaleRevision: 409,
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.InvalidTransition: 409,
    errors.MissingFields: 422,
    errors.InvalidInput: 422,
}


class ApiError(Exception):
    """Raised by handlers for refusals that are not the domain's (bad JSON, unauthenticated)."""

    def __init__(self, status: int, code: str, message: str, fields: tuple[str, ...] = (),
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields, self.headers = fields, headers or {}


PROBLEM_JSON = "application/problem+json"
# a problem's `type` names its code; a tag URI (RFC 4151), as RFC 9457 suggests for types that
# are identifiers, not pages to fetch
PROBLEM_TYPE = "tag:suz,2026:problem:"
# each status's title (the same for every problem of that status, as RFC 9457 wants), shown
# in the caller's language
TITLES = {
    400: lazy("Bad request"),
    401: lazy("Not signed in"),
    403: lazy("Not allowed"),
    404: lazy("Not found"),
    405: lazy("Method not allowed"),
    409: lazy("Conflict"),
    413: lazy("Too large"),
    415: lazy("Unsupported media type"),
    422: lazy("Invalid input"),
    428: lazy("Version required"),
    429: lazy("Too many requests"),
    503: lazy("Service unavailable"),
}


def problem(status: int, code: str, message: str, fields: tuple[str, ...] = (),
            extra: dict[str, Any] | None = None, instance: str = "") -> dict[str, Any]:  # fmt: skip
    """The RFC 9457 body: its own members, and the earlier `error` inside (with `extra`, e.g. a
    conflict's `current_version`). `title` and `detail` are for people, in the caller's
    language (Accept-Language; Russian by default); `error.message` stays the message as the
    domain said it (English), for clients that match on it. `instance` is the request's path,
    never its query (a private link's key travels there)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": gettext(TITLES.get(status, "Error")),
        "status": status,
        "detail": translated(message),
    }
    if instance:
        body["instance"] = instance
    body["error"] = {"code": code, "message": message, "fields": list(fields), **(extra or {})}
    return body


def error_response(status: int, code: str, message: str, fields: tuple[str, ...] = (),
                   extra: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None,
                   instance: str = "") -> Response:  # fmt: skip
    body = problem(status, code, message, fields, extra, instance)
    return Response(orjson.dumps(body), status, headers=headers, media_type=PROBLEM_JSON)


async def on_desk_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DeskError)
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    extra: dict[str, Any] | None = None
    if isinstance(exc, errors.Conflict):
        extra = {"current_version": exc.current}
    if isinstance(exc, StaleRevision):
        extra = {"current_revision": exc.current, "changes": exc.changes}
    return error_response(
        status, exc.code, exc.message, exc.fields, extra, instance=request.url.path
    )


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status,
        exc.code,
        exc.message,
        exc.fields,
        headers=exc.headers,
        instance=request.url.path,
    )


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), instance=request.url.path)


RETRY_AFTER = 5  # seconds a client is told to wait after a fault of the environment
# sqlite3 says what went wrong only in its message: these are the machine's, not the request's
_SQLITE_FAULTS = ("disk is full", "disk i/o error", "database is locked", "unable to open")
_DB_FAULTS = (  # psycopg's include psycopg_pool.PoolTimeout and psycopg.errors.DiskFull; then
    psycopg.OperationalError,  # the event store's own wrappers of the same
    psycopg.InterfaceError,
    es.OperationalError,
    es.InterfaceError,
    es.ConnectionUnavailableError,
)
_OS_FAULTS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EMFILE, errno.ENFILE}


def environment_fault(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is the environment failing: the database away
    or out of resources, a full disk; not a bug and not the caller's mistake."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _DB_FAULTS):
            return True
        if isinstance(seen, sqlite3.OperationalError) and any(
            fault in str(seen).lower() for fault in _SQLITE_FAULTS
        ):
            return True
        if isinstance(seen, OSError) and seen.errno in _OS_FAULTS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# the refusals' handlers; web/handlers.py adds the environment's faults (503, a page for browsers)
HANDLERS: dict[Any, Any] = {
    errors.DeskError: on_desk_error,
    ApiError: on_api_error,
    HTTPException: on_http_error,
}
