"""The API's descriptions as the tests read them: which operation serves a route, and schema
validators (jsonschema_rs, which schemathesis brings) with the document's components."""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from web.errors import PROBLEM_JSON

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


def problem_type(document: S) -> S:
    found: S = document["components"]["responses"]["Refused"]["content"][PROBLEM_JSON]["schema"]
    return found
