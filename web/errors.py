"""One JSON shape for every error: {"error": {"code", "message", "fields"}}, 4xx as meant."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from domain import errors
from domain.article import StaleRevision

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


def error_response(status: int, code: str, message: str, fields: tuple[str, ...] = (),
                   extra: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    body = {"error": {"code": code, "message": message, "fields": list(fields), **(extra or {})}}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


async def on_desk_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DeskError)
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    extra: dict[str, Any] | None = None
    if isinstance(exc, errors.Conflict):
        extra = {"current_version": exc.current}
    if isinstance(exc, StaleRevision):
        extra = {"current_revision": exc.current, "changes": exc.changes}
    return error_response(status, exc.code, exc.message, exc.fields, extra)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.fields, headers=exc.headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


HANDLERS: dict[Any, Any] = {
    errors.DeskError: on_desk_error,
    ApiError: on_api_error,
    HTTPException: on_http_error,
}
