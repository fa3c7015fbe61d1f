"""A requester's live stream when the timeline view lags: it waits, it never skips a change."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site
from tests.web.test_live import receive
from web.auth import COOKIE

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_a_reply_made_while_the_timeline_is_held_back_still_reaches_the_requester(
    site: Site,
) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    pump = site.services.projections.pump
    # through the client that runs the app's lifespan: the socket then lives on the event loop
    # of the feed hub, as on a real server (another test client would run its own loop)
    cookie = {"origin": ORIGIN, "cookie": f"{COOKIE}={requester.token}"}
    with site.client.websocket_connect("/live", headers=cookie) as ws:
        ws.send_text(orjson.dumps({"subscribe": [f"ticket:{filed['id']}"], "after": 0}).decode())
        assert orjson.loads(ws.receive_bytes())["subscribed"] == [f"ticket:{filed['id']}"]
        assert receive(ws)["event"] == "Filed"

        pump.hold("timeline")  # the timeline stands still: it cannot say whether a change is public
        first = agent.command(filed["id"], "replies", filed["version"], body="Первый ответ.")
        assert first.status_code == 200, first.text
        time.sleep(6.0)  # longer than the stream ever waited for the view (5 s)
        pump.release("timeline")  # the view catches up
        second = agent.command(filed["id"], "replies", first.json()["version"], body="Второй.")
        assert second.status_code == 200, second.text

        for reply in (first.json(), second.json()):  # both, in order: none skipped
            got = receive(ws)
            assert (got["event"], got["version"], got["position"]) == (
                "Replied", reply["version"], reply["position"])  # fmt: skip
