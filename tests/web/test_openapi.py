"""The API's descriptions cover the app: every route under /api/ is an operation of the OpenAPI
document with typed answers (and a typed body for a write), every ticket and incident command
of the registries is there with its fields, every example fits its schema, and /live is
described by the AsyncAPI document."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Match, Route, WebSocketRoute

from domain import incident_commands
from domain.settings import Settings
from domain.tickets import commands
from suz.bootstrap import web_app
from tests.web.api_description import concrete, resolve, validator
from web import incident_input
from web.api_schema import live
from web.command_input import NO_DEFAULT, sent_fields, wire
from web.openapi import document, operations

S = dict[str, Any]
WRITES = ("post", "put", "patch", "delete")
# Writes that read no body, each for a reason; any other write must describe its body.
BODILESS = {
    ("delete", "/api/v1/session"),  # the cookie says which session
    ("delete", "/api/v1/me/tokens/{token_id}"),  # the path says which token
    ("post", "/api/v1/accounts/{account_id}/{action}"),  # disable or enable: the path says
    ("post", "/api/v1/accounts/{account_id}/groups/{group_id}"),
    ("delete", "/api/v1/accounts/{account_id}/groups/{group_id}"),
    ("delete", "/api/v1/incidents/{incident_id}/links/{ticket_id}"),
}


@pytest.fixture(scope="module")
def doc() -> S:
    return document()


@pytest.fixture(scope="module")
def app_routes(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """The routes of the app as `suz serve` builds it (nothing is started)."""
    data = tmp_path_factory.mktemp("routes") / "data"
    app = web_app(Settings(data_dir=Path(data), database_url=None), run_views=False)
    return list(app.routes)


def serving(routes: list[Any], method: str, path: str) -> Any:
    """The route the app sends `method path` to (the first that matches fully), or None."""
    scope = {"type": "http", "method": method.upper(), "path": path, "root_path": ""}
    return next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)


def test_every_route_under_api_is_an_operation_and_every_operation_a_route(
    doc: S, app_routes: list[Any]
) -> None:
    served: set[tuple[str, str]] = set()
    unserved = []
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            route = serving(app_routes, method, concrete(path, operation))
            if route is None:
                unserved.append(f"{method.upper()} {path}")
            else:
                served.add((route.path, method))
    assert unserved == [], "described, but no route serves them"
    undescribed = [f"{m} {r.path}" for r in app_routes
                   if isinstance(r, Route) and r.path.startswith("/api/")
                   for m in sorted(r.methods or ()) if m != "HEAD"
                   and (r.path, m.lower()) not in served]  # fmt: skip
    assert undescribed == [], "routes without an operation in web/api_schema/"


def test_the_check_fails_for_a_route_nobody_described(doc: S, app_routes: list[Any]) -> None:
    async def echo() -> None: ...

    added = [Route("/api/v1/tickets/{ticket_id}/echo", echo, methods=["PUT"]), *app_routes]
    with pytest.raises(AssertionError, match="routes without an operation"):
        test_every_route_under_api_is_an_operation_and_every_operation_a_route(doc, added)


def test_the_websocket_is_described_by_the_asyncapi_document(app_routes: list[Any]) -> None:
    asyncapi = live.document()
    addresses = {c["address"] for c in asyncapi["channels"].values()}
    sockets = {r.path for r in app_routes if isinstance(r, WebSocketRoute)}
    assert sockets == addresses == {"/live"}
    assert asyncapi["asyncapi"] == "3.0.0"
    for operation in asyncapi["operations"].values():
        for message in operation["messages"]:
            name = message["$ref"].rsplit("/", 1)[1]
            assert name in asyncapi["channels"]["live"]["messages"]


def untyped(doc: S, schema: S, where: str, top: bool = True) -> list[str]:
    """The places in `schema` that say nothing of their shape: an object with no properties
    (anywhere, unless a description says why it is free), an array of such."""
    schema = resolve(doc, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return [u for s in schema[key] for u in untyped(doc, s, where, top)]
    found = []
    if schema.get("type") == "object":
        props, extra = schema.get("properties"), schema.get("additionalProperties")
        if not props and not isinstance(extra, dict) and (top or "description" not in schema):
            return [where]
        for name, prop in (props or {}).items():
            found += untyped(doc, prop, f"{where}.{name}", top=False)
        if isinstance(extra, dict):
            found += untyped(doc, extra, f"{where}[*]", top=False)
    if schema.get("type") == "array":
        items = schema.get("items")
        if not isinstance(items, dict):
            return [where] if "prefixItems" not in schema else []
        found += untyped(doc, items, f"{where}[]", top)
    if not schema:
        return [where]
    return found


def test_every_operation_answers_and_reads_typed_json(doc: S) -> None:
    loose = []
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            name = f"{method.upper()} {path}"
            assert operation["summary"] and operation["operationId"], name
            ok = [s for s in operation["responses"] if s.startswith("2")]
            assert len(ok) == 1, name
            response = operation["responses"][ok[0]]
            for media, content in response.get("content", {}).items():
                loose += untyped(doc, content["schema"], f"{name} answers {media}")
            if ok[0] != "204":
                assert response.get("content"), f"{name} says nothing of its answer"
            body = operation.get("requestBody")
            if method in WRITES and (method, path) not in BODILESS:
                assert body is not None, f"{name} reads a body it does not describe"
            for media, content in (body or {}).get("content", {}).items():
                loose += untyped(doc, content["schema"], f"{name} reads {media}")
            assert "default" in operation["responses"], name
    assert loose == []


def test_the_writes_without_a_body_say_so_in_their_models() -> None:
    marked = {(op.method, op.path) for _, op in operations() if op.bodiless}
    assert marked == BODILESS


def test_a_bare_object_counts_as_untyped(doc: S) -> None:
    assert untyped(doc, {"type": "object"}, "x") == ["x"]
    assert untyped(doc, {"type": "array", "items": {"type": "object"}}, "x") == ["x[]"]
    nested = {"type": "object", "properties": {"data": {"type": "object"}}}
    assert untyped(doc, nested, "x") == ["x.data"]
    described = {"type": "object", "properties": {"data": {"type": "object", "description": "."}}}
    assert untyped(doc, described, "x") == []


def test_every_example_fits_its_schema(doc: S) -> None:
    checked = 0
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            contents = [r.get("content", {}) for r in operation["responses"].values()]
            contents.append(operation.get("requestBody", {}).get("content", {}))
            for content in contents:
                for media in content.values():
                    if "example" in media:
                        errors = list(validator(doc, media["schema"]).iter_errors(media["example"]))
                        assert errors == [], (method, path, [str(e) for e in errors[:3]])
                        checked += 1
    assert checked >= 100
    asyncapi = live.document()
    for name, message in asyncapi["components"]["messages"].items():
        for given in message["examples"]:
            check = validator(asyncapi, message["payload"])
            assert check.is_valid(given["payload"]), name


def test_every_ticket_command_is_an_operation_with_its_fields(doc: S) -> None:
    assert commands.BY_API
    for api, kind in commands.BY_API.items():
        operation = doc["paths"][f"/api/v1/tickets/{{ticket_id}}/{api}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        sent = {wire(n): d for n, _, d in sent_fields(kind)}
        assert set(body["properties"]) == {*sent, "version"}, kind.__name__
        assert set(body.get("required", [])) == {n for n, d in sent.items() if d is NO_DEFAULT}
        assert resolve(doc, operation["responses"]["200"]["content"]["application/json"][
            "schema"])["title"] == "Written"  # fmt: skip


def test_every_incident_command_is_an_operation_with_its_fields(doc: S) -> None:
    assert incident_commands.BY_API
    for api, kind in incident_commands.BY_API.items():
        operation = doc["paths"][f"/api/v1/incidents/{{incident_id}}/{api}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        fields = [f for f in dataclasses.fields(kind) if f.name != "incident_id"]
        assert set(body["properties"]) == {incident_input.wire(f.name) for f in fields}
        hints = typing.get_type_hints(kind)
        assert all(incident_input.wire(f.name) in body["properties"] and hints[f.name]
                   for f in fields)  # fmt: skip


def test_schemathesis_reads_every_operation(doc: S) -> None:
    import warnings

    import schemathesis
    from schemathesis.core.result import Ok

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_dict(doc)
        results = list(schema.get_all_operations())
    bad = [str(r.err()) for r in results if not isinstance(r, Ok)]
    assert bad == []
    assert len(results) == sum(len(m) for m in doc["paths"].values())
