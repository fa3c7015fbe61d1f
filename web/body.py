"""Reading a JSON request body: application/json only, size-limited, no control characters in any
text (web/text_input.py), typed fields, errors that name the field."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from starlette.requests import Request

from web.errors import ApiError
from web.text_input import plain_json, plain_text

MAX_JSON = 1_000_000


class Body:
    """A parsed JSON object with typed accessors; a wrong value raises a 422 naming the field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    async def read(cls, request: Request) -> Body:
        if media_type(request.headers.get("content-type", "")) != "application/json":
            raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
        return cls.parse(request, await cls.receive(request))

    @staticmethod
    async def receive(request: Request) -> bytes:
        """The body's bytes, unread and unchecked but for their size (`parse` reads them: a
        handler may authenticate between the two, in the thread pool)."""
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_JSON:
                raise ApiError(413, "too_large", f"The body is larger than {MAX_JSON} bytes.")
        return raw

    @classmethod
    def parse(cls, request: Request, raw: bytes) -> Body:
        """The JSON object in `raw` (`receive`'s), the request's media type checked."""
        if media_type(request.headers.get("content-type", "")) != "application/json":
            raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
        try:
            data = orjson.loads(raw or b"{}")
        except orjson.JSONDecodeError as e:
            raise ApiError(400, "bad_json", f"The body is not valid JSON: {e}.") from None
        if not isinstance(data, dict):
            raise ApiError(400, "bad_json", "The body must be a JSON object.")
        plain_json(data)  # every string, however deep: one answer naming the field, nothing kept
        return cls(data)

    def _bad(self, name: str, what: str) -> ApiError:
        return ApiError(422, "invalid_input", f"{name} must be {what}.", (name,))

    def text(self, name: str, default: str | None = None) -> str:
        value = self.data.get(name, default)
        if not isinstance(value, str):
            raise self._bad(name, "a string")
        return plain_text(name, value)  # a Body may also be made from a form's values

    def opt_uuid(self, name: str) -> UUID | None:
        value = self.data.get(name)
        if value is None:
            return None
        try:
            return UUID(str(value))
        except ValueError:
            raise self._bad(name, "an id") from None

    def uuid(self, name: str) -> UUID:
        value = self.opt_uuid(name)
        if value is None:
            raise self._bad(name, "an id")
        return value

    def integer(self, name: str) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(name, "a whole number")
        return value

    def strs(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "a list of strings")
        return tuple(plain_text(name, v) for v in value)

    def obj(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise self._bad(name, "an object")
        return value

    def forbid(self, *names: str) -> None:
        """Refuses fields the caller may not set (rather than silently ignoring them)."""
        present = [n for n in names if n in self.data]
        if present:
            raise ApiError(422, "forbidden_field",
                           f"You may not set: {', '.join(present)}.", tuple(present))  # fmt: skip


def media_type(content_type: str) -> str:
    """The media type of a Content-Type header without its parameters, lower case:
    `application/json; charset=utf-8` is application/json, `text/plain; application/json` is not."""
    return content_type.partition(";")[0].strip().lower()


def expected_version(request: Request, body: Body) -> int:
    """The version a command was written against: If-Match or the body's `version`."""
    header = request.headers.get("if-match", "").strip().strip('"').removeprefix("W/").strip('"')
    if header:
        try:
            return int(header)
        except ValueError:
            raise ApiError(400, "bad_if_match", "If-Match must be the ticket's version.") from None
    if "version" not in body.data:
        raise ApiError(422, "version_required",
                       "Send the ticket version you saw (If-Match or `version`).",
                       ("version",))  # fmt: skip
    return body.integer("version")


def path_id(request: Request, name: str, what: str) -> UUID:
    """The id in the path parameter `name`; a malformed one is simply not found (404)."""
    try:
        return UUID(str(request.path_params[name]))
    except ValueError:
        raise ApiError(404, "not_found", f"No such {what}.") from None
