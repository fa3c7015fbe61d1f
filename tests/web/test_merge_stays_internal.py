"""A merge across two requesters tells each only what is his: the repeat's requester (another
organisation's) learns that his request was closed as handled elsewhere, never the other
request's number, id or who merged; the other request's requester learns nothing of the repeat.
By every route: the API's timeline, time travel, the page and the live socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import orjson
import pytest

from domain.settings import Settings
from domain.tickets.commands import MergeInto
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_a_merge_across_requesters_leaks_nothing_to_either(site: Site) -> None:
    w, desk = site.world, site.services.desk
    kept = site.file(site.sign_in("requester"))
    theirs = site.file(site.sign_in("stranger"))
    number = str(kept["number"])
    requester, stranger = site.sign_in("requester"), site.sign_in("stranger")
    with requester.client.websocket_connect("/live", headers={"origin": ORIGIN}) as ws:
        ws.send_text(orjson.dumps({"subscribe": [f"ticket:{kept['id']}"], "after": 0}).decode())
        merged = desk.handle(w.agent, MergeInto(UUID(theirs["id"]), None, UUID(kept["id"]),
                                              "Уже решаем."))  # fmt: skip
        replied = desk.reply(w.agent, UUID(kept["id"]), "Работаем над проблемой.")
        pushed: list[dict[str, Any]] = []
        while not pushed or pushed[-1].get("position", 0) < replied.position:
            pushed.append(orjson.loads(ws.receive_bytes()))
    assert [p["event"] for p in pushed if "event" in p] == ["Filed", "Replied"]
    assert theirs["id"] not in str(pushed)

    # the repeat's requester: the message and that it was closed, not where it went
    own = stranger.ticket(theirs["id"], after=merged.position)
    events = [e["event"] for e in own["timeline"]]
    assert events == ["Filed", "Replied", "MergedInto", "Closed"]
    entry = next(e for e in own["timeline"] if e["event"] == "MergedInto")
    assert entry["data"] == {"follow": False} and entry["actor_id"] is None
    assert kept["id"] not in str(own)  # (who replied and closed it he sees, as always)
    last = own["timeline"][-1]["version"]
    for n in range(1, last + 1):
        r = stranger.get(f"/api/v1/tickets/{theirs['id']}/history?version={n}")
        assert r.status_code == 200 and kept["id"] not in r.text, r.text
    page = stranger.get(f"/r/{theirs['id']}?after={merged.position}").text
    assert "Уже решаем." in page and kept["id"] not in page and f"№{number}" not in page
    assert stranger.get(f"/api/v1/tickets/{kept['id']}").status_code == 404

    # the other request's requester: nothing of the repeat
    seen = requester.ticket(kept["id"], after=replied.position)
    assert "MergedFrom" not in [e["event"] for e in seen["timeline"]]
    assert theirs["id"] not in str(seen)
    mine = requester.get(f"/r/{kept['id']}?after={replied.position}").text
    assert theirs["id"] not in mine and "Работаем над проблемой." in mine

    # the staff see both sides
    staff = site.sign_in("agent").ticket(kept["id"], after=replied.position)
    merged_from = next(e for e in staff["timeline"] if e["event"] == "MergedFrom")
    assert merged_from["data"]["other_id"] == theirs["id"]
    assert merged_from["data"]["requester_id"] == str(w.stranger.id)
