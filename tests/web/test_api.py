"""A request's story told through the JSON API: filing, replies, notes, escalation, a rating."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def events(ticket: dict[str, object]) -> list[str]:
    timeline = ticket["timeline"]
    assert isinstance(timeline, list)
    return [e["event"] for e in timeline]


def test_a_request_travels_through_the_api_from_filing_to_a_rating(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    me = requester.get("/api/v1/me").json()
    assert (me["id"], me["roles"]) == (str(site.world.requester.id), ["requester"])

    head = site.services.desk.recorder.max_notification_id()
    incomplete = site.filing()
    incomplete["fields"] = {}
    r = requester.post("/api/v1/tickets", incomplete)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"] == ["contract_number"]
    assert site.services.desk.recorder.max_notification_id() == head  # nothing written

    filed = site.file(requester)
    ticket_id, version = filed["id"], filed["version"]
    seen = requester.ticket(ticket_id, filed["position"])
    assert seen["ticket"]["status"] == "new"
    assert seen["ticket"]["requester_id"] == str(site.world.requester.id)
    assert seen["ticket"]["number"] == filed["number"]

    r = agent.command(ticket_id, "replies", version, body="Проверяем подпись.")
    assert r.status_code == 200, r.text
    replied = r.json()
    assert replied["version"] == version + 1
    assert r.headers["etag"] == f'"{replied["version"]}"'

    stale = agent.command(ticket_id, "replies", version, body="Ещё раз.")
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["current_version"] == replied["version"]

    missing = agent.post(f"/api/v1/tickets/{ticket_id}/replies", {"body": "Без версии"})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "version_required"

    r = agent.command(ticket_id, "notes", replied["version"], body="Секрет: таймаут сервиса.")
    assert r.status_code == 200, r.text
    noted = r.json()

    staff_view = agent.ticket(ticket_id, noted["position"])
    assert "NoteAdded" in str(events(staff_view))
    mine = requester.ticket(ticket_id, noted["position"])
    assert "Секрет" not in str(mine)
    assert any("Проверяем подпись." in str(e) for e in mine["timeline"])
    assert all(not e["internal"] for e in mine["timeline"])
    assert mine["ticket"]["version"] == noted["version"]

    r = agent.command(
        ticket_id, "escalations", noted["version"], group=str(site.world.line2), reason="Логи"
    )
    assert r.status_code == 200, r.text
    escalated = r.json()
    engineer = site.sign_in("engineer")
    row = engineer.ticket(ticket_id, escalated["position"])["ticket"]
    assert (row["line"], row["group_id"]) == (2, str(site.world.line2))

    r = engineer.command(ticket_id, "resolution", escalated["version"], resolution="Исправлено.")
    assert r.status_code == 200, r.text
    resolved = r.json()
    assert requester.ticket(ticket_id, resolved["position"])["ticket"]["status"] == "resolved"

    r = requester.command(ticket_id, "rating", resolved["version"], score=5, comment="Спасибо!")
    assert r.status_code == 200, r.text
    rated = requester.ticket(ticket_id, r.json()["position"])
    assert rated["ticket"]["version"] == resolved["version"] + 1

    mine_list = requester.get(f"/api/v1/my/tickets?after={r.json()['position']}").json()
    assert [t["id"] for t in mine_list["tickets"]] == [ticket_id]


def test_a_ticket_answer_carries_its_version_as_etag(site: Site) -> None:
    requester = site.sign_in("requester")
    filed = site.file(requester)
    r = requester.get(f"/api/v1/tickets/{filed['id']}?after={filed['position']}")
    assert r.headers["etag"] == f'"{filed["version"]}"'
    assert r.headers["content-type"] == "application/json"


def test_an_api_token_needs_no_csrf_and_an_unknown_token_is_refused(site: Site) -> None:
    client = site.new_client()
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert client.get("/api/v1/me").status_code == 401


def test_signing_out_ends_the_session(site: Site) -> None:
    requester = site.sign_in("requester")
    r = requester.client.delete("/api/v1/session", headers=requester.headers())
    assert r.status_code == 204
    fresh = site.new_client()
    fresh.cookies.set("suz_session", requester.token)
    assert fresh.get("/api/v1/me").status_code == 401
