"""`suz serve --workers 2` on PostgreSQL: both workers answer, /metrics adds up what every
worker counted, and the server stops cleanly.

Every request below opens a fresh connection, so the kernel hands them to either worker. The
access lines (JSON, with the process id) tell the workers apart: both answered ticket commands;
and whichever worker answers a scrape, /metrics counts every one of those commands, once
(prometheus-client's multiprocess mode, web/metrics.py).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.settings import Settings
from tests.conftest import settings_for
from tests.e2e.server import Agent, Server, filing, serve, server_env
from tests.web.desk_site import migrate

pytestmark = pytest.mark.postgres
NOTES = 30
CLOSE = {"Connection": "close"}
METRICS_TOKEN = "e2e-metrics-token"  # /metrics is off without one
COMMANDS = re.compile(
    r'suz_http_requests_total\{method="POST",route="/api/v1/tickets/\{ticket_id\}/\{command\}",'
    r'status="200"\} (\d+)\.0$',
    re.MULTILINE,
)
NOTES_HANDLED = re.compile(r'^suz_commands_total\{kind="AddNote",outcome="ok"\} (\d+)\.0$',
                           re.MULTILINE)  # fmt: skip


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return not state.startswith("Z")  # a zombie has exited; its parent has not reaped it yet


def gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def post(agent: Agent, path: str, body: dict[str, Any], version: int | None = None) -> Any:
    """POSTs on a fresh connection (so either worker may take it); the JSON answer."""
    headers = {"X-CSRF-Token": agent.csrf, "Origin": agent.origin, **CLOSE}
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    r = httpx.post(f"{agent.base}{path}", json=body, headers=headers,
                   cookies={"suz_session": agent.cookie}, timeout=10.0)  # fmt: skip
    assert r.status_code in (200, 201), r.text
    return r.json()


def counted(text: str, pattern: re.Pattern[str]) -> int:
    found = pattern.search(text)
    return int(found.group(1)) if found else 0


def scrape(server: Server) -> str:
    r = httpx.get(f"{server.url}/metrics", timeout=10.0,
                  headers={**CLOSE, "Authorization": f"Bearer {METRICS_TOKEN}"})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.text


def command_workers(log: str) -> set[int]:
    """The process ids of the workers whose access lines say they answered a ticket command."""
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return {r["pid"] for r in lines if r["logger"] == "suz.access"
            and r["route"] == "/api/v1/tickets/{ticket_id}/{command}"}  # fmt: skip


@pytest.fixture
def pg_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return settings_for("postgres", tmp_path, request)


def test_two_workers_answer_and_stop_cleanly(pg_settings: Settings, tmp_path: Path) -> None:
    world = migrate(pg_settings)
    env = {**server_env(pg_settings), "SUZ_METRICS_TOKEN": METRICS_TOKEN, "SUZ_LOG_FORMAT": "json"}
    with serve(env, tmp_path, "--workers", "2") as server:
        workers = children(server.process.pid)
        assert len([p for p in workers if alive(p)]) >= 2, workers  # and a resource tracker
        for _ in range(10):
            assert server.wait_healthy(5)["status"] == "ok"
        filed = post(Agent.sign_in(server.url, "requester"), "/api/v1/tickets",
                     filing(world.contracts))  # fmt: skip
        ticket, version = filed["id"], filed["version"]
        agent = Agent.sign_in(server.url, "agent")
        for i in range(NOTES):
            noted = post(agent, f"/api/v1/tickets/{ticket}/notes", {"body": f"№ {i}"}, version)
            assert noted["version"] == version + 1
            version = noted["version"]
        for _ in range(6):  # whichever worker answers: every worker's count, added up
            text = scrape(server)
            assert counted(text, COMMANDS) == NOTES, text
            assert counted(text, NOTES_HANDLED) == NOTES, text
        assert len(command_workers(server.output())) == 2, "one worker ran every command"
        refused = httpx.get(f"{server.url}/metrics", headers=CLOSE, timeout=10.0)
        assert refused.status_code == 401  # no token, no metrics
        r = httpx.get(f"{server.url}/api/v1/tickets/{ticket}?after=0", headers=CLOSE,
                      cookies={"suz_session": agent.cookie}, timeout=10.0)  # fmt: skip
        assert r.status_code == 200 and r.json()["ticket"]["version"] == version, r.text
        assert server.stop() == 0, server.output()
        assert all(gone(p) for p in workers), f"workers outlived the server: {workers}"
    log = server.output()
    assert "Traceback" not in log, log
    assert log.count("Finished server process") >= 2, log
