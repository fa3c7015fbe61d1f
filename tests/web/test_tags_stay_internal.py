"""Tags are the staff's: an agent adds and removes them (API and page), the desk list and the
ticket page show them, and a requester learns nothing of them by any route: his page, his list
and ticket through the API, time travel, and the live socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site

pytestmark = LEAKS

TAG = "секрет-4417"


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_a_requester_never_learns_a_tag(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    with requester.client.websocket_connect("/live", headers={"origin": ORIGIN}) as ws:
        ws.send_text(orjson.dumps({"subscribe": [f"ticket:{filed['id']}"], "after": 0}).decode())
        tagged = agent.command(filed["id"], "tags", filed["version"], tag=f"  {TAG.upper()} ")
        assert tagged.status_code == 200, tagged.text
        other = agent.command(filed["id"], "tags", tagged.json()["version"], tag="второй")
        replied = agent.command(filed["id"], "replies", other.json()["version"], body="Ответ.")
        after = replied.json()["position"]
        pushed: list[dict[str, Any]] = []
        while not pushed or pushed[-1].get("position", 0) < after:
            pushed.append(orjson.loads(ws.receive_bytes()))
    assert [p["event"] for p in pushed if "event" in p] == ["Filed", "Replied"]
    assert TAG not in str(pushed)

    staff = agent.ticket(filed["id"], after=after)
    assert staff["ticket"]["tags"] == f"второй {TAG}"  # sorted
    assert [e["data"]["tag"] for e in staff["timeline"] if e["event"] == "TagAdded"] == [
        TAG, "второй"]  # fmt: skip

    own = requester.ticket(filed["id"], after=after)
    assert "tags" not in own["ticket"]
    assert [e["event"] for e in own["timeline"]] == ["Filed", "Replied"]
    listed = requester.get(f"/api/v1/my/tickets?after={after}")
    assert listed.status_code == 200 and TAG not in listed.text and '"tags"' not in listed.text
    latest = own["timeline"][-1]["version"]
    history = requester.get(f"/api/v1/tickets/{filed['id']}/history?version={latest}")
    assert history.status_code == 200, history.text
    assert TAG not in history.text and "tags" not in history.json()["ticket"]
    as_staff = agent.get(f"/api/v1/tickets/{filed['id']}/history?version={latest + 0}")
    assert TAG in as_staff.json()["ticket"]["tags"]
    page = requester.get(f"/r/{filed['id']}?after={after}")
    assert page.status_code == 200 and TAG not in page.text and "#второй" not in page.text
    for n in range(1, latest + 1):
        assert TAG not in requester.get(f"/t/{filed['id']}/history?version={n}").text

    shown = agent.get(f"/t/{filed['id']}?after={after}")
    assert f"#{TAG}" in shown.text and 'id="add-tag"' in shown.text


def test_an_agent_tags_and_untags_on_the_page_and_the_desk_list_shows_it(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    form = {"csrf_token": agent.csrf, "version": str(filed["version"])}
    bad = agent.client.post(f"/t/{filed['id']}/act/tag", data={**form, "tag": "<b>x</b>"},
                            headers={"Origin": ORIGIN, "HX-Request": "true"})  # fmt: skip
    assert bad.status_code == 422 and 'id="error-tag"' in bad.text
    assert "TagAdded" not in str(agent.ticket(filed["id"], after=filed["position"])["timeline"])
    # without JS: a plain form post, answered by a redirect to the page
    r = agent.client.post(f"/t/{filed['id']}/act/tag", data={**form, "tag": "Банк Оплата"},
                          headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/t/{filed['id']}"
    page = agent.get(f"/t/{filed['id']}")
    assert "#банк-оплата" in page.text
    desk = agent.get(f"/desk?queue=group:{site.world.line1}")
    assert desk.status_code == 200 and 'class="badge tag">#банк-оплата' in desk.text
    untag = agent.client.post(f"/t/{filed['id']}/act/untag",
                              data={**form, "tag": "банк-оплата"},
                              headers={"Origin": ORIGIN, "HX-Request": "true"})  # fmt: skip
    assert untag.status_code == 200, untag.text
    assert 'class="badge tag">#банк-оплата' not in untag.text
    assert "убрал(а) метку #банк-оплата" in untag.text or "removed the tag" in untag.text
