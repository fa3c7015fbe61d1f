"""`suz serve --workers 2` on PostgreSQL: both workers answer, and the server stops cleanly.

Every request below opens a fresh connection, so the kernel hands them to either worker. Each
worker counts its own requests on /metrics, which tells the workers apart: a /metrics request
count seen twice was reported by two processes, and the workers' counts of ticket commands add
up to the commands sent.
"""

from __future__ import annotations

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
    r'status="200"\} (\d+)'
)
SCRAPES = re.compile(r'suz_http_requests_total\{method="GET",route="/metrics",status="200"\} (\d+)')


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


def workers_command_counts(server: Server) -> set[int]:
    """The workers' counts of ticket commands, scraped until two workers have answered."""
    scrapes: set[int] = set()
    commands: set[int] = set()
    for _ in range(400):
        r = httpx.get(f"{server.url}/metrics", timeout=10.0,
                      headers={**CLOSE, "Authorization": f"Bearer {METRICS_TOKEN}"})  # fmt: skip
        assert r.status_code == 200, r.text
        commands.add(counted(r.text, COMMANDS))
        scrape = counted(r.text, SCRAPES)
        if scrape in scrapes:
            return commands  # the same count from two processes
        scrapes.add(scrape)
    raise AssertionError("every /metrics answer came from one process")


@pytest.fixture
def pg_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return settings_for("postgres", tmp_path, request)


def test_two_workers_answer_and_stop_cleanly(pg_settings: Settings, tmp_path: Path) -> None:
    world = migrate(pg_settings)
    env = {**server_env(pg_settings), "SUZ_METRICS_TOKEN": METRICS_TOKEN}
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
        counts = workers_command_counts(server)
        assert counts == {NOTES // 2} or (len(counts) == 2 and sum(counts) == NOTES), counts
        assert 0 not in counts, f"one worker ran every command: {counts}"
        r = httpx.get(f"{server.url}/api/v1/tickets/{ticket}?after=0", headers=CLOSE,
                      cookies={"suz_session": agent.cookie}, timeout=10.0)  # fmt: skip
        assert r.status_code == 200 and r.json()["ticket"]["version"] == version, r.text
        assert server.stop() == 0, server.output()
        assert all(gone(p) for p in workers), f"workers outlived the server: {workers}"
    log = server.output()
    assert "Traceback" not in log, log
    assert log.count("Finished server process") >= 2, log
