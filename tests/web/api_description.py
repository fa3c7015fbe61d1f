"""The API's descriptions as the tests read them: schema validators (jsonschema_rs, which
schemathesis brings) with a document's components, the concrete path of a documented one, and
`Answers`, which checks a real answer against the schema its operation documents."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs

from tests.web.desk_site import ORIGIN, Person
from web.openapi import document

S = dict[str, Any]
SAMPLE = {"uuid": "6f1c0b9e-1d2a-4c3b-9a8e-0d5f1e2a3b4c"}


def validator(document: S, schema: S) -> Any:
    """Validates against `schema`, whose `$ref`s point into `document`'s components."""
    return jsonschema_rs.validator_for(
        {**schema, "components": document["components"]}, validate_formats=True
    )


def resolve(document: S, schema: S) -> S:
    while "$ref" in schema:
        kind, name = schema["$ref"].split("/")[-2:]
        schema = document["components"][kind][name]
    return schema


def concrete(path: str, operation: S) -> str:
    """The path with each parameter replaced by a value its schema allows."""
    for p in operation.get("parameters", []):
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", value(p["schema"]))
    return path


def value(schema: S) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("format") == "uuid":
        return SAMPLE["uuid"]
    if "pattern" in schema:
        return "0" * 64
    return "x"


def answer_schema(document: S, method: str, path: str, status: int, media_type: str) -> S:
    """The schema the document gives for this operation's answer (`default` when the status is
    not listed); KeyError when the operation or the media type is not described."""
    responses = document["paths"][path][method]["responses"]
    response = resolve(document, responses.get(str(status)) or responses["default"])
    found: S = response["content"][media_type]["schema"]
    return found


def media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


JSON = ("application/json", "application/problem+json")


class Answers:
    """Checks each answer against the document; remembers which operations it checked."""

    def __init__(self) -> None:
        self.doc = document()
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, r: httpx.Response, method: str, path: str, status: int) -> Any:
        assert r.status_code == status, (method, path, r.text)
        media = media_type(r.headers.get("content-type", ""))
        self.seen.add((method, path))
        if status == 204:
            assert "204" in self.doc["paths"][path][method]["responses"] and not r.content
            return None
        if media not in JSON:  # a file: only its status and media type are described
            content = self.doc["paths"][path][method]["responses"][str(status)]["content"]
            assert media in content or "*/*" in content, (method, path, media)
            return r.content
        schema = answer_schema(self.doc, method, path, status, media)
        data = r.json()
        errors = [f"{e.instance_path}: {e.message}"
                  for e in validator(self.doc, schema).iter_errors(data)]  # fmt: skip
        assert errors == [], (method, path, status, errors[:5], data)
        return data


def call(p: Person | httpx.Client, method: str, url: str, body: Any = None,
         version: int | None = None) -> httpx.Response:  # fmt: skip
    """One call as `p` (a signed-in person, or a client nobody signed in to)."""
    if isinstance(p, Person):
        headers = p.headers(version)
        client: Any = p.client
    else:
        headers, client = {"Origin": ORIGIN}, p
    kwargs = {"json": body} if body is not None or method in ("POST", "PUT") else {}
    r: httpx.Response = client.request(method, url, headers=headers, **kwargs)
    return r
