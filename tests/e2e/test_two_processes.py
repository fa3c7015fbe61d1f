"""Two server processes on one PostgreSQL database: changes and presence cross between them.

`suz migrate` runs once; then process A (running the views) and process B (without views, or
with them: the advisory lock lets one process at a time run each view) serve the same desk. A
websocket held on B hears, within seconds, what is written or announced through A.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from domain.settings import Settings
from tests.conftest import settings_for
from tests.e2e.server import Agent, Server, filing, run_cli, serve, server_env
from tests.web.desk_site import migrate
from tests.world import World

pytestmark = pytest.mark.postgres
CROSSING = 5.0  # seconds a change or an announcement may take to reach the other process


async def open_live(server: Server, agent: Agent, topics: list[str]) -> ClientConnection:
    ws = await connect(server.ws_url, additional_headers=agent.ws_headers(), open_timeout=10,
                       close_timeout=5)  # fmt: skip
    await ws.send(orjson.dumps({"subscribe": topics, "after": 0}).decode())
    ack = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack == {"subscribed": topics, "after": 0}, ack
    return ws


async def first(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first message that is `wanted`, waiting at most CROSSING seconds."""
    async with asyncio.timeout(CROSSING):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if wanted(message):
                return message


async def crossing(a: Server, b: Server, world: World) -> None:
    requester = Agent.sign_in(a.url, "requester")
    with requester.client() as client:
        r = client.post("/api/v1/tickets", json=filing(world.contracts))
        assert r.status_code == 201, r.text
        ticket = r.json()
    topic = f"ticket:{ticket['id']}"
    watcher = Agent.sign_in(b.url, "agent")  # sessions live in the database: either process
    engineer = Agent.sign_in(a.url, "engineer")
    on_b = await open_live(b, watcher, [topic])
    on_a = await open_live(a, engineer, [topic])
    try:
        filed = await first(on_b, lambda m: m.get("version") == ticket["version"])
        assert filed["ticket"] == ticket["id"]
        with engineer.client() as client:
            r = client.post(f"/api/v1/tickets/{ticket['id']}/notes", json={"body": "Смотрю."},
                            headers={"If-Match": f'"{ticket["version"]}"'})  # fmt: skip
            assert r.status_code == 200, r.text
            noted = r.json()
        change = await first(on_b, lambda m: m.get("position") == noted["position"])
        assert change == {"position": noted["position"], "ticket": ticket["id"],
                          "event": "NoteAdded", "version": noted["version"]}  # fmt: skip
        await on_a.send(orjson.dumps({"presence": "typing_note", "ticket": ticket["id"]}).decode())
        here = await first(on_b, lambda m: m.get("presence") == ticket["id"] and bool(m["who"]))
        assert here["who"] == [{"account": str(world.engineer.id), "name": here["who"][0]["name"],
                                "state": "typing_note"}]  # fmt: skip
    finally:
        await on_a.close()
        await on_b.close()


@pytest.fixture
def pg_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return settings_for("postgres", tmp_path, request)


@pytest.mark.parametrize("b_args", [["--no-views"], []], ids=["b-without-views", "b-with-views"])
def test_changes_and_presence_cross_between_processes(
    pg_settings: Settings, tmp_path: Path, b_args: list[str]
) -> None:
    env = server_env(pg_settings)
    assert "store ready (PostgreSQL)" in run_cli(env, "migrate")
    world = migrate(pg_settings)  # the cast and their passwords (the tables exist already)
    with serve(env, tmp_path) as a, serve(env, tmp_path, *b_args) as b:
        asyncio.run(crossing(a, b, world))
        assert a.wait_healthy(5)["status"] == "ok"
        assert b.wait_healthy(5)["status"] == "ok"
