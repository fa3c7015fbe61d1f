"""The log of a real `suz serve` (its stderr, as written by the configured handler): one JSON line
per request saying the route's template, status, duration, request id and the actor's account
id, and none of the secrets the requests carried: a password (right and wrong), the session
cookie, the CSRF token, an API token, a private link's key, a visitor's e-mail address."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import settings_for
from tests.e2e.server import ORIGIN, Agent, filing, serve, server_env
from tests.web.desk_site import PASSWORD, migrate

WRONG_PASSWORD = "not-the-password-Zq81"
VISITOR_EMAIL = "visitor.observe@example.ru"


def lines_of(output: str) -> list[dict[str, Any]]:
    """The JSON lines of the server's output (its one plain line is the "open ..." print)."""
    found = []
    for line in output.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
        else:
            assert line.startswith("suz: open "), line  # everything else is JSON
    return found


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_log_says_who_did_what_and_no_secret(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = settings_for(backend, tmp_path, request)
    world = migrate(settings)
    env = {**server_env(settings), "SUZ_LOG_FORMAT": "json"}
    with serve(env, tmp_path) as server:
        base = server.url
        wrong = httpx.post(f"{base}/api/v1/session",
                           json={"login": "agent1", "password": WRONG_PASSWORD})  # fmt: skip
        assert wrong.status_code == 401
        agent = Agent.sign_in(base, "agent")
        with agent.client() as client:
            issued = client.post("/api/v1/me/tokens", json={"name": "observe"})
            assert issued.status_code == 201, issued.text
            token = issued.json()["secret"]
            assert client.get("/api/v1/me").status_code == 200
        me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}",
                                                      "X-Request-Id": "observe-1"})  # fmt: skip
        assert me.status_code == 200 and me.headers["x-request-id"] == "observe-1"
        visitor = {**filing(world.contracts), "contact_name": "Гость",
                   "contact_email": VISITOR_EMAIL}  # fmt: skip
        filed = httpx.post(f"{base}/api/v1/tickets", json=visitor, headers={"Origin": ORIGIN})
        assert filed.status_code == 201, filed.text
        ticket, key = filed.json()["id"], filed.json()["key"]
        page = httpx.get(f"{base}/r/{ticket}?key={key}", headers={"Accept": "text/html"})
        assert page.status_code == 200, page.text
        api = httpx.get(f"{base}/api/v1/tickets/{ticket}", headers={"X-Ticket-Key": key})
        assert api.status_code == 200, api.text
        server.stop()  # every line written
    output = server.output()
    secrets = {"password": PASSWORD, "wrong password": WRONG_PASSWORD, "cookie": agent.cookie,
               "csrf token": agent.csrf, "api token": token, "private link's key": key,
               "e-mail": VISITOR_EMAIL}  # fmt: skip
    leaked = [what for what, secret in secrets.items() if secret in output]
    assert not leaked, f"{leaked} in the log:\n{output}"

    lines = lines_of(output)
    access = [r for r in lines if r["logger"] == "suz.access"]
    seen = {(r["method"], r["route"], r["status"]) for r in access}
    assert {("POST", "/api/v1/session", 401), ("POST", "/api/v1/session", 200),
            ("POST", "/api/v1/me/tokens", 201), ("GET", "/api/v1/me", 200),
            ("POST", "/api/v1/tickets", 201), ("GET", "/r/{ticket_id}", 200),
            ("GET", "/api/v1/tickets/{ticket_id}", 200)} <= seen, seen  # fmt: skip
    by_token = [r for r in access if r["request_id"] == "observe-1"]
    assert len(by_token) == 1
    assert by_token[0]["actor"] == str(world.agent.id)  # the account's id, nothing else of it
    assert by_token[0]["route"] == "/api/v1/me" and by_token[0]["duration_ms"] >= 0
    tokens_line = next(r for r in access if r["route"] == "/api/v1/me/tokens")
    assert tokens_line["actor"] == str(world.agent.id)  # a session's caller too
    assert all(len(r["request_id"]) == 32 for r in access if r is not by_token[0])
    assert any(r["logger"] == "uvicorn.error" and "Application startup complete" in r["message"]
               for r in lines)  # uvicorn's own lines: in the same format  # fmt: skip
