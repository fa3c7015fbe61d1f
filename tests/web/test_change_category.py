"""Staff move a request to another category, through the JSON API and the ticket page's side
panel: one command type, one dispatcher; requesters may not, and nothing changes when refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.desk import SYSTEM
from domain.settings import Settings
from tests.ui.test_desk_and_ticket_pages import Browser, seen_version, version
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_an_agent_moves_a_request_to_another_category_through_the_api(site: Site) -> None:
    payments = site.services.desk.define_category(SYSTEM, "Оплата", "Payments").id
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    ticket, seen = filed["id"], filed["version"]
    refused = requester.command(ticket, "category", seen, category=str(payments), reason="Моё")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "Your role may not change category on this request.")  # fmt: skip
    bad = agent.command(ticket, "category", seen, category="nonsense", reason="Это оплата")
    assert (bad.status_code, bad.json()["error"]["fields"]) == (422, ["category"])
    assert version(site, ticket) == seen, "refusals change nothing"
    r = agent.command(ticket, "category", seen, category=str(payments), reason="Это оплата")
    assert r.status_code == 200, r.text
    assert r.json()["version"] == seen + 1
    shown = agent.ticket(ticket, after=r.json()["position"])
    assert shown["ticket"]["category_id"] == str(payments)
    changed = shown["timeline"][-1]
    assert (changed["event"], changed["data"]["reason"]) == ("CategoryChanged", "Это оплата")
    mine = requester.ticket(ticket, after=r.json()["position"])
    assert "CategoryChanged" not in [e["event"] for e in mine["timeline"]], "staff only"


def test_the_side_panel_offers_the_change_and_the_timeline_tells_it(site: Site) -> None:
    payments = site.services.desk.define_category(SYSTEM, "Оплата", "Payments").id
    filed = site.world.file()
    ticket = str(filed.id)
    agent = Browser(site, "agent")
    page = agent.get(f"/t/{ticket}?after={filed.position}").text
    assert f'hx-post="/t/{ticket}/act/category"' in page
    seen = seen_version(page)
    r = agent.act(ticket, "category", version=seen, category=str(payments), reason="")
    assert r.status_code == 422 and 'id="error-category"' in r.text
    assert version(site, ticket) == int(seen)
    r = agent.act(ticket, "category", version=seen, category=str(payments), reason="Это оплата")
    assert r.status_code == 200, r.text
    assert 'data-event="CategoryChanged"' in r.text
    assert "moved the request to another category: «Это оплата»" in r.text
    assert version(site, ticket) == int(seen) + 1
