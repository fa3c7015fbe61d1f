"""Time travel shows a requester exactly what his timeline shows, at every version he may visit.

The request has been worked on the staff's side: routed to a group, an internal note, a transfer
to a named engineer, an assignment, a link to another organisation's request. Asked for any
version or moment (as himself, or by staff "as the requester saw it"), the requester gets only
his own timeline's entries and versions, a state without group, assignee, line, priority or
links, and nothing that tells when or how many internal events happened.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.desk import SYSTEM
from domain.settings import Settings
from domain.ticket import LinkKind, Priority
from tests.web.desk_site import LEAKS, Person, Site, open_site

pytestmark = LEAKS

NOTE = "Внутренняя заметка 4417"
REASON = "Причина передачи 4417"
HIDDEN_FACTS = ("group_id", "assignee_id", "line", "priority", "links", "articles")


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def _worked(site: Site) -> tuple[str, str]:
    """A request with public and internal events in between; (its id, the other org's id)."""
    w, desk = site.world, site.services.desk
    filed = w.file()  # Filed, then Assigned by routing (internal)
    desk.assign(w.agent, filed.id, w.line1, w.agent.id)
    desk.note(w.agent, filed.id, NOTE)
    desk.reply(w.agent, filed.id, "Проверяем подпись.")
    desk.transfer(w.agent, filed.id, w.line2, REASON, w.engineer.id)  # shown redacted
    others = desk.file_ticket(w.stranger, w.contracts, "Чужая", "Описание",
                              {"contract_number": "1234567890123456789"})  # fmt: skip
    desk.link(w.agent, filed.id, others.id, LinkKind.RELATED)
    desk.note(w.engineer, filed.id, NOTE)
    desk.resolve(w.engineer, filed.id, "Сервис восстановлен")
    desk.note(w.engineer, filed.id, NOTE)  # the last events are internal
    desk.change_priority(w.engineer, filed.id, Priority.HIGH, NOTE)
    return str(filed.id), str(others.id)


def _history(p: Person, ticket: str, query: str) -> httpx.Response:
    return p.get(f"/api/v1/tickets/{ticket}/history?{query}")


def _secrets(site: Site, others: str) -> tuple[str, ...]:
    w = site.world
    # (who replied or resolved is on his timeline; who was assigned or transferred to is not)
    return (NOTE, REASON, str(w.line1), str(w.line2), others, "NoteAdded", "Assigned", "Linked",
            "PriorityChanged")  # fmt: skip


def test_a_requester_travels_only_through_his_own_timeline(site: Site) -> None:
    ticket, others = _worked(site)
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    current = site.services.desk.ticket(SYSTEM, UUID(ticket)).version
    own = requester.ticket(ticket, after=10**9)["timeline"]
    versions = [e["version"] for e in own]
    assert [e["event"] for e in own] == ["Filed", "Replied", "Transferred", "Resolved"]
    assert versions[-1] < current, "internal events came after his last entry"
    for n in range(1, current + 1):
        for reader, query in ((requester, f"version={n}"), (agent, f"version={n}&view=requester")):
            r = _history(reader, ticket, query)
            if n > versions[-1]:
                assert r.status_code == 422, r.text
                assert r.json()["error"]["message"] == (
                    f"version must be between 1 and {versions[-1]}."
                )
                continue
            assert r.status_code == 200, r.text
            seen: dict[str, Any] = r.json()
            shown = max(v for v in versions if v <= n)
            assert (seen["version"], seen["latest"], seen["public_only"]) == (
                shown, versions[-1], True)  # fmt: skip
            assert seen["at"] == next(e["at"] for e in own if e["version"] == shown)
            assert seen["timeline"] == [{**e, "position": 0} for e in own if e["version"] <= n]
            assert seen["ticket"]["version"] == shown
            assert set(HIDDEN_FACTS) & set(seen["ticket"]) == set()
            assert [s for s in _secrets(site, others) if s in r.text] == []


def test_a_moment_of_an_internal_event_shows_the_requester_his_entry_before_it(
    site: Site,
) -> None:
    ticket, others = _worked(site)
    requester = site.sign_in("requester")
    own = requester.ticket(ticket, after=10**9)["timeline"]
    public = {e["version"] for e in own}
    events = list(site.services.desk.repository.event_store.get(UUID(ticket)))
    for e in events:
        at = e.timestamp.isoformat().replace("+", "%2B")
        r = _history(requester, ticket, f"as_of={at}")
        assert r.status_code == 200, r.text
        expected = max(v for v in public if v <= e.originator_version)
        assert r.json()["version"] == expected
        assert [s for s in _secrets(site, others) if s in r.text] == []


def test_the_history_page_shows_a_requester_no_staff_facts_or_internal_versions(
    site: Site,
) -> None:
    ticket, others = _worked(site)
    requester = site.sign_in("requester")
    own = requester.ticket(ticket, after=10**9)["timeline"]
    versions = [e["version"] for e in own]
    for n in range(1, versions[-1] + 1):
        page = requester.get(f"/t/{ticket}/history?version={n}")
        assert page.status_code == 200, page.text
        html = page.text
        assert 'data-key="group"' not in html and 'data-key="assignee"' not in html
        assert 'data-key="priority"' not in html and 'data-key="line"' not in html
        offered = [int(v) for v in _options(html)]
        assert offered == versions, "the slider offers his entries' versions only"
        assert [s for s in _secrets(site, others)[:2] if s in html] == []
        assert ">line2<" not in html and ">line1<" not in html, "no group's name"


def _options(html: str) -> list[str]:
    return re.findall(r'<option value="(\d+)" label=', html)
