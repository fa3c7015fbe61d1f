"""The OpenAPI 3.1 description of /api/v1, and a browsable page of it (/api/docs, no script)."""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from domain.tickets.commands import BY_API, TicketCommand
from web.command_input import schema
from web.errors import PROBLEM_JSON
from web.http import json

S = dict[str, Any]
STR: S = {"type": "string"}
ID: S = {"type": "string", "format": "uuid"}
STRS: S = {"type": "array", "items": STR}
ERROR: S = {"$ref": "#/components/schemas/Error"}
WRITTEN: S = {"$ref": "#/components/schemas/Written"}
ANY_OBJECT: S = {"type": "object"}
LIST: S = {"type": "array", "items": ANY_OBJECT}


def obj(required: list[str], **props: S) -> S:
    return {"type": "object", "required": required, "properties": props}


# Each ticket command's body, from its fields (web/command_input.py); what types cannot say:
BOUNDS: dict[tuple[str, str], S] = {("rating", "score"): {"minimum": 1, "maximum": 5}}


def _command_body(api: str, kind: type[TicketCommand]) -> S:
    body = schema(kind)
    for (name, prop), extra in BOUNDS.items():
        if name == api:
            body["properties"][prop] = {**body["properties"][prop], **extra}
    return body


COMMAND_BODIES: dict[str, S] = {api: _command_body(api, kind) for api, kind in BY_API.items()}


# RFC 9457 problem details (web/errors.py), with the earlier `error` member kept inside
ERROR_SCHEMA: S = {
    **obj(
        ["type", "title", "status", "detail", "error"],
        type={"type": "string", "format": "uri-reference"},
        title=STR,
        status={"type": "integer"},
        detail=STR,
        instance={"type": "string", "format": "uri-reference"},
        error={
            **obj(["code", "message", "fields"], code=STR, message=STR, fields=STRS),
            "description": "The same refusal as before RFC 9457 (clients read `code`); a stale "
            "version adds `current_version`, a stale revision `current_revision` and `changes`.",
        },
    ),
    "example": {
        "type": "tag:suz,2026:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "The ticket changed meanwhile.",
        "instance": "/api/v1/tickets/6f1c0b9e-1d2a-4c3b-9a8e-0d5f1e2a3b4c/replies",
        "error": {
            "code": "conflict",
            "message": "The ticket changed meanwhile.",
            "fields": [],
            "current_version": 4,
        },
    },
}


