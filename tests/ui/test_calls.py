"""Register a call (issue 16, "Phone"): the staff page and its caller search, the JSON API with
its answers checked against the API description, and who is refused, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.desk import SYSTEM
from domain.people import Role
from domain.settings import Settings
from domain.setup.people import RegisterAccount
from tests.web.api_description import Answers
from tests.web.desk_site import CONTRACT, LEAKS, ORIGIN, Person, Site, TestClient, open_site

pytestmark = LEAKS
PHONE = "+7 (495) 123-45-67"


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        s.services.desk.handle(SYSTEM, RegisterAccount(
            "zvonova", "Анна Звонова", (Role.REQUESTER,), s.world.org, "anna@zakazchik.ru",
            PHONE))  # fmt: skip
        head = s.services.desk.recorder.max_notification_id() or 0
        assert s.services.projections.wait_for(head, 10.0), "the views caught up"
        yield s


def person(site: Site, who: str) -> Person:
    p = site.sign_in(who)
    p.client.cookies.set("suz_lang", "en")
    return p


def get(who: Person | TestClient, path: str, htmx: bool = False) -> httpx.Response:
    client = who.client if isinstance(who, Person) else who
    r: httpx.Response = client.get(path, headers={"HX-Request": "true"} if htmx else {},
                                   follow_redirects=False)  # fmt: skip
    return r


def post_form(who: Person, data: dict[str, str]) -> httpx.Response:
    r: httpx.Response = who.client.post(
        "/calls", data={**data, "csrf_token": who.csrf}, headers={"Origin": ORIGIN},
        follow_redirects=False)  # fmt: skip
    return r


def call_form(site: Site, **extra: str) -> dict[str, str]:
    return {"category": str(site.world.contracts), "subject": "Не публикуется контракт",
            "description": "Звонок: ошибка подписи.", "field.contract_number": CONTRACT,
            "phone": PHONE, **extra}  # fmt: skip


def test_an_agent_registers_a_call_resolved_on_the_phone(site: Site) -> None:
    agent = person(site, "agent")
    page = get(agent, "/desk")
    assert 'href="/calls/new"' in page.text  # the staff navigation leads there
    form = get(agent, "/calls/new")
    assert form.status_code == 200 and "Register a call" in form.text
    assert "Find the caller" in form.text and str(site.world.line2) in form.text  # line 2 groups

    found = get(agent, "/calls/callers?q=8 495 123 45 67", htmx=True)  # by phone, written otherwise
    assert "Анна Звонова" in found.text and "ГКУ Заказчик" in found.text
    caller_id = found.text.split('hx-get="/calls/caller?id=')[1].split('"')[0]
    chosen = get(agent, f"/calls/caller?id={caller_id}", htmx=True)
    assert f'name="caller" value="{caller_id}"' in chosen.text and PHONE in chosen.text
    by_inn = get(agent, "/calls/callers?q=7707083893", htmx=True)
    assert "organisation" in by_inn.text and "its people" in by_inn.text
    people = get(agent, f"/calls/callers?organisation={site.world.org}", htmx=True)
    assert "Анна Звонова" in people.text and "Ivanova" in people.text

    r = post_form(agent, call_form(site, caller=caller_id, outcome="resolved",
                                   resolution="Переподписали, опубликовано."))  # fmt: skip
    assert r.status_code == 303, r.text
    target = r.headers["location"]
    assert target.startswith("/t/")
    ticket = get(agent, target)
    assert ticket.status_code == 200 and "Не публикуется контракт" in ticket.text
    ticket_id = target.split("/t/")[1].split("?")[0]
    data = agent.ticket(ticket_id, after=int(r.headers["x-suz-position"]))["ticket"]
    assert (data["status"], data["channel"]) == ("resolved", "phone")


def test_a_call_escalated_or_left_open_and_bad_input_shown_in_place(site: Site) -> None:
    agent = person(site, "agent")
    r = post_form(agent, call_form(
        site, contact_name="Пётр Звонков", contact_email="petr@example.ru", outcome="escalate",
        escalate_to=str(site.world.line2), reason="Логи подписи."))  # fmt: skip
    assert r.status_code == 303, r.text
    ticket_id = r.headers["location"].split("/t/")[1].split("?")[0]
    page = get(agent, r.headers["location"])
    assert f"by phone, taken by Agent1 · {PHONE}" in page.text  # the staff's timeline says so
    data = agent.ticket(ticket_id, after=int(r.headers["x-suz-position"]))["ticket"]
    assert (data["status"], data["line"], data["group_id"]) == (
        "open", 2, str(site.world.line2))  # fmt: skip

    before = site.services.desk.recorder.max_notification_id()
    cases = [
        (call_form(site, contact_name="Пётр", phone="", outcome="open"), "e-contact_email"),
        (call_form(site, contact_name="Пётр", phone="звоните", outcome="open"), "e-phone"),
        (call_form(site, caller=str(site.world.agent.id), outcome="open"), "e-caller"),
        (call_form(site, contact_name="Пётр", outcome="resolved", resolution=""), "e-resolution"),
        (call_form(site, contact_name="Пётр", outcome="escalate", escalate_to=str(
            site.world.line3), reason="Срочно"), "e-escalate_to"),
        (call_form(site, contact_name="Пётр", outcome="open", category=""), "e-category"),
        (call_form(site, contact_name="Пётр", outcome="open", caller="not an id"), "e-caller"),
        ({**call_form(site, contact_name="Пётр", outcome="open"), "field.contract_number": "1"},
         "e-contract_number"),
    ]  # fmt: skip
    for data_, marker in cases:
        bad = post_form(agent, data_)
        assert bad.status_code == 422, (marker, bad.text[:300])
        assert f'id="{marker}"' in bad.text, marker
        assert 'value="Пётр"' in bad.text or marker == "e-caller"  # the form keeps what was typed
    assert site.services.desk.recorder.max_notification_id() == before  # nothing written


@pytest.mark.parametrize("who", ["requester", "auditor", "curator", None])
def test_the_page_and_the_search_are_for_staff_who_work_requests(
    site: Site, who: str | None
) -> None:
    if who is None:
        client: Person | TestClient = site.new_client()
    else:
        client = person(site, who)
    for path in ("/calls/new", "/calls/callers?q=звонова", f"/calls/caller?id={site.world.org}"):
        r = get(client, path, htmx=True)
        assert r.status_code in (204, 403, 404), (who, path, r.status_code)
        assert "Звонова" not in r.text and "zakazchik" not in r.text
    if who == "requester":
        assert isinstance(client, Person)
        assert 'href="/calls/new"' not in get(client, "/my").text
        before = site.services.desk.recorder.max_notification_id()
        assert (
            post_form(client, call_form(site, contact_name="Я", outcome="open")).status_code == 403
        )
        assert site.services.desk.recorder.max_notification_id() == before


def test_the_api_registers_calls_and_finds_callers_as_described(site: Site) -> None:
    check, agent = Answers(), person(site, "agent")
    body: dict[str, Any] = {
        "category": str(site.world.contracts), "subject": "Вопрос по звонку",
        "description": "Как подписать?", "fields": {"contract_number": CONTRACT},
        "caller": str(site.world.requester.id), "resolution": "Объяснили.",
        "phone": "+7 495 000-00-01",
    }  # fmt: skip
    filed = check(agent.post("/api/v1/calls", body), "post", "/api/v1/calls", 201)
    found = check(agent.get(f"/api/v1/callers?q=ivanova&after={filed['position']}"),
                  "get", "/api/v1/callers", 200)  # fmt: skip
    assert [c["login"] for c in found["callers"]] == ["ivanova"]
    people = check(agent.get(f"/api/v1/callers?organisation={site.world.org}"),
                   "get", "/api/v1/callers", 200)  # fmt: skip
    assert {c["name"] for c in people["callers"]} >= {"Анна Звонова", "Ivanova"}
    theirs = person(site, "requester").ticket(filed["id"], after=filed["position"])
    assert (theirs["ticket"]["status"], theirs["ticket"]["channel"]) == ("resolved", "phone")
    # who took the call and from which number is the staff's to see
    filing = next(e["data"] for e in theirs["timeline"] if e["event"] == "Filed")
    assert "raised_by" not in filing and "caller_phone" not in filing
    staff = agent.ticket(filed["id"])["timeline"]
    filing = next(e["data"] for e in staff if e["event"] == "Filed")
    assert (filing["raised_by"], filing["caller_phone"]) == (
        str(site.world.agent.id), "+7 495 000-00-01")  # fmt: skip

    bad = check(agent.post("/api/v1/calls", {**body, "resolution": None, "caller": None}),
                "post", "/api/v1/calls", 422)  # fmt: skip
    assert bad["error"]["fields"] == ["contact_name"]
    wrong = check(agent.post("/api/v1/calls", {**body, "escalate_to": "x"}),
                  "post", "/api/v1/calls", 422)  # fmt: skip
    assert wrong["error"]["fields"] == ["escalate_to"]
    for who in ("requester", "auditor"):
        p = person(site, who)
        check(p.post("/api/v1/calls", body), "post", "/api/v1/calls", 403)
        check(p.get("/api/v1/callers?q=ivanova"), "get", "/api/v1/callers", 403)
    anonymous = site.new_client()
    check(anonymous.post("/api/v1/calls", json=body, headers={"Origin": ORIGIN}),
          "post", "/api/v1/calls", 401)  # fmt: skip


def test_an_administrator_gives_a_requester_a_phone_line_1_finds_him_by(site: Site) -> None:
    check, admin, agent = Answers(), person(site, "admin"), person(site, "agent")
    account = {"login": "zvonkov", "display_name": "Игорь Звонков", "roles": ["requester"],
               "password": "a long enough passphrase 42", "organisation": str(site.world.org),
               "email": "igor@zakazchik.ru"}  # fmt: skip
    bad = check(admin.post("/api/v1/accounts", {**account, "phone": "позвоните мне"}),
                "post", "/api/v1/accounts", 422)  # fmt: skip
    assert bad["error"]["fields"] == ["phone"]
    made = check(admin.post("/api/v1/accounts", {**account, "phone": "8 (812) 700-00-01"}),
                 "post", "/api/v1/accounts", 201)  # fmt: skip
    found = check(agent.get(f"/api/v1/callers?q=+7 812 700 00 01&after={made['position']}"),
                  "get", "/api/v1/callers", 200)  # fmt: skip
    assert [(c["login"], c["phone"]) for c in found["callers"]] == [
        ("zvonkov", "8 (812) 700-00-01")]  # fmt: skip
