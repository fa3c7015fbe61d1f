"""The agents' pages through HTTP: signing in, the queues, the ticket page and its actions.

Every action is checked for what it changes (the ticket's version) as well as what it shows:
refusals (stale view, bad input, wrong role, missing CSRF token) must change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, LOGINS, ORIGIN, PASSWORD, Site, TestClient, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


class Browser:
    """A person using the UI: signs in through the form, sends htmx posts with the CSRF token."""

    def __init__(self, site: Site, who: str, lang: str = "en") -> None:
        self.client: TestClient = site.new_client()
        self.client.headers["Accept-Language"] = lang
        r = self.client.post(
            "/login",
            data={"login": LOGINS[who], "password": PASSWORD},
            headers={"Origin": ORIGIN},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        self.home = r.headers["location"]
        page = self.client.get("/desk").text  # any page (a refusal too) carries the token
        found = re.search(r'"X-CSRF-Token": "([^"]+)"', page)
        assert found, "the page carries the CSRF token for htmx"
        self.csrf = found.group(1)

    def get(self, path: str) -> httpx.Response:
        r: httpx.Response = self.client.get(path, follow_redirects=False)
        return r

    def act(self, ticket: str, action: str, **form: str) -> httpx.Response:
        r: httpx.Response = self.client.post(
            f"/t/{ticket}/act/{action}",
            data=form,
            headers={"X-CSRF-Token": self.csrf, "Origin": ORIGIN, "HX-Request": "true"},
        )
        return r


def seen_version(html: str) -> str:
    found = re.search(r'id="seen-version" name="version" value="(\d+)"', html)
    assert found, "the page says which version it shows"
    return found.group(1)


def version(site: Site, ticket: str) -> int:
    from uuid import UUID

    return site.services.desk.ticket(site.world.admin, UUID(ticket)).version


def test_sign_in_sends_each_role_home_and_refuses_a_wrong_password(site: Site) -> None:
    assert Browser(site, "agent").home == "/desk"
    assert Browser(site, "requester").home == "/my"
    client = site.new_client()
    r = client.post(
        "/login",
        data={"login": "agent1", "password": "wrong"},
        headers={"Origin": ORIGIN, "Accept-Language": "en"},
    )
    assert r.status_code == 401 and "Wrong login or password" in r.text
    r = client.post(
        "/login",
        data={"login": "agent1", "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403, "a sign-in from another site is refused"
    r = client.post(
        "/login",
        data={"login": "agent1", "password": PASSWORD, "next": "//evil.example/x"},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/desk", "next= never leads off the site"
    assert client.get("/desk", follow_redirects=False).status_code == 200


def test_pages_need_a_session_and_staff_pages_refuse_requesters(site: Site) -> None:
    anonymous = site.new_client()
    r = anonymous.get("/desk", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    requester = Browser(site, "requester")
    assert requester.get("/desk").status_code == 403


def test_the_queue_lists_a_new_request_with_counts_and_escapes_its_subject(site: Site) -> None:
    filed = site.world.file(subject="<script>alert(1)</script> не публикуется")
    agent = Browser(site, "agent")
    page = agent.get(f"/desk?queue=unassigned:{site.world.line1}&after={filed.position}").text
    assert f'href="/t/{filed.id}"' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    count = re.search(rf'data-count="unassigned:{site.world.line1}">(\d+)<', page)
    assert count and count.group(1) == "1"
    assert 'data-live-topics="queues presence group:' in page


def test_reply_note_and_a_stale_write(site: Site) -> None:
    filed = site.world.file()
    ticket = str(filed.id)
    agent = Browser(site, "agent")
    page = agent.get(f"/t/{ticket}?after={filed.position}").text
    seen = seen_version(page)
    r = agent.act(ticket, "note", version=seen, body="Проверить логи подписи")
    assert r.status_code == 200
    assert re.search(r'class="entry internal"[^>]*data-event="NoteAdded"', r.text)
    before = version(site, ticket)
    # a reply written against the version before the note: refused, shown what is new, kept
    r = agent.act(ticket, "reply", version=seen, body="Повторите публикацию, пожалуйста")
    assert r.status_code == 409
    assert 'class="stale"' in r.text and "Проверить логи подписи" in r.text
    assert "Повторите публикацию, пожалуйста</textarea>" in r.text, "the draft is kept"
    assert version(site, ticket) == before, "nothing was written"
    r = agent.act(ticket, "reply", version=seen_version(r.text), body="Повторите публикацию")
    assert r.status_code == 200 and 'data-event="Replied"' in r.text
    assert version(site, ticket) == before + 1


def test_bad_input_marks_the_field_and_changes_nothing(site: Site) -> None:
    filed = site.world.file()
    ticket = str(filed.id)
    agent = Browser(site, "agent")
    seen = seen_version(agent.get(f"/t/{ticket}?after={filed.position}").text)
    before = version(site, ticket)
    r = agent.act(ticket, "transfer", version=seen, group="", reason="нужна 2 линия")
    assert r.status_code == 422
    assert 'id="error-transfer"' in r.text and 'name="group" required class=" invalid"' in r.text
    r = agent.act(ticket, "escalate", version=seen, group=str(site.world.line2), reason="")
    assert r.status_code == 422 and 'id="error-escalate"' in r.text
    r = agent.act(ticket, "reply", version="not-a-number", body="x")
    assert r.status_code == 422
    r = agent.act(ticket, "link", version=seen, other="999999")
    assert r.status_code == 422 and "no request with that number" in r.text
    assert agent.act(ticket, "bogus", version=seen).status_code == 404
    assert version(site, ticket) == before


def test_escalation_and_information_request_appear_in_the_timeline(site: Site) -> None:
    filed = site.world.file()
    ticket = str(filed.id)
    agent = Browser(site, "agent")
    seen = seen_version(agent.get(f"/t/{ticket}?after={filed.position}").text)
    r = agent.act(
        ticket,
        "request-info",
        version=seen,
        fields="signed_on",
        questions="Текст ошибки?",
        message="Уточните",
    )
    assert r.status_code == 200 and 'data-event="InformationRequested"' in r.text
    r = agent.act(
        ticket,
        "escalate",
        version=seen_version(r.text),
        group=str(site.world.line2),
        reason="Нужен анализ логов",
    )
    assert r.status_code == 200
    assert 'class="entry event escalation' in r.text and "Нужен анализ логов" in r.text
    engineer = Browser(site, "engineer")
    page = engineer.get(f"/desk?queue=group:{site.world.line2}").text
    assert f'href="/t/{ticket}"' in page


def test_roles_that_only_read_and_requesters_cannot_act(site: Site) -> None:
    filed = site.world.file()
    ticket = str(filed.id)
    site.world.desk.note(site.world.agent, filed.id, "секретная заметка")
    auditor = Browser(site, "auditor")
    page = auditor.get(f"/t/{ticket}?after={filed.position + 1}").text
    assert "секретная заметка" in page, "auditors read the whole history"
    assert 'id="panel-reply"' not in page, "no composer for a read-only role"
    before = version(site, ticket)
    assert auditor.act(ticket, "reply", version=str(before), body="x").status_code == 403
    requester = Browser(site, "requester")
    r = requester.get(f"/t/{ticket}")
    assert r.status_code == 303 and r.headers["location"] == f"/r/{ticket}"
    assert requester.act(ticket, "note", version=str(before), body="x").status_code == 403
    stranger = Browser(site, "stranger")
    assert stranger.act(ticket, "reply", version=str(before), body="x").status_code in (403, 404)
    assert version(site, ticket) == before


def test_csrf_token_and_origin_are_required(site: Site) -> None:
    filed = site.world.file()
    ticket = str(filed.id)
    agent = Browser(site, "agent")
    before = version(site, ticket)
    r = agent.client.post(
        f"/t/{ticket}/act/note",
        data={"version": before, "body": "x"},
        headers={"Origin": ORIGIN, "HX-Request": "true"},
    )
    assert r.status_code == 403
    r = agent.client.post(
        f"/t/{ticket}/act/note",
        data={"version": before, "body": "x"},
        headers={"Origin": "http://evil.example", "X-CSRF-Token": agent.csrf},
    )
    assert r.status_code == 403
    assert version(site, ticket) == before


def test_the_language_follows_the_browser_and_the_switch(site: Site) -> None:
    english = Browser(site, "agent", lang="en-GB,en;q=0.9")
    assert ">Queues<" in english.get("/desk").text
    russian = Browser(site, "agent", lang="ru-RU,ru;q=0.9")
    assert ">Очереди<" in russian.get("/desk").text
    r = russian.client.post(
        "/lang",
        data={"lang": "en", "next": "/desk", "csrf_token": russian.csrf},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    assert ">Queues<" in russian.get("/desk").text


def test_queues_and_the_ticket_page_show_the_sla_deadline(site: Site) -> None:
    from uuid import uuid4

    from domain.sla_setup import DEFAULT_CALENDARS, Policy

    desk, world = site.services.desk, site.world
    policy = Policy(
        uuid4(), "Контракты 24x7", 60, 240, category_id=world.contracts, calendar="24x7"
    )
    desk.set_sla(world.admin, DEFAULT_CALENDARS, (policy,), 5)
    filed = world.file()
    agent = Browser(site, "agent")
    page = agent.get(f"/desk?queue=unassigned:{world.line1}&after={filed.position}").text
    assert re.search(
        r'<time class="due" datetime="[^"]+" data-due="[^"]+" title="Контракты 24x7', page
    )
    ticket = agent.get(f"/t/{filed.id}?after={filed.position}").text
    assert 'id="sla"' in ticket and "Контракты 24x7" in ticket


def test_files_go_with_a_reply_and_stay_internal_with_a_note(site: Site) -> None:
    from tests.web.support import png

    filed = site.world.file()
    ticket = str(filed.id)
    agent = Browser(site, "agent")
    seen = seen_version(agent.get(f"/t/{ticket}?after={filed.position}").text)
    headers = {"X-CSRF-Token": agent.csrf, "Origin": ORIGIN, "HX-Request": "true"}
    r = agent.client.post(
        f"/t/{ticket}/act/reply",
        data={"version": seen, "body": "Скриншот"},
        files={"files": ("screen.png", png(), "image/png")},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert 'alt="screen.png"' in r.text
    r = agent.client.post(f"/t/{ticket}/act/note", data={"version": seen_version(r.text),
                          "body": "Логи"}, files={"files": ("logs.txt", b"trace", "text/plain")},
                          headers=headers)  # fmt: skip
    assert r.status_code == 200 and "logs.txt" in r.text
    requester = site.sign_in("requester")
    timeline = requester.ticket(ticket, after=99_999)["timeline"]
    names = [a["name"] for e in timeline for a in e["data"].get("attachments", [])]
    assert names == ["screen.png"], "the note's file is not the requester's to see"


def test_an_agent_says_he_is_away_and_back(site: Site) -> None:
    agent = Browser(site, "agent")
    r = agent.client.post(
        "/desk/away",
        data={"away": "1", "csrf_token": agent.csrf},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert site.services.desk.account_by_id(site.world.agent.id).away is True
    assert "I am back" in agent.get("/desk").text
    r = agent.client.post("/desk/away", data={"away": "0"}, headers={"Origin": ORIGIN})
    assert r.status_code == 403, "without the CSRF token nothing changes"
    assert site.services.desk.account_by_id(site.world.agent.id).away is True


def test_a_queue_as_it_stood_at_a_moment(site: Site) -> None:
    from datetime import timedelta

    first = site.world.file(subject="Была в очереди").id
    events = list(site.services.desk.repository.event_store.get(first))
    routed = events[1].timestamp
    site.services.desk.escalate(site.world.agent, first, site.world.line2, "Дальше")
    agent = Browser(site, "auditor")
    queue = f"group:{site.world.line1}"
    before = (routed - timedelta(seconds=1)).isoformat()
    then = (routed + timedelta(microseconds=1)).isoformat()
    head = site.services.desk.recorder.max_notification_id()
    assert "Была в очереди" not in agent.get(f"/desk?queue={queue}&after={head}").text
    assert "Была в очереди" not in agent.get(f"/desk?queue={queue}&as_of={before}").text
    page = agent.get(f"/desk?queue={queue}&as_of={then}".replace("+", "%2B")).text
    assert "Была в очереди" in page and 'class="notice"' in page
    assert agent.get(f"/desk?queue={queue}&as_of=yesterday").status_code == 422
