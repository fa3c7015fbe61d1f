"""The exception handlers the app installs: the refusals' (web/errors.py: domain refusals,
`ApiError`s, HTTP errors) and the environment's faults: 503 "unavailable" with Retry-After, an
error page for a browser. Apart from web/errors.py because the page needs the UI's guard, which
itself imports web/errors.py."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import eventsourcing.persistence as es
import psycopg
from starlette.requests import Request
from starlette.responses import Response

from web.errors import HANDLERS as REFUSALS
from web.errors import RETRY_AFTER, environment_fault, error_response
from web.ui import i18n
from web.ui.guard import refusal

log = logging.getLogger("suz.web")


async def on_environment_fault(request: Request, exc: Exception) -> Response:
    """503 with Retry-After for a fault of the environment (the page for a browser); anything
    else goes on to the server's own 500."""
    if not environment_fault(exc):
        raise exc
    log.error("unavailable: %s %s: %r", request.method, request.url.path, exc)
    message = i18n.gettext("The service is briefly unavailable (storage). Try again shortly.")
    headers = {"Retry-After": str(RETRY_AFTER)}
    if wants_html(request):
        response = refusal(request, 503, message)
        response.headers.update(headers)
        return response
    return error_response(503, "unavailable", message, headers=headers, instance=request.url.path)


def wants_html(request: Request) -> bool:
    """A browser's page or htmx request, rather than an API client."""
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "") or "hx-request" in request.headers


HANDLERS: dict[Any, Any] = {
    **REFUSALS,
    psycopg.Error: on_environment_fault,
    es.PersistenceError: on_environment_fault,
    sqlite3.Error: on_environment_fault,
    OSError: on_environment_fault,
}
