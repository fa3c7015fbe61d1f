"""A session holds at most MAX_PER_SESSION /live sockets: the next is refused (1008, "too many
connections") until one of them closes. Over PostgreSQL the count is the database's, so it holds
across processes and hosts (the limit itself: tests/web/test_throttle.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import orjson
import pytest
from starlette.websockets import WebSocketDisconnect

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, TestClient, open_site
from web.live import MAX_PER_SESSION

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def subscribed(person: Person, stack: ExitStack) -> Any:
    ws = stack.enter_context(person.client.websocket_connect("/live", headers={"origin": ORIGIN}))
    ws.send_text(orjson.dumps({"subscribe": ["activity"], "after": 0}).decode())
    assert orjson.loads(ws.receive_bytes())["subscribed"] == ["activity"]
    return ws


def test_a_session_opens_at_most_its_sockets_and_a_closed_one_frees_its_place(site: Site) -> None:
    agent = site.sign_in("agent")
    with ExitStack() as first:
        subscribed(agent, first)
        with ExitStack() as others:
            for _ in range(MAX_PER_SESSION - 1):
                subscribed(agent, others)
            socket = agent.client.websocket_connect("/live", headers={"origin": ORIGIN})
            with pytest.raises(WebSocketDisconnect) as refused, socket:
                pass
            assert (refused.value.code, refused.value.reason) == (1008, "too many connections")
            colleague = site.sign_in("engineer")  # another session is counted apart
            with ExitStack() as theirs:
                subscribed(colleague, theirs)
        with ExitStack() as again:  # the others closed: their places are free again
            subscribed(agent, again)


def test_visitors_without_a_session_are_counted_per_address(site: Site) -> None:
    """Not all together: one address's sockets do not shut every other visitor out."""

    def visitor(address: str) -> TestClient:
        return TestClient(site.client.app, client=(address, 50000))

    with ExitStack() as held:
        for _ in range(MAX_PER_SESSION):
            held.enter_context(
                visitor("203.0.113.5").websocket_connect("/live", headers={"origin": ORIGIN})
            )
        socket = visitor("203.0.113.5").websocket_connect("/live", headers={"origin": ORIGIN})
        with pytest.raises(WebSocketDisconnect) as refused, socket:
            pass
        assert refused.value.code == 1008
        with visitor("198.51.100.5").websocket_connect("/live", headers={"origin": ORIGIN}) as ws:
            ws.send_text(orjson.dumps({"subscribe": ["activity"], "after": 0}).decode())
            assert orjson.loads(ws.receive_bytes()) == {
                "error": "not allowed",
                "topics": ["activity"],
            }
