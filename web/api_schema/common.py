"""What every part of the API description shares: the answers' base, a command's `Written`, the
RFC 9457 problem, and `Operation`, the one record each route is described by.

Answers are msgspec Structs with `forbid_unknown_fields`: their schemas are closed, so a field a
route adds to its answer without adding it here fails tests/web/test_openapi_answers.py and
schemathesis' conformance check. Request bodies (`Sent`) stay open: the routes ignore fields
they do not read. Fields a requester is not shown are `UnsetType`: absent from his answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

Position = Annotated[int, Meta(ge=0, description="A position in the event log.")]
Moment = Annotated[datetime, Meta(tz=True)]  # with its offset: an RFC 3339 date-time
Version = Annotated[
    int,
    Meta(ge=0, description="The version you saw; or send it as If-Match (which wins)."),
]


class Answer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The base of every answer: closed (no field that is not described)."""


class Sent(msgspec.Struct, kw_only=True):
    """The base of every request body (open: fields a route does not read are ignored)."""


class Written(Answer, kw_only=True):
    """What a command answers: the aggregate it changed, the log position of its last event
    (pass it as `?after=` to a query to read your own write) and the aggregate's new version
    (the next command's If-Match)."""

    id: UUID
    position: Position
    version: int


class Refusal(Answer, kw_only=True):
    """The refusal as it was before RFC 9457 (clients read `code`)."""

    code: str
    message: str
    fields: list[str]
    current_version: int | UnsetType = UNSET  # a stale version (409)
    current_revision: int | UnsetType = UNSET  # a stale article revision (409)
    changes: list[str] | UnsetType = UNSET  # and what changed since the revision edited


class Problem(Answer, kw_only=True):
    """Every refusal: RFC 9457 problem details (application/problem+json) with the earlier
    `error` member inside."""

    type: Annotated[str, Meta(extra_json_schema={"format": "uri-reference"},
                              description="tag:suz,2026:problem:<code>")]  # fmt: skip
    title: Annotated[str, Meta(description="The status's title, in the caller's language.")]
    status: Annotated[int, Meta(ge=400, le=599)]
    detail: str
    instance: Annotated[str, Meta(extra_json_schema={"format": "uri-reference"},
                                  description="The request's path (never its query).")] | UnsetType = UNSET  # fmt: skip  # noqa: E501
    error: Refusal


class TemplateRef(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A template's revision a message was written from (send it with the message)."""

    id: UUID
    revision: int


class Info(msgspec.Struct, kw_only=True):
    title: str
    version: str
    description: str = ""


class Description(msgspec.Struct, kw_only=True):
    """A machine-readable description (OpenAPI 3.1 or AsyncAPI 3.0): its own schema applies."""

    info: Info
    openapi: str | UnsetType = UNSET
    asyncapi: str | UnsetType = UNSET


# -- operations -------------------------------------------------------------------------------
def said(name: str) -> str:
    """A command's class name as words: ReplyToTicket -> Reply to ticket."""
    return re.sub(r"(?<!^)([A-Z])", r" \1", name).capitalize()


REFUSED = (400, 401, 403, 404, 422)  # what a route may refuse with, unless it says otherwise
COMMAND_REFUSED = (400, 401, 403, 404, 409, 413, 415, 422)


@dataclass(frozen=True)
class Param:
    """A path, query or header parameter; `type` is described like the models' fields."""

    name: str
    where: str
    type: Any = str
    description: str = ""


def in_path(name: str, type_: Any = UUID, description: str = "") -> Param:
    return Param(name, "path", type_, description)


def in_query(name: str, type_: Any = str, description: str = "") -> Param:
    return Param(name, "query", type_, description)


AFTER = in_query("after", Position, "Read your own write: answer once the views have reached "
                 "this log position (a command's `position`; waits up to 10 s).")  # fmt: skip
KEY = in_query("key", str, "A private link's key (or the X-Ticket-Key header): its holder is "
               "the request's requester.")  # fmt: skip


@dataclass(frozen=True)
class Raw:
    """A body that is not JSON: its media type, what it holds, and its schema if it has one."""

    media_type: str
    description: str
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    """One route and method as the OpenAPI document describes it (web/openapi.py).

    `answer` is a type the schema is generated from (a Struct, a list of them, an annotated
    dict), a `Raw` for a file, or None for 204 No Content; `body` a `Sent` Struct or a `Raw`
    (multipart). A write that reads no body says so with `bodiless` (the tests ask every other
    write for a body)."""

    method: str
    path: str
    summary: str
    answer: Any
    body: Any = None
    status: int = 200
    params: tuple[Param, ...] = ()
    refusals: tuple[int, ...] = REFUSED
    bodiless: bool = False
    also: tuple[Raw, ...] = ()  # other media types the same success may answer in
