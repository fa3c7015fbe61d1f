"""Triggers and mass incidents through the API and the board: who may act (requesters, auditors
and curators may not), bad input answers 422 and changes nothing, linked requesters read the
notice, the update and the answer on their own requests, live."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, Person, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def last_public(person: Person, ticket: str, after: int = 0) -> tuple[str, str]:
    entry = person.ticket(ticket, after)["timeline"][-1]
    data = entry["data"]
    return entry["event"], data.get("body") or data.get("resolution") or ""


def test_trigger_rules_are_for_administrators_and_analysts(site: Site) -> None:
    admin, agent, requester = (site.sign_in(w) for w in ("admin", "agent", "requester"))
    rule = {
        "name": "Всплеск",
        "category_id": str(site.world.contracts),
        "threshold": 3,
        "window_minutes": 10,
    }
    body = {"version": 0, "rules": [rule]}
    for who in (agent, requester):
        r = who.client.put("/api/v1/incidents/triggers", json=body, headers=who.headers())
        assert r.status_code == 403, r.text
    assert requester.get("/api/v1/incidents/triggers").status_code == 403
    for wrong in (
        {**rule, "threshold": "three"},
        {**rule, "threshold": 0},
        {**rule, "rate_factor": True},
        {**rule, "rate_factor": "lots"},
        {**rule, "category_id": None},
        {**rule, "words": "подпись"},
        {**rule, "groups": ["not an id"]},
        {**rule, "window_minutes": 100_000},
    ):
        r = admin.client.put(
            "/api/v1/incidents/triggers",
            json={"version": 0, "rules": [wrong]},
            headers=admin.headers(),
        )
        assert r.status_code == 422, (wrong, r.text)
    assert agent.get("/api/v1/incidents/triggers").json() == {"version": 0, "rules": []}
    r = admin.client.put("/api/v1/incidents/triggers", json=body, headers=admin.headers())
    assert r.status_code == 200, r.text
    site.file(requester)
    got = eventually(lambda: agent.get("/api/v1/incidents/triggers").json()["rules"][0]["count"])
    assert got == 1, "the rule's count in its window, now"
    r = admin.client.put("/api/v1/incidents/triggers", json=body, headers=admin.headers())
    assert r.status_code == 409, "a stale list is refused"


def test_a_mass_incident_from_opening_to_resolution(site: Site) -> None:
    dev, agent, requester, colleague, auditor, curator = (
        site.sign_in(w)
        for w in ("developer", "agent", "requester", "colleague", "auditor", "curator")
    )
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    opening = {
        "title": "Сбой подписи",
        "description": "Мы знаем о сбое и исправляем его.",
        "criteria": {"category_id": str(site.world.contracts)},
        "since": since,
    }
    for who in (requester, auditor, curator, agent):
        assert who.post("/api/v1/incidents", opening).status_code == 403
    assert (
        site.new_client()
        .post("/api/v1/incidents", json=opening, headers={"Origin": "http://testserver"})
        .status_code
        == 403
    )
    for wrong in (
        {**opening, "title": ""},
        {**opening, "description": 5},
        {**opening, "criteria": {"words": "подпись"}},
        {**opening, "criteria": {"field_key": "law"}},
        {**opening, "since": "вчера"},
    ):
        r = dev.post("/api/v1/incidents", wrong)
        assert r.status_code == 422, (wrong, r.text)
    assert dev.get("/api/v1/incidents").json()["open"] == [], "nothing was opened"
    assert requester.get("/api/v1/incidents").status_code == 403

    filed = site.file(requester)
    earlier = filed["id"]
    r = dev.post("/api/v1/incidents", opening)
    assert r.status_code == 201, r.text
    incident = r.json()["id"]
    filed = site.file(colleague)
    later, seen = filed["id"], filed["position"]
    notice = "**Сбой подписи**\n\nМы знаем о сбое и исправляем его."

    def told(person: Person, ticket: str) -> bool:
        return last_public(person, ticket, seen) == ("Replied", notice)

    for person, ticket in ((requester, earlier), (colleague, later)):
        assert eventually(partial(told, person, ticket)), "linked, and told the problem is known"

    def both_linked() -> dict[str, Any] | None:  # the incidents view may trail the timeline's
        got: dict[str, Any] = dev.get(f"/api/v1/incidents/{incident}").json()
        return got if got["incident"]["linked"] == 2 else None

    got = eventually(both_linked)
    assert got and {t["id"] for t in got["requests"]} == {earlier, later}

    path = f"/api/v1/incidents/{incident}"
    for who in (requester, auditor, curator, agent):
        assert who.post(f"{path}/updates", {"body": "Новости"}).status_code == 403
    assert dev.post(f"{path}/updates", {"body": "  "}).status_code == 422
    assert dev.post(f"{path}/updates", {}).status_code == 422
    r = dev.post(f"{path}/updates", {"body": "Исправление к 15:00."})
    assert r.status_code == 200, r.text
    after = r.json()["position"]
    for person, ticket in ((requester, earlier), (colleague, later)):
        assert last_public(person, ticket, after) == ("Replied", "Исправление к 15:00.")
    assert [u["body"] for u in dev.get(f"{path}?after={after}").json()["updates"]] == [
        "Исправление к 15:00."
    ]

    for who in (requester, auditor, curator):
        assert who.post(f"{path}/links", {"tickets": [earlier]}).status_code in (403, 404)
        r = who.client.delete(f"{path}/links/{later}", headers=who.headers())
        assert r.status_code in (403, 404)
    assert agent.post(f"{path}/links", {"tickets": ["nope"]}).status_code == 422
    assert agent.post(f"{path}/links", {"tickets": []}).status_code == 422
    assert agent.post(f"{path}/links", {"tickets": [earlier]}).status_code == 409, "linked"
    r = agent.client.delete(f"{path}/links/{later}", headers=agent.headers())
    assert r.status_code == 200, r.text

    for who in (requester, auditor, curator, agent):
        assert who.post(f"{path}/resolution", {"answer": "Готово"}).status_code == 403
    assert (
        dev.post(f"{path}/resolution", {"answer": "Готово", "resolve_requests": "yes"}).status_code
        == 422
    )
    assert dev.post(f"{path}/resolution", {"answer": ""}).status_code == 422
    r = dev.post(f"{path}/resolution", {"answer": "Сбой устранён."})
    assert r.status_code == 200, r.text
    after = r.json()["position"]
    mine = requester.ticket(earlier, after)
    assert mine["ticket"]["status"] == "resolved"
    assert last_public(requester, earlier, after) == ("Resolved", "Сбой устранён.")
    assert colleague.ticket(later, after)["ticket"]["status"] != "resolved", "unlinked: left"
    assert dev.post(f"{path}/updates", {"body": "Ещё"}).status_code == 409
    assert dev.get("/api/v1/incidents/not-an-id").status_code == 404
    listed = dev.get(f"/api/v1/incidents?after={after}").json()
    assert listed["open"] == [] and listed["resolved"][0]["id"] == incident


def test_the_board_is_for_staff_and_managers_act_on_it(site: Site) -> None:
    dev, curator, requester = (site.sign_in(w) for w in ("developer", "curator", "requester"))
    r = dev.post("/api/v1/incidents", {"title": "Сбой ЕИС", "description": "Знаем, чиним."})
    incident = r.json()["id"]
    page = dev.get(f"/incidents?after={r.json()['position']}")
    assert page.status_code == 200 and "Сбой ЕИС" in page.text
    assert 'data-live-topics="incidents queues"' in page.text
    assert "/incidents/" + incident in page.text
    seen = curator.get(f"/incidents/{incident}")
    assert seen.status_code == 200 and "Знаем, чиним." in seen.text
    assert 'name="body"' not in seen.text, "a curator reads, and gets no forms"
    own = dev.get(f"/incidents/{incident}")
    assert 'name="body"' in own.text
    assert requester.get("/incidents").status_code == 403
    form = {"csrf_token": dev.csrf, "body": "Новости по сбою"}
    r = dev.client.post(
        f"/incidents/{incident}/update",
        data=form,
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "Новости по сбою" in dev.get(r.headers["location"]).text
    r = dev.client.post(
        f"/incidents/{incident}/update",
        data={**form, "body": ""},
        headers={"Origin": "http://testserver"},
    )
    assert r.status_code == 422