def op(
    summary: str,
    *,
    body: S | None = None,
    ok: int = 200,
    result: S = ANY_OBJECT,
    params: list[S] | None = None,
    errors: tuple[int, ...] = (400, 401, 403, 404, 422),
) -> S:
    operation: S = {
        "summary": summary,
        "parameters": params or [],
        "responses": {
            str(ok): {"description": "done", "content": {"application/json": {"schema": result}}}
            if ok != 204
            else {"description": "done"},
            **{
                str(e): {"description": "refused", "content": {PROBLEM_JSON: {"schema": ERROR}}}
                for e in errors
            },
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def path_param(name: str, schema: S = ID) -> S:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query(name: str, schema: S = STR) -> S:
    return {"name": name, "in": "query", "required": False, "schema": schema}


TICKET = path_param("ticket_id")
AFTER = query("after", {"type": "integer", "minimum": 0})


def document() -> S:
    paths: S = {
        "/api/v1/session": {
            "post": op(
                "Sign in; sets the session cookie, returns the CSRF token",
                body=obj(["login", "password"], login=STR, password=STR),
                errors=(400, 401, 415, 422, 429),
            ),
            "delete": op("Sign out", ok=204, errors=(403,)),
        },
        "/api/v1/me": {"get": op("Who am I", errors=(401,))},
        "/api/v1/categories": {
            "get": op(
                "Categories and their forms (public)", result=LIST, params=[AFTER], errors=()
            ),
            "post": op(
                "Define a category (administrators)",
                ok=201,
                result=WRITTEN,
                body=obj(
                    ["name_ru", "name_en"],
                    name_ru=STR,
                    name_en=STR,
                    form={"type": "array"},
                    default_group=ID,
                    parent=ID,
                ),
            ),
        },
        "/api/v1/tickets": {
            "post": op(
                "File a request (signed in, by API token, or anonymously with a contact)",
                ok=201,
                body=obj(
                    ["category", "subject", "description"],
                    category=ID,
                    subject=STR,
                    description=STR,
                    fields=ANY_OBJECT,
                    priority={
                        "enum": ["low", "normal", "high", "critical"],
                        "description": "Staff filing on someone's behalf only: from a "
                        "requester or an anonymous visitor it is refused (422, field "
                        "`priority`); they say `urgency` instead.",
                    },
                    urgency={
                        "enum": ["low", "normal", "high"],
                        "description": "How urgent it "
                        "is for the requester; shown to staff, it does not set the "
                        "priority.",
                    },
                    contact_name=STR,
                    contact_email=STR,
                ),
                errors=(400, 401, 403, 404, 413, 415, 422, 429),
            )
        },
        "/api/v1/tickets/{ticket_id}": {
            "get": op(
                "A request and its timeline as the caller may see it",
                params=[TICKET, AFTER, query("key")],
            )
        },
        "/api/v1/tickets/{ticket_id}/attachments": {
            "post": {
                **op(
                    "Attach a file (multipart: file, version, internal)",
                    ok=201,
                    params=[TICKET],
                    errors=(400, 401, 403, 404, 409, 413, 415, 422),
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": obj(
                                ["file", "version"],
                                file={"type": "string", "format": "binary"},
                                version=STR,
                                internal=STR,
                            )
                        }
                    },
                },
            }
        },
        "/api/v1/tickets/{ticket_id}/attachments/{sha256}": {
            "get": {
                **op("Download an attachment", params=[TICKET, path_param("sha256", STR)]),
                "responses": {
                    "200": {"description": "the file"},
                    "404": {
                        "description": "refused",
                        "content": {"application/json": {"schema": ERROR}},
                    },
                },
            }
        },
        "/api/v1/queues/counts": {"get": op("Live counts of queues", params=[query("queue")])},
        "/api/v1/queues/{kind}": {
            "get": op(
                "A queue, keyset-paginated",
                params=[
                    path_param(
                        "kind", {"enum": ["group", "unassigned", "waiting", "mine", "line"]}
                    ),
                    query("group"),
                    query("line"),
                    query("status"),
                    query("after_number"),
                    AFTER,
                ],
            )
        },
        "/api/v1/my/tickets": {
            "get": op(
                "My (or my organisation's) requests",
                params=[query("scope"), query("after_number"), AFTER],
            )
        },
        "/api/v1/search": {"get": op("Full-text search", params=[query("q")])},
        "/api/v1/activity": {
            "get": op("The desk's activity stream", result=LIST, params=[query("before")])
        },
        "/api/v1/directory": {"get": op("Groups and staff")},
        "/api/v1/me/password": {
            "post": op(
                "Change my password (ends my API tokens and other sessions; this one stays)",
                body=obj(["current", "new"], current=STR, new=STR),
                errors=(400, 401, 403, 404, 422, 429),
            )
        },
        "/api/v1/me/tokens": {
            "get": op("My API tokens", result=LIST),
            "post": op(
                "Issue an API token (its secret is shown once)",
                ok=201,
                body=obj(["name"], name=STR),
            ),
        },
        "/api/v1/me/tokens/{token_id}": {
            "delete": op("Revoke an API token", ok=204, params=[path_param("token_id")])
        },
        "/api/v1/accounts": {
            "post": op(
                "Register an account (administrators)",
                ok=201,
                result=WRITTEN,
                body=obj(
                    ["login", "display_name", "roles", "password"],
                    login=STR,
                    display_name=STR,
                    roles=STRS,
                    organisation=ID,
                    email=STR,
                    password=STR,
                ),
            )
        },
        "/api/v1/accounts/{account_id}/{action}": {
            "post": op(
                "Disable or enable an account",
                result=WRITTEN,
                params=[
                    path_param("account_id"),
                    path_param("action", {"enum": ["disable", "enable"]}),
                ],
            )
        },
        "/api/v1/accounts/{account_id}/password": {
            "put": op(
                "Reset an account's password (administrators; its sessions and tokens end)",
                params=[path_param("account_id")],
                body=obj(["password"], password=STR),
            )
        },
        "/api/v1/accounts/{account_id}/roles": {
            "put": op(
                "Change an account's roles (its sessions end)",
                result=WRITTEN,
                params=[path_param("account_id")],
                body=obj(["roles"], roles=STRS),
            )
        },
        "/api/v1/accounts/{account_id}/groups/{group_id}": {
            "post": op(
                "Add an account to a group",
                result=WRITTEN,
                params=[path_param("account_id"), path_param("group_id")],
            ),
            "delete": op(
                "Take an account out of a group",
                result=WRITTEN,
                params=[path_param("account_id"), path_param("group_id")],
            ),
        },
        "/api/v1/categories/{category_id}/form": {
            "put": op(
                "Change a category's form",
                result=WRITTEN,
                params=[path_param("category_id")],
                body=obj(["form"], form={"type": "array"}),
            )
        },
        "/api/v1/kb/articles": {
            "get": op(
                "Search the knowledge base (requesters: published public articles)",
                result=LIST,
                params=[query("q"), query("category"), AFTER],
            ),
            "post": op(
                "Draft an article or template (methodologists)",
                ok=201,
                result=WRITTEN,
                body=obj(["content"], kind=STR, content=ANY_OBJECT, gap=ID),
            ),
        },
        "/api/v1/kb/articles/{article_id}": {
            "get": op(
                "An article (staff: with revisions and diffs)", params=[path_param("article_id")]
            ),
            "put": op(
                "Revise (refused with what changed when based on an old revision)",
                result=WRITTEN,
                params=[path_param("article_id")],
                body=obj(
                    ["based_on", "content"],
                    based_on={"type": "integer"},
                    content=ANY_OBJECT,
                    note=STR,
                ),
                errors=(400, 401, 403, 404, 409, 422),
            ),
        },
        "/api/v1/kb/articles/{article_id}/{action}": {
            "post": op(
                "submit, approve, send-back, publish, archive, or helped (a deflection)",
                result=WRITTEN,
                params=[
                    path_param("article_id"),
                    path_param(
                        "action",
                        {
                            "enum": [
                                "submit",
                                "approve",
                                "send-back",
                                "publish",
                                "archive",
                                "helped",
                            ]
                        },
                    ),
                ],
                body=obj([], comment=STR, reason=STR),
                errors=(400, 401, 403, 404, 409, 415, 422),
            )
        },
        "/api/v1/kb/suggestions": {
            "get": op(
                "Articles matching a text (public)",
                result=LIST,
                params=[query("q"), query("category"), query("templates")],
                errors=(),
            )
        },
        "/api/v1/kb/usage": {"get": op("How often articles and templates were used")},
        "/api/v1/kb/gaps": {
            "post": op(
                "Raise a knowledge gap",
                ok=201,
                body=obj(
                    ["subject", "description"],
                    subject=STR,
                    description=STR,
                    tickets=STRS,
                    category=ID,
                ),
                errors=(400, 401, 403, 404, 409, 415, 422),
            )
        },
        "/api/v1/tickets/{ticket_id}/suggestions": {
            "get": op(
                "Articles and templates fitting this request (staff)", params=[TICKET], result=LIST
            )
        },
        "/api/v1/tickets/{ticket_id}/template": {
            "get": op(
                "A template filled in for this request",
                params=[TICKET, query("template"), query("lang")],
            )
        },
        "/api/v1/organisations": {
            "post": op(
                "Register an organisation",
                ok=201,
                result=WRITTEN,
                body=obj(["name", "inn"], name=STR, inn=STR),
            )
        },
        "/api/v1/groups": {
            "post": op(
                "Form a group",
                ok=201,
                result=WRITTEN,
                body=obj(["name", "kind"], name=STR, kind=STR),
            )
        },
        "/api/v1/groups/{group_id}/lead": {
            "put": op(
                "Appoint a group's lead (an active agent of the group; null: no lead); low"
                " ratings' follow-ups go to the lead",
                result=WRITTEN,
                params=[path_param("group_id")],
                body=obj(["lead_id"], lead_id={"type": ["string", "null"], "format": "uuid"}),
            )
        },
        "/api/v1/tickets/{ticket_id}/history": {
            "get": op(
                "A request exactly as it was at a version or a moment, replayed from its events",
                params=[
                    TICKET,
                    query("version"),
                    query("as_of"),
                    query("view"),
                    AFTER,
                    query("key"),
                ],
            )
        },
        "/api/v1/tickets/{ticket_id}/export": {
            "get": {
                **op(
                    "The request's stored events with a signed manifest (zip; staff)",
                    params=[TICKET],
                ),
                "responses": {
                    "200": {
                        "description": "a zip: events.jsonl, manifest.json,"
                        " manifest.sig, public_key.pem"
                    },
                    **{str(e): {"description": "refused"} for e in (401, 403, 404)},
                },
            }
        },
        "/api/v1/audit/public-key": {
            "get": {
                **op("The public key that verifies export manifests (PEM)"),
                "responses": {"200": {"description": "the key"}},
            }
        },
        "/api/v1/audit/checks/last": {"get": op("The last full integrity check (auditors)")},
        "/api/v1/audit/seals": {
            "get": op(
                "Every signed seal of the log's head (auditors, curators, admins); JSON, or"
                " JSON Lines with format=jsonl, to keep and check later",
                params=[query("format", {"enum": ["json", "jsonl"]})],
                errors=(401, 403),
            )
        },
        "/api/v1/audit/seals/checks/last": {
            "get": op("The last check of the store against the seals (auditors)", errors=(401, 403))
        },
        "/api/v1/audit/export": {
            "get": {
                **op(
                    "Every event of a period (UTC days), signed (auditors, curators, admins)",
                    params=[query("from"), query("to")],
                ),
                "responses": {
                    "200": {
                        "description": "a zip: events.jsonl, manifest.json,"
                        " manifest.sig, public_key.pem"
                    },
                    **{str(e): {"description": "refused"} for e in (401, 403, 422)},
                },
            }
        },
        "/api/v1/routing/rules": {
            "get": op("The routing rules, in order (staff)"),
            "put": op(
                "Replace the routing rules (administrators; send the version you saw)",
                body=obj(["rules", "version"], rules=LIST, version={"type": "integer"}),
                result=WRITTEN,
                errors=(400, 401, 403, 404, 409, 415, 422),
            ),
        },
        "/api/v1/sla": {
            "get": op("The SLA set-up: calendars, policies, auto-close (staff)"),
            "put": op(
                "Replace the SLA set-up (administrators; send the version you saw)",
                body=obj(
                    ["calendars", "policies", "version"],
                    calendars=LIST,
                    policies=LIST,
                    auto_close_days={"type": "integer"},
                    version={"type": "integer"},
                ),
                result=WRITTEN,
                errors=(400, 401, 403, 404, 409, 415, 422),
            ),
        },
        "/api/v1/incidents/triggers": {
            "get": op("Trigger rules with their current counts (staff)"),
            "put": op(
                "Replace the trigger rules (administrators, analysts)",
                body=obj(["rules", "version"], rules=LIST, version={"type": "integer"}),
                result=WRITTEN,
                errors=(400, 401, 403, 404, 409, 415, 422),
            ),
        },
        "/api/v1/incidents": {
            "get": op("Proposals and incidents (staff)"),
            "post": op(
                "Open an incident by hand or from a proposal (developers, operations, admins)",
                ok=201,
                body=obj(["title", "description"], title=STR, description=STR, proposal=ID),
                errors=(400, 401, 403, 404, 409, 415, 422),
            ),
        },
        "/api/v1/incidents/{incident_id}": {
            "get": op(
                "One incident with its linked requests (staff)", params=[path_param("incident_id")]
            ),
        },
        "/api/v1/incidents/{incident_id}/{command}": {
            "post": op(
                "An incident command: dismissal, links, updates, resolution",
                params=[
                    path_param("incident_id"),
                    path_param(
                        "command", {"enum": ["dismissal", "links", "updates", "resolution"]}
                    ),
                ],
                body=ANY_OBJECT,
                errors=(400, 401, 403, 404, 409, 415, 422),
            )
        },
        "/api/v1/incidents/{incident_id}/links/{ticket_id}": {
            "delete": op(
                "Take a request out of an incident",
                params=[path_param("incident_id"), TICKET],
                errors=(400, 401, 403, 404, 409, 422),
            ),
        },
    }
    for name, body in COMMAND_BODIES.items():
        paths[f"/api/v1/tickets/{{ticket_id}}/{name}"] = {
            "post": op(
                f"Ticket command: {name} (send the version you saw: If-Match or `version`)",
                body={**body, "properties": {**body["properties"], "version": {"type": "integer"}}},
                result=WRITTEN,
                params=[TICKET],
                errors=(400, 401, 403, 404, 409, 413, 415, 422),
            )
        }
    with_idempotency_key(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "suz API",
            "version": "1",
            "description": "Every command and query of the support desk.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": ERROR_SCHEMA,
                "Written": obj(
                    ["id", "position", "version"],
                    id=ID,
                    position={"type": "integer"},
                    version={"type": "integer"},
                ),
            }
        },
    }


IDEMPOTENCY_KEY: S = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique value (a UUID): sent again with the same key, the command is not "
    "run again; the first answer comes back (Idempotent-Replayed: true) for 24 hours. The same "
    "key with another request: 422; while the first still runs: 409 (web/idempotency.py).",
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
}


def with_idempotency_key(paths: S) -> None:
    """Every command (POST, PUT, PATCH, DELETE) takes an Idempotency-Key header."""
    for methods in paths.values():
        for method, operation in methods.items():
            if method in ("post", "put", "patch", "delete"):
                operation["parameters"] = [*operation.get("parameters", []), IDEMPOTENCY_KEY]
                for status in ("409", "422"):
                    operation["responses"].setdefault(status, {"description": "refused",
                        "content": {PROBLEM_JSON: {"schema": ERROR}}})  # fmt: skip


async def openapi(request: Request) -> Response:
    return json(document())


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
        "<a href=/api/openapi.json>/api/openapi.json</a>.</p>"
        f"<table><tr><th>method</th><th>path</th><th>what</th></tr>{''.join(rows)}</table>"
    )


async def docs(request: Request) -> Response:
    return HTMLResponse(docs_page(document()["paths"]))


routes = [Route("/api/openapi.json", openapi), Route("/api/docs", docs)]
