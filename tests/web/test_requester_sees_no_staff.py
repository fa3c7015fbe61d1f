"""What a requester may not learn: who transferred or escalated his request; and the public form
refuses a contact without a name or a plausible e-mail."""

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


def test_a_redacted_event_names_nobody_to_the_requester(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    r = agent.command(filed["id"], "escalations", filed["version"], group=str(site.world.line2),
                      reason="нужен анализ логов")  # fmt: skip
    assert r.status_code == 200, r.text
    seen = requester.ticket(filed["id"], after=r.json()["position"])
    escalated = [e for e in seen["timeline"] if e["event"] == "Escalated"]
    assert escalated and escalated[0]["actor_id"] is None
    assert "reason" not in escalated[0]["data"]
    staff_view = agent.ticket(filed["id"], after=r.json()["position"])
    assert [e["actor_id"] for e in staff_view["timeline"] if e["event"] == "Escalated"] == [
        str(site.world.agent.id)
    ]


@pytest.mark.parametrize(
    ("name", "email", "field"),
    [("", "anna@example.org", "contact_name"), ("Анна", "not-an-address", "contact_email"),
     ("Анна", "", "contact_email")],
)  # fmt: skip
def test_the_public_form_needs_a_name_and_an_email(
    site: Site, name: str, email: str, field: str
) -> None:
    client = site.new_client()
    body = {**site.filing(), "contact_name": name, "contact_email": email}
    r = client.post("/api/v1/tickets", json=body, headers={"Origin": "http://testserver"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == [field]


STAFF_FACTS = ("group_id", "assignee_id", "line", "priority")


def test_the_requester_s_ticket_and_list_name_no_group_assignee_line_or_priority(
    site: Site,
) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    r = agent.command(filed["id"], "escalations", filed["version"], group=str(site.world.line2),
                      reason="нужен анализ логов")  # fmt: skip
    assert r.status_code == 200, r.text
    after = r.json()["position"]
    seen = requester.ticket(filed["id"], after=after)["ticket"]
    assert seen["id"] == filed["id"] and seen["subject"]
    assert [k for k in STAFF_FACTS if k in seen] == []
    listed = requester.client.get("/api/v1/my/tickets", params={"after": after}).json()["tickets"]
    assert [t["id"] for t in listed] == [filed["id"]]
    assert [k for t in listed for k in STAFF_FACTS if k in t] == []
    staff = agent.ticket(filed["id"], after=after)["ticket"]
    assert (staff["line"], staff["group_id"]) == (2, str(site.world.line2))
