"""The OpenAPI 3.1 description of /api, generated from the typed models and the command
registries (web/api_schema/), the AsyncAPI 3.0 description of /live, and a browsable page of
the operations (/api/docs, no script). How to add an operation: docs/api.md."""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

import msgspec
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from web.api_schema import (
    analytics,
    audit,
    calls,
    incidents,
    knowledge,
    live,
    people,
    releases,
    setup,
    tickets,
)
from web.api_schema.common import Description, Operation, Param, Problem, Raw
from web.api_schema.examples import example
from web.errors import PROBLEM_JSON

S = dict[str, Any]
REF = "#/components/schemas/{name}"
PROBLEM: S = {"$ref": "#/components/schemas/Problem"}
REFUSALS = {  # each status's problem, described once (components.responses)
    400: ("BadRequest", "The body is not JSON, or If-Match is not a version"),
    401: (
        "NotSignedIn",
        "Not signed in, or the API token is unknown, revoked or its account disabled",
    ),
    403: ("NotAllowed", "Not the caller's to do (or the CSRF token or the Origin is wrong)"),
    404: ("NotFound", "Not found, or not the caller's to see"),
    409: (
        "Conflict",
        "Changed meanwhile (`error.current_version`), or the same Idempotency-Key still running",
    ),
    413: ("TooLarge", "The body is too large"),
    415: ("UnsupportedMediaType", "The body is not of the media type the route reads"),
    422: ("InvalidInput", "`error.fields` names the fields at fault"),
    429: ("TooManyRequests", "Too many attempts: wait Retry-After seconds"),
}
OTHERWISE = (
    "Refused",
    "Any other refusal, or 503 with Retry-After while the storage is unavailable",
)
DESCRIPTIONS = [
    Operation("get", "/api/openapi.json", "This description (OpenAPI 3.1)", Description,
              refusals=()),
    Operation("get", "/api/v1/asyncapi.json", "The /live websocket's description (AsyncAPI 3.0)",
              Description, refusals=()),
    Operation("get", "/api/docs", "The operations as a page", Raw("text/html", "the page"),
              refusals=()),
]  # fmt: skip
SECTIONS = {
    "people": people, "tickets": tickets, "knowledge": knowledge, "set-up": setup,
    "incidents": incidents, "audit": audit, "calls": calls, "analytics": analytics,
    "releases": releases,
}  # fmt: skip
IDEMPOTENCY_KEY: S = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique value (a UUID): sent again with the same key, the command is not "
    "run again; the first answer comes back (Idempotent-Replayed: true) for 24 hours. The same "
    "key with another request: 422; while the first still runs: 409 (web/idempotency.py).",
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
}
WRITES = ("post", "put", "patch", "delete")


def operations() -> list[tuple[str, Operation]]:
    """Every operation with its section's tag, descriptions last."""
    found = [(tag, op) for tag, module in SECTIONS.items() for op in module.OPERATIONS]
    return found + [("descriptions", op) for op in DESCRIPTIONS]


def document() -> S:
    ops = operations()
    types = [Problem]
    for _, op in ops:
        types += [t for t in (op.answer, op.body) if t is not None and not isinstance(t, Raw)]
        types += [p.type for p in op.params]
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    schema_of = {_key(t): s for t, s in zip(types, schemas, strict=True)}
    paths: S = {}
    for tag, op in ops:
        paths.setdefault(op.path, {})[op.method] = _operation(tag, op, schema_of, components)
    doc: S = {
        "openapi": "3.1.0",
        "info": {"title": "suz API", "version": "1", "description": INFO},
        "externalDocs": {"description": "The /live websocket (AsyncAPI 3.0)",
                         "url": "/api/v1/asyncapi.json"},
        "tags": [{"name": tag, "description": _first_line(m.__doc__)}
                 for tag, m in SECTIONS.items()],
        "paths": paths,
        "components": {"schemas": components, "responses": RESPONSES,
                       "securitySchemes": SECURITY},
        "security": [{}, {"token": []}, {"session": []}],
    }  # fmt: skip
    _drop_unreferenced(doc)
    return doc


def _key(t: Any) -> str:
    return repr(t)


def _operation(tag: str, op: Operation, schema_of: dict[str, S], components: S) -> S:
    params = [_param(p, schema_of[_key(p.type)]) for p in op.params]
    operation: S = {
        "operationId": _operation_id(op),
        "tags": [tag],
        "summary": op.summary,
        "parameters": params + ([IDEMPOTENCY_KEY] if op.method in WRITES else []),
        "responses": {str(op.status if op.answer is not None else 204): _success(op, schema_of)},
    }
    if op.body is not None:
        operation["requestBody"] = _body(op.body, schema_of, components)
    refusals = set(op.refusals) | ({409, 422} if op.method in WRITES else set())
    for status in sorted(refusals):
        operation["responses"][str(status)] = {
            "$ref": f"#/components/responses/{REFUSALS[status][0]}"
        }
    operation["responses"]["default"] = {"$ref": f"#/components/responses/{OTHERWISE[0]}"}
    return operation


