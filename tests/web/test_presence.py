"""Presence: agents see who else views a ticket and who is typing; a requester sees only that
a public reply is being written; leaving clears it; a socket closes when its session ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.websockets import WebSocketDisconnect

import web.live
from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setattr(web.live, "SESSION_CHECK", 0.2)
    with open_site(settings, monkeypatch) as s:
        yield s


def subscribe(ws: Any, *topics: str, after: int = 10**12) -> None:
    ws.send_text(orjson.dumps({"subscribe": list(topics), "after": after}).decode())
    assert orjson.loads(ws.receive_bytes())["subscribed"] == list(topics)


def presence(ws: Any) -> dict[str, Any]:
    """The next presence message (change notices are skipped)."""
    while True:
        message: dict[str, Any] = orjson.loads(ws.receive_bytes())
        if "presence" in message:
            return message


def connect(person: Person) -> Any:
    return person.client.websocket_connect("/live", headers={"origin": ORIGIN})


def test_agents_see_each_other_and_the_requester_sees_only_a_public_reply(site: Site) -> None:
    requester, agent, engineer = (site.sign_in(p) for p in ("requester", "agent", "engineer"))
    ticket = site.file(requester)["id"]
    topic = f"ticket:{ticket}"
    with connect(engineer) as eng_ws, connect(requester) as req_ws, connect(agent) as ag_ws:
        subscribe(eng_ws, topic)
        subscribe(req_ws, topic)
        subscribe(ag_ws, topic)
        ag_ws.send_text(orjson.dumps({"presence": "viewing", "ticket": ticket}).decode())
        seen = presence(eng_ws)
        assert seen["presence"] == ticket
        assert [(w["name"], w["state"]) for w in seen["who"]] == [("Agent1", "viewing")]
        assert presence(req_ws)["who"] == []  # an agent merely viewing is not shown
        import time

        time.sleep(0.6)  # announcements are limited to two a second per socket
        ag_ws.send_text(orjson.dumps({"presence": "typing_public", "ticket": ticket}).decode())
        assert [w["state"] for w in presence(eng_ws)["who"]] == ["typing_public"]
        assert [(w["name"], w["state"]) for w in presence(req_ws)["who"]] == [
            ("Agent1", "typing_public")
        ]
        req_ws.send_text(orjson.dumps({"presence": "typing_note", "ticket": ticket}).decode())
        ag_ws.close()
        gone = presence(eng_ws)
        assert gone["who"] == []


def test_a_socket_closes_when_its_session_ends(site: Site) -> None:
    agent = site.sign_in("agent")
    with connect(agent) as ws:
        subscribe(ws, "activity")
        assert agent.client.delete("/api/v1/session", headers=agent.headers()).status_code == 204
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_bytes()
        assert closed.value.code == 1008
