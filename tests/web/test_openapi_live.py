"""The /live websocket's messages, sent and received, fit the AsyncAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from domain.settings import Settings
from tests.web.api_description import validator
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site
from web.api_schema import live
from web.presence import State

pytestmark = LEAKS
S = dict[str, Any]


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_live_messages_fit_the_asyncapi_document(site: Site) -> None:
    asyncapi = live.document()
    messages = asyncapi["components"]["messages"]

    def fits(name: str, message: S) -> None:
        errors = [e.message for e in validator(asyncapi, messages[name]["payload"])
                  .iter_errors(message)]  # fmt: skip
        assert errors == [], (name, message, errors)

    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    subscribe = {"subscribe": [f"ticket:{filed['id']}", "queues"], "after": 0}
    fits("subscribe", subscribe)
    with agent.client.websocket_connect("/live", headers={"origin": ORIGIN}) as ws:
        ws.send_text(orjson.dumps(subscribe).decode())
        fits("subscribed", orjson.loads(ws.receive_bytes()))
        first = orjson.loads(ws.receive_bytes())
        fits("change", first)
        announce = {"presence": State.TYPING_NOTE.value, "ticket": filed["id"]}
        fits("announce", announce)
        ws.send_text(orjson.dumps(announce).decode())
        seen = orjson.loads(ws.receive_bytes())
        while "presence" not in seen:
            fits("change", seen)
            seen = orjson.loads(ws.receive_bytes())
        fits("presence", seen)
        assert seen["who"][0]["state"] == "typing_note"
    with requester.client.websocket_connect("/live", headers={"origin": ORIGIN}) as ws:
        ws.send_text(orjson.dumps({"subscribe": ["queues"]}).decode())
        refused = orjson.loads(ws.receive_bytes())
        fits("refused", refused)
        assert refused["topics"] == ["queues"]
    with requester.client.websocket_connect("/live", headers={"origin": ORIGIN}) as ws:
        ws.send_text("hello")
        fits("refused", orjson.loads(ws.receive_text()))
