"""The /live websocket: history then live changes, the Origin check, and what each may follow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.websockets import WebSocketDisconnect

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def connect(person: Person, origin: str = ORIGIN) -> Any:
    return person.client.websocket_connect("/live", headers={"origin": origin})


def receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(ws.receive_bytes())
    return message


def until(ws: Any, position: int) -> list[dict[str, Any]]:
    """The changes received up to and including log position `position`."""
    got = [receive(ws)]
    while got[-1]["position"] < position:
        got.append(receive(ws))
    return got


def test_a_subscriber_gets_the_past_in_order_then_a_new_change(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    replied = agent.command(filed["id"], "replies", filed["version"], body="Смотрим.").json()
    with connect(agent) as ws:
        ws.send_text(orjson.dumps({"subscribe": [f"ticket:{filed['id']}"], "after": 0}).decode())
        assert receive(ws) == {"subscribed": [f"ticket:{filed['id']}"], "after": 0}
        past = until(ws, replied["position"])
        assert (past[0]["event"], past[0]["version"], past[0]["ticket"]) == (
            "Filed", 1, filed["id"])  # fmt: skip
        assert past[-1]["event"] == "Replied"
        assert [c["version"] for c in past] == list(range(1, replied["version"] + 1))
        assert [c["position"] for c in past] == sorted({c["position"] for c in past})
        noted = agent.command(filed["id"], "notes", replied["version"], body="Внутреннее.")
        assert noted.status_code == 200, noted.text
        live = receive(ws)
        assert (live["event"], live["version"], live["position"]) == (
            "NoteAdded",
            noted.json()["version"],
            noted.json()["position"],
        )


def test_a_reconnecting_subscriber_gets_only_what_it_missed(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    replied = agent.command(filed["id"], "replies", filed["version"], body="Раз.").json()
    with connect(agent) as ws:
        ws.send_text(
            orjson.dumps(
                {"subscribe": [f"ticket:{filed['id']}"], "after": filed["position"]}
            ).decode()
        )
        receive(ws)
        missed = until(ws, replied["position"])
        assert missed[0]["position"] > filed["position"]
        assert [c["version"] for c in missed] == list(
            range(filed["version"] + 1, replied["version"] + 1)
        )


def test_a_foreign_origin_is_refused(site: Site) -> None:
    agent = site.sign_in("agent")
    with pytest.raises(WebSocketDisconnect) as refused, connect(agent, "https://evil.example"):
        pass
    assert refused.value.code == 1008
    with pytest.raises(WebSocketDisconnect), agent.client.websocket_connect("/live"):
        pass  # no Origin at all


def refused_topics(person: Person, topics: list[str]) -> list[str]:
    with connect(person) as ws:
        ws.send_text(orjson.dumps({"subscribe": topics, "after": 0}).decode())
        answer = receive(ws)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
        assert closed.value.code == 1008
        result: list[str] = answer["topics"]
        assert answer["error"] == "not allowed"
        return result


def test_a_requester_may_not_follow_staff_topics_or_others_requests(site: Site) -> None:
    requester, stranger = site.sign_in("requester"), site.sign_in("stranger")
    filed = site.file(requester)
    assert refused_topics(requester, ["activity"]) == ["activity"]
    assert refused_topics(requester, [f"group:{site.world.line1}"]) == [f"group:{site.world.line1}"]
    assert refused_topics(stranger, [f"ticket:{filed['id']}"]) == [f"ticket:{filed['id']}"]
    assert refused_topics(stranger, [f"org:{site.world.org}"]) == [f"org:{site.world.org}"]
    assert refused_topics(requester, ["ticket:not-a-uuid"]) == ["ticket:not-a-uuid"]


def test_a_bad_subscription_message_closes_the_socket(site: Site) -> None:
    agent = site.sign_in("agent")
    with connect(agent) as ws:
        ws.send_text("hello")
        assert "error" in ws.receive_text()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1003


def test_a_requester_never_receives_internal_notes(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    noted = agent.command(filed["id"], "notes", filed["version"], body="Секрет.").json()
    with connect(requester) as ws:
        ws.send_text(orjson.dumps({"subscribe": [f"ticket:{filed['id']}"], "after": 0}).decode())
        receive(ws)
        assert receive(ws)["event"] == "Filed"
        replied = agent.command(filed["id"], "replies", noted["version"], body="Ответ.").json()
        after = until(ws, replied["position"])
        assert after[-1]["event"] == "Replied"
        assert "NoteAdded" not in [c["event"] for c in after]