def _operation_id(op: Operation) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", op.path.removeprefix("/api").lower()).strip("_")
    return f"{op.method}_{words}"


def _param(p: Param, schema: S) -> S:
    found: S = {"name": p.name, "in": p.where, "required": p.where == "path", "schema": schema}
    if p.description:
        found["description"] = p.description
    if p.where == "query" and schema.get("type") == "array":
        found["explode"] = True  # ?queue=a&queue=b
    return found


def _success(op: Operation, schema_of: dict[str, S]) -> S:
    if op.answer is None:
        return {"description": "Done; nothing to answer"}
    content: S = {}
    if isinstance(op.answer, Raw):
        content[op.answer.media_type] = {"schema": _raw_schema(op.answer)}
        return {"description": op.answer.description, "content": content}
    content["application/json"] = {"schema": schema_of[_key(op.answer)],
                                   "example": example(op.answer)}  # fmt: skip
    for raw in op.also:
        content[raw.media_type] = {"schema": _raw_schema(raw)}
    return {"description": _first_line(getattr(op.answer, "__doc__", None)) or "Done",
            "content": content}  # fmt: skip


def _raw_schema(raw: Raw) -> S:
    if raw.schema is not None:
        return raw.schema
    binary = not raw.media_type.startswith(("text/", "application/x-pem", "application/jsonl"))
    return {"type": "string", **({"format": "binary"} if binary else {})}


def _body(body: Any, schema_of: dict[str, S], components: S) -> S:
    if isinstance(body, Raw):
        return {"required": True, "description": body.description,
                "content": {body.media_type: {"schema": _raw_schema(body)}}}  # fmt: skip
    ref = schema_of[_key(body)]["$ref"]
    inline = dict(components[ref.rsplit("/", 1)[1]])  # its fields in place: clients read them
    return {"required": True, "content": {"application/json": {
        "schema": inline, "example": example(body)}}}  # fmt: skip


def _problem(description: str) -> S:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM}}}


RESPONSES = {name: _problem(text) for name, text in (*REFUSALS.values(), OTHERWISE)}


def _first_line(doc: str | None) -> str:
    return " ".join((doc or "").split("\n\n")[0].split())


def _drop_unreferenced(doc: S) -> None:
    """Takes out the components only the inlined bodies used (they would show twice)."""
    schemas = doc["components"]["schemas"]
    while True:
        text = orjson.dumps(doc).decode()
        used = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
        unused = [name for name in schemas if name not in used]
        if not unused:
            return
        for name in unused:
            del schemas[name]


INFO = """Every command and query of the support desk. Types are generated from the models in
web/api_schema/ (docs/api.md).

Sign in with POST /api/v1/session: the answer sets the session cookie and gives the CSRF token
to send as X-CSRF-Token (with an Origin header) on every call that changes something; or send a
personal API token as `Authorization: Bearer suz_...`; a private link's holder sends its key
(`?key=` or X-Ticket-Key). Commands carry the version they were written against (If-Match or
`version`): a stale one answers 409 with the current version. Every command answers the log
position of its last event: pass it as `?after=` to a query to read your own write. Every
refusal is RFC 9457 application/problem+json with the earlier `error` member inside."""
SECURITY: S = {
    "token": {"type": "http", "scheme": "bearer",
              "description": "A personal API token (POST /api/v1/me/tokens)."},
    "session": {"type": "apiKey", "in": "cookie", "name": "suz_session",
                "description": "The sign-in's cookie; writes also send X-CSRF-Token and Origin."},
}  # fmt: skip


@cache
def _encoded(kind: str) -> bytes:
    """A description, built once per process (about 0.1 s, in the thread pool: every schema of
    the API)."""
    if kind == "docs":
        return docs_page(document()["paths"]).encode()
    return orjson.dumps(document() if kind == "openapi" else live.document())


async def openapi(request: Request) -> Response:
    return Response(await run_in_threadpool(_encoded, "openapi"), media_type="application/json")


async def asyncapi(request: Request) -> Response:
    return Response(await run_in_threadpool(_encoded, "asyncapi"), media_type="application/json")


def docs_page(paths: S) -> str:
    """A plain HTML list of the operations (every value escaped; no script)."""
    rows = []
    for path, methods in paths.items():
        for method, operation in methods.items():
            rows.append(
                f"<tr><td><code>{html.escape(method.upper())}</code></td>"
                f"<td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation['summary'])}</td></tr>"
            )
    return (
        "<!doctype html><meta charset=utf-8><title>suz API</title>"
        "<h1>suz API</h1><p>The machine-readable description: "
        "<a href=/api/openapi.json>/api/openapi.json</a>; the websocket /live: "
        "<a href=/api/v1/asyncapi.json>/api/v1/asyncapi.json</a>.</p>"
        f"<table><tr><th>method</th><th>path</th><th>what</th></tr>{''.join(rows)}</table>"
    )


async def docs(request: Request) -> Response:
    return HTMLResponse(await run_in_threadpool(_encoded, "docs"))


routes = [
    Route("/api/openapi.json", openapi),
    Route("/api/v1/asyncapi.json", asyncapi),
    Route("/api/docs", docs),
]
