"""The incident pages' forms, end to end through the real site: each form is parsed into the same
incident command the JSON API sends and handled by the one dispatcher. A developer opens an
incident by hand and a proposal; an agent links a request by its number and takes it out; the
update and the resolution reach the requester; a refusal shows the page again with the message
and writes nothing; an unknown action is 404."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.incidents import Criteria, IncidentStatus, MassIncident, TriggerRule
from domain.settings import Settings
from domain.ticket import Status, Ticket
from tests.web.desk_site import LEAKS, LOGINS, ORIGIN, PASSWORD, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


class Browser:
    def __init__(self, site: Site, who: str) -> None:
        self.client = site.new_client()
        self.client.cookies.set("suz_lang", "ru")
        r = self.client.post("/login", data={"login": LOGINS[who], "password": PASSWORD},
                             headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
        found = re.search(r'"X-CSRF-Token": "([^"]+)"', self.client.get("/desk").text)
        assert found
        self.headers = {"X-CSRF-Token": found.group(1), "Origin": ORIGIN}

    def post(self, path: str, **data: str) -> tuple[int, str]:
        r = self.client.post(path, data=data, headers=self.headers, follow_redirects=False)
        if r.status_code == 303:  # as a browser does: the page, once the views caught up
            assert self.client.get(r.headers["location"]).status_code == 200
            return 303, r.headers["location"]
        return r.status_code, r.text


def head(site: Site) -> int:
    return site.services.desk.recorder.max_notification_id() or 0


def shown(location: str) -> UUID:
    found = re.fullmatch(r"/incidents/([0-9a-f-]{36})\?after=\d+", location)
    assert found, location
    return UUID(found.group(1))


def test_the_incident_forms_send_the_same_commands_as_the_api(site: Site) -> None:
    desk = site.services.desk
    developer, agent = Browser(site, "developer"), Browser(site, "agent")
    filed = site.world.file()

    before = head(site)
    status, text = developer.post("/incidents/new", title="Сбой", description="Чиним",
                                  category="", words="", since_hours="месяц")  # fmt: skip
    assert status == 422 and "Часы назад: целое число, не больше недели." in text, text
    status, text = agent.post("/incidents/new", title="Сбой", description="Чиним")
    assert status == 403, text
    assert head(site) == before, "a refused form writes nothing"

    status, location = developer.post("/incidents/new", title="Сбой подписи", description="Чиним",
                                      category=str(site.world.contracts), words="подпись, ЭЦП",
                                      since_hours="")  # fmt: skip
    assert status == 303
    incident = shown(location)
    opened = desk.repository.get(incident)
    assert isinstance(opened, MassIncident) and opened.status is IncidentStatus.OPEN
    assert opened.criteria == Criteria(site.world.contracts, words=("подпись", "ЭЦП"))

    page = f"/incidents/{incident}"
    status, location = agent.post(f"{page}/link", number=f"№{filed.number}")
    assert (status, shown(location)) == (303, incident)
    assert filed.id in desk.repository.get(incident).links
    before = head(site)
    status, text = agent.post(f"{page}/link", number=str(filed.number))
    assert status == 409 and "Эти обращения уже привязаны к инциденту." in text, text
    status, text = agent.post(f"{page}/dismiss", reason="Не моё")
    assert status == 403 and "Массовыми инцидентами управляют только" in text, text
    assert head(site) == before

    status, location = developer.post(f"{page}/update", body="Ещё час")
    assert (status, shown(location)) == (303, incident)
    status, location = agent.post(f"{page}/unlink", ticket=str(filed.id))
    assert (status, shown(location)) == (303, incident)
    assert filed.id not in desk.repository.get(incident).links
    assert agent.post(f"{page}/unlink", ticket="не id")[0] == 404
    for unknown in ("new", "fire", "deliver"):
        assert developer.post(f"{page}/{unknown}", title="x", description="y")[0] == 404

    agent.post(f"{page}/link", number=str(filed.number))
    status, location = developer.post(f"{page}/resolve", answer="Исправлено", resolve_requests="1")
    assert (status, shown(location)) == (303, incident)
    ticket = desk.repository.get(filed.id)
    assert isinstance(ticket, Ticket) and ticket.status is Status.RESOLVED


def test_a_proposal_is_opened_with_its_own_criteria(site: Site) -> None:
    desk, world = site.services.desk, site.world
    rule = TriggerRule(uuid4(), "Всплеск", Criteria(world.contracts), 3)
    desk.set_trigger_rules(world.admin, (rule,))
    proposal = desk.fire_trigger(rule.id, datetime.now(UTC), 3)
    assert proposal is not None
    developer = Browser(site, "developer")
    status, location = developer.post(f"/incidents/{proposal.id}/open", title="Сбой подписи",
                                      description="Чиним")  # fmt: skip
    assert (status, shown(location)) == (303, proposal.id)
    accepted = desk.repository.get(proposal.id)
    assert isinstance(accepted, MassIncident) and accepted.status is IncidentStatus.OPEN
    assert accepted.criteria == Criteria(world.contracts) and accepted.title == "Сбой подписи"
