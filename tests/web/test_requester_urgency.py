"""The priority is the staff's to set; a requester says how urgent it is for him.

A requester or an anonymous visitor who sends a priority is refused (422 naming the field) and
nothing is filed; his urgency is stored on the Filed event and shown to the staff on the ticket
page. Staff filing on someone's behalf still set the priority. Requests filed before the
urgency existed load as "normal".
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from domain.desk import SYSTEM
from domain.settings import Settings
from domain.ticket import Contact, Priority, Ticket, Urgency
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site

pytestmark = LEAKS
CONTACT = {"contact_name": "Гость", "contact_email": "guest@example.org"}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def _head(site: Site) -> int:
    return site.services.desk.recorder.max_notification_id() or 0


@pytest.mark.parametrize("priority", ["critical", "normal"])
def test_a_requester_and_a_visitor_may_not_set_the_priority(site: Site, priority: str) -> None:
    requester = site.sign_in("requester")
    before = _head(site)
    r = requester.post("/api/v1/tickets", {**site.filing(), "priority": priority})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"] == ["priority"]
    assert "Only the support staff set the priority" in r.json()["error"]["message"]
    r = site.new_client().post("/api/v1/tickets", json={**site.filing(), **CONTACT,
                               "priority": priority}, headers={"Origin": ORIGIN})  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["fields"] == ["priority"]
    assert _head(site) == before, "nothing was filed"


def test_a_requesters_urgency_is_kept_and_shown_to_the_staff(site: Site) -> None:
    requester = site.sign_in("requester")
    r = requester.post("/api/v1/tickets", {**site.filing(), "urgency": "high"})
    assert r.status_code == 201, r.text
    ticket = site.services.desk.ticket(SYSTEM, UUID(r.json()["id"]))
    assert (ticket.urgency, ticket.priority) == (Urgency.HIGH, Priority.NORMAL)
    page = Browser(site, "agent").get(f"/t/{ticket.id}?after={r.json()['position']}").text
    assert '<dd id="side-urgency">High</dd>' in page
    r = requester.post("/api/v1/tickets", {**site.filing(), "urgency": "critical"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == ["urgency"]


def test_staff_filing_on_behalf_set_the_priority(site: Site) -> None:
    w = site.world
    filed = site.services.desk.file_ticket(
        w.agent, w.contracts, "Звонок заказчика", "Принято по телефону.",
        {"contract_number": "1234567890123456789"}, contact=Contact("Гость", "guest@example.org"),
        priority=Priority.CRITICAL)  # fmt: skip
    ticket = site.services.desk.ticket(SYSTEM, filed.id)
    assert (ticket.priority, ticket.urgency) == (Priority.CRITICAL, Urgency.NORMAL)


def test_a_request_filed_before_urgency_existed_loads_as_normal(site: Site) -> None:
    desk = site.services.desk
    filed = site.world.file()
    stored = desk.recorder.select_events(filed.id)[0]
    state = desk.mapper.transcoder.decode(stored.state)
    assert state.pop("urgency") is not None
    old = type(stored)(stored.originator_id, stored.originator_version, stored.topic,
                       desk.mapper.transcoder.encode(state))  # fmt: skip
    event = desk.mapper.to_domain_event(old)
    assert isinstance(event, Ticket.Filed)
    replayed = event.mutate(None)
    assert isinstance(replayed, Ticket) and replayed.urgency is Urgency.NORMAL
