"""Schemathesis against a running server's OpenAPI document: no 5xx, answers as documented.

Every operation of /api/openapi.json gets a few generated requests, once with an agent's API
token (issued from a signed-in session) and once anonymously; each answer must not be a server
error, its status and media type must be documented, and it must match the documented schema
(the schemas are generated from the typed models in web/api_schema/: closed objects, so a field
an answer gains without its model fails here).
"""

from __future__ import annotations

import warnings
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.e2e.server import Agent, Server

EXAMPLES = 12
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported
    suppress_health_check=list(HealthCheck),
)
CHECKS: list[Any] = [not_a_server_error, status_code_conformance, content_type_conformance,
                     response_schema_conformance]  # fmt: skip


def api_token(server: Server) -> str:
    agent = Agent.sign_in(server.url, "agent")
    with agent.client() as client:
        r = client.post("/api/v1/me/tokens", json={"name": "schemathesis"})
        assert r.status_code == 201, r.text
        secret: str = r.json()["secret"]
        return secret


def exercise(operation: Any, headers: dict[str, str], base_url: str) -> None:
    """Runs the generated requests of one operation; raises the first failed check."""

    @SETTINGS
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=10)

    run()


def summary(e: BaseException) -> str:
    """The failure's gist: each distinct failure's title and its reproducing request."""
    text = str(e)
    for sub in getattr(e, "exceptions", ()):
        text += "\n" + str(sub)
    keep = [line.strip() for line in text.splitlines()
            if line.strip().startswith(("- ", "curl", "[", "Validated"))]  # fmt: skip
    return "\n  ".join(keep[:12]) if keep else text[:1000]


@pytest.mark.parametrize("auth", ["agent-token", "anonymous"])
def test_the_api_answers_as_documented(server: Server, auth: str) -> None:
    headers = {"Authorization": f"Bearer {api_token(server)}"} if auth == "agent-token" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"the document is invalid: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        try:
            exercise(operation, headers, server.url)
        except (Exception, BaseExceptionGroup) as e:  # every operation runs; all are reported
            failures.append(f"{operation.label}: {summary(e)}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
    assert not server.process.poll(), server.output()
