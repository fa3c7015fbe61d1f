"""A real websocket client that keeps dropping /live and resuming from its last position.

While a writer thread adds hundreds of notes through the HTTP API, the subscriber to "activity"
disconnects (politely or by cutting the socket) at random moments and reconnects with the last
position it saw. In the end it has held every change exactly once, in log order.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.conftest import Store
from tests.e2e.server import Agent, Server, filing

TICKETS = 5
NOTES = 400
DEADLINE = 120.0  # seconds for the whole exchange; no wait below is unbounded


@dataclass
class Writes:
    """What the writer did: every log position its commands returned."""

    positions: set[int] = field(default_factory=set)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


def file_tickets(server: Server, store: Store) -> list[dict[str, Any]]:
    requester = Agent.sign_in(server.url, "requester")
    with requester.client() as client:
        filed = []
        for i in range(TICKETS):
            r = client.post("/api/v1/tickets", json=filing(store.world.contracts, f"Заявка {i}"))
            assert r.status_code == 201, r.text
            filed.append(r.json())
    return filed


def write_notes(agent: Agent, tickets: list[dict[str, Any]], writes: Writes) -> None:
    versions = {t["id"]: t["version"] for t in tickets}
    try:
        with agent.client() as client:
            for i in range(NOTES):
                ticket = tickets[i % len(tickets)]["id"]
                r = client.post(f"/api/v1/tickets/{ticket}/notes", json={"body": f"Заметка {i}"},
                                headers={"If-Match": f'"{versions[ticket]}"'})  # fmt: skip
                assert r.status_code == 200, r.text
                versions[ticket] = r.json()["version"]
                writes.positions.add(r.json()["position"])
                time.sleep(0.005)  # writing lasts long enough for the subscriber to drop in it
    except BaseException as e:  # reported by the test
        writes.error = e
    finally:
        writes.done.set()


async def subscribe(url: str, agent: Agent, after: int) -> ClientConnection:
    """Opens /live and subscribes to "activity" after `after` (retrying a refused handshake)."""
    for attempt in range(50):
        try:
            ws = await connect(url, additional_headers=agent.ws_headers(), open_timeout=10,
                               close_timeout=5)  # fmt: skip
        except InvalidStatus:  # e.g. too many sockets still counted for the session
            await asyncio.sleep(0.05 * (attempt + 1))
            continue
        await ws.send(orjson.dumps({"subscribe": ["activity"], "after": after}).decode())
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack == {"subscribed": ["activity"], "after": after}, ack
        return ws
    raise AssertionError("the server kept refusing the websocket handshake")


async def follow_with_drops(
    url: str, agent: Agent, writes: Writes, expected: int, rng: random.Random
) -> tuple[list[int], int, int]:
    """The positions received over many connections, how many connections it took, and how
    many of those it opened while the writer was still writing.

    It goes on until the writer is done and it has `expected` changes besides the writer's.
    """
    received: list[int] = []
    connections = during_writes = 0
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if writes.done.is_set() and len(set(received)) >= expected + len(writes.positions):
            break
        ws = await subscribe(url, agent, received[-1] if received else 0)
        connections += 1
        during_writes += not writes.done.is_set()
        lifetime = time.monotonic() + rng.uniform(0.0, 0.1)
        try:
            while time.monotonic() < min(lifetime, deadline):
                try:
                    raw = await asyncio.wait_for(ws.recv(), max(0.0, lifetime - time.monotonic()))
                except TimeoutError:
                    break
                message = orjson.loads(raw)
                assert {"position", "ticket", "event", "version"} <= set(message), message
                received.append(message["position"])
                if rng.random() < 0.05:
                    break  # a drop right after a message
        except ConnectionClosed:
            pass
        if rng.random() < 0.5:
            ws.transport.abort()  # the network goes away: no closing handshake
        else:
            await ws.close()
    return received, connections, during_writes


async def history(url: str, agent: Agent, last: int) -> list[int]:
    """A fresh subscription from 0: the positions up to `last`."""
    got: list[int] = []
    async with asyncio.timeout(30):
        ws = await subscribe(url, agent, 0)
        try:
            while not got or got[-1] < last:
                got.append(orjson.loads(await ws.recv())["position"])
        finally:
            await ws.close()
    return got


def activity(agent: Agent) -> list[dict[str, Any]]:
    """Every change of GET /api/v1/activity, following `before` back to the start."""
    changes: list[dict[str, Any]] = []
    with agent.client() as client:
        while True:
            before = str(changes[-1]["position"]) if changes else ""
            r = client.get(f"/api/v1/activity?before={before}")
            assert r.status_code == 200, r.text
            if not r.json():
                return changes
            changes += r.json()


def filing_positions(changes: list[dict[str, Any]], tickets: list[dict[str, Any]]) -> set[int]:
    """The positions of the tickets' filing events (versions up to the one filing returned).

    Filing answers with the position of the ticket's last filing event: each ticket's filing
    events lie after the previous filing and up to it.
    """
    found: set[int] = set()
    floor = 0
    for t in tickets:
        mine = [c["position"] for c in changes
                if c["ticket_id"] == t["id"] and c["version"] <= t["version"]]  # fmt: skip
        assert len(mine) == t["version"], (t, mine)
        assert all(floor < p <= t["position"] for p in mine), (t, mine)
        found |= set(mine)
        floor = t["position"]
    return found


def wait_views(server: Server, position: int) -> None:
    r = httpx.get(f"{server.url}/api/v1/categories?after={position}", timeout=10.0)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("seed", [20240531])
def test_a_dropping_subscriber_holds_every_change_once_in_order(
    server: Server, store: Store, seed: int
) -> None:
    rng = random.Random(seed)
    tickets = file_tickets(server, store)
    filing_events = sum(t["version"] for t in tickets)
    agent = Agent.sign_in(server.url, "agent")
    writes = Writes()
    writer = threading.Thread(target=write_notes, args=(agent, tickets, writes), daemon=True)
    writer.start()
    received, connections, during_writes = asyncio.run(
        follow_with_drops(server.ws_url, agent, writes, filing_events, rng)
    )
    writer.join(DEADLINE)
    assert not writer.is_alive(), "the writer did not finish"
    assert writes.error is None, f"the writer failed: {writes.error!r}"
    assert len(writes.positions) == NOTES
    wait_views(server, max(writes.positions))
    changes = activity(agent)
    expected = filing_positions(changes, tickets) | writes.positions
    assert sorted(c["position"] for c in changes) == sorted(expected)
    assert connections > 10, f"only {connections} connections: the drops did not happen"
    assert during_writes > 5, f"only {during_writes} reconnections while the writer wrote"
    assert received == sorted(set(received)), "a change came twice or out of order"
    assert received == sorted(expected)
    assert asyncio.run(history(server.ws_url, agent, max(expected))) == sorted(expected)
