"""Issue 7's pages in a real browser: an administrator's routing rule sends a request to line 2
(shown on its page), an SLA policy set in the form counts down in the queue and on the request,
and a spike of matching requests puts a mass-incident proposal on the live board; opened, it
tells the requester at once. Each test leaves the set-up as it found it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.site import LIVE, DeskSite, People, entry
from tests.web.desk_site import CONTRACT


def _put(site: DeskSite, path: str, body: dict[str, Any]) -> None:
    with site.api("admin").client() as client:
        version = client.get(path).json()["version"]
        r = client.put(path, json={**body, "version": version})
    assert r.status_code == 200, r.text


@pytest.fixture
def clean_setup(desk_site: DeskSite) -> Iterator[None]:
    yield
    _put(desk_site, "/api/v1/routing/rules", {"rules": []})
    _put(desk_site, "/api/v1/sla", {"calendars": [{"key": "business", "name": "Будни"},
                                                   {"key": "24x7", "name": "24x7", "always": True}],
                                    "policies": [], "auto_close_days": 5})  # fmt: skip
    _put(desk_site, "/api/v1/incidents/triggers", {"rules": []})


def _file(site: DeskSite, subject: str, **fields: str) -> dict[str, Any]:
    body = {"category": str(site.world.contracts), "subject": subject,
            "description": "Описание проблемы.",
            "fields": {"contract_number": CONTRACT, **fields}}  # fmt: skip
    with site.api("requester").client() as client:
        r = client.post("/api/v1/tickets", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def test_a_routing_rule_set_in_the_form_sends_a_request_to_line_2(
    people: People, desk_site: DeskSite, clean_setup: None
) -> None:
    admin = people.sign_in("admin", "/admin/routing")
    admin.locator("input[name='name-0']").fill("223-FZ → 2 линия")
    admin.locator("select[name='category-0']").select_option(str(desk_site.world.contracts))
    admin.locator("input[name='field_key-0']").fill("law")
    admin.locator("input[name='field_value-0']").fill("223-FZ")
    admin.locator("select[name='group-0']").select_option(str(desk_site.world.line2))
    admin.locator("form[action='/admin/routing'] button[type=submit]").click()
    expect(admin.locator("input[name='name-0']")).to_have_value("223-FZ → 2 линия")
    expect(admin.locator("#form-error")).to_have_count(0)

    engineer = people.sign_in("engineer", f"/desk?queue=group:{desk_site.world.line2}")
    filed = _file(desk_site, "Извещение по 223-ФЗ не публикуется", law="223-FZ")
    row = engineer.locator(f"#list tr[data-ticket='{filed['id']}']")
    expect(row).to_be_visible(timeout=LIVE)
    row.get_by_role("link").click()
    expect(entry(engineer, "Assigned")).to_contain_text("223-FZ → 2 линия")


def test_an_sla_policy_counts_down_in_the_queue_and_on_the_request(
    people: People, desk_site: DeskSite, clean_setup: None
) -> None:
    admin = people.sign_in("admin", "/admin/sla")
    admin.locator("input[name='pname-0']").fill("Контракты 24x7")
    admin.locator("select[name='pcategory-0']").select_option(str(desk_site.world.contracts))
    admin.locator("input[name='fr-0']").fill("60")
    admin.locator("input[name='res-0']").fill("480")
    admin.locator("select[name='pcalendar-0']").select_option("24x7")
    admin.locator("form[action='/admin/sla'] button[type=submit]").click()
    expect(admin.locator("input[name='pname-0']")).to_have_value("Контракты 24x7")

    filed = _file(desk_site, "Не подписывается контракт")
    agent = people.sign_in("agent", f"/desk?queue=unassigned:{desk_site.world.line1}")
    due = agent.locator(f"#list tr[data-ticket='{filed['id']}'] time.due")
    expect(due).to_have_text(re.compile(r"осталось (59 мин|1 ч 0 мин)"), timeout=LIVE)
    agent.locator(f"#list tr[data-ticket='{filed['id']}'] a.subject").click()
    expect(agent.locator("#sla")).to_contain_text("Контракты 24x7")
    expect(agent.locator("#sla time.due").first).to_have_text(re.compile(r"осталось"))


def test_a_spike_proposes_an_incident_live_and_opening_it_tells_the_requester(
    people: People, desk_site: DeskSite, clean_setup: None
) -> None:
    _put(desk_site, "/api/v1/incidents/triggers", {"rules": [{
        "name": "Кассовый разрыв", "words": ["кассовый разрыв"], "threshold": 3,
        "window_minutes": 10}]})  # fmt: skip
    developer = people.sign_in("developer", "/incidents")
    requester_ticket = _file(desk_site, "Кассовый разрыв в отчёте")
    requester = people.sign_in("requester", f"/r/{requester_ticket['id']}")
    for i in range(2):
        _file(desk_site, f"Кассовый разрыв №{i}")
    proposal = developer.locator("a[href^='/incidents/']", has_text="Кассовый разрыв").first
    expect(proposal).to_be_visible(timeout=LIVE)  # the board refreshed by itself
    proposal.click()
    expect(developer).to_have_url(re.compile(r"/incidents/[0-9a-f-]{36}"))
    developer.locator("#open-title").fill("Сбой расчёта кассовых разрывов")
    developer.locator("#open-description").fill("Мы знаем о проблеме.")
    developer.locator("form[action$='/open'] button[type=submit]").click()
    expect(requester.locator("body")).to_contain_text("Мы знаем о проблеме.", timeout=LIVE)
