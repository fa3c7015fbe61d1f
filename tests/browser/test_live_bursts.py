"""Changes that come a moment apart all reach an open page: none is lost to the refresh that the
one before started."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.browser.site import LIVE, DeskSite, People, chat, entry
from tests.web.desk_site import CONTRACT


def file(client: httpx.Client, desk_site: DeskSite, subject: str) -> str:
    r = client.post("/api/v1/tickets", json={
        "category": str(desk_site.world.contracts), "subject": subject,
        "description": "Ошибка подписи.", "fields": {"contract_number": CONTRACT}})  # fmt: skip
    assert r.status_code == 201, r.text
    ticket: str = r.json()["id"]
    return ticket


def reply(client: httpx.Client, ticket: str, text: str) -> None:
    now = client.get(f"/api/v1/tickets/{ticket}").json()["ticket"]["version"]
    r = client.post(f"/api/v1/tickets/{ticket}/replies", json={"body": text},
                    headers={"If-Match": f'"{now}"'})  # fmt: skip
    assert r.status_code == 200, r.text


def test_replies_a_moment_apart_both_show_live(people: People, desk_site: DeskSite) -> None:
    ticket = desk_site.file("Две реплики подряд")["id"]
    requester = people.sign_in("requester", f"/r/{ticket}")
    engineer = people.sign_in("engineer", f"/t/{ticket}")
    with desk_site.api("agent").client() as agent:
        reply(agent, ticket, "Первая реплика.")
        expect(chat(requester, "Replied", "Первая реплика")).to_be_visible(timeout=LIVE)
        expect(entry(engineer, "Replied", "Первая реплика")).to_be_visible(timeout=LIVE)
        reply(agent, ticket, "Вторая реплика.")  # while the pages still digest the first
    expect(chat(requester, "Replied", "Вторая реплика")).to_be_visible(timeout=LIVE)
    expect(entry(engineer, "Replied", "Вторая реплика")).to_be_visible(timeout=LIVE)


def test_requests_filed_a_moment_apart_both_show_in_the_queue(
    people: People, desk_site: DeskSite
) -> None:
    agent = people.sign_in("agent", f"/desk?queue=group:{desk_site.world.line1}")
    with desk_site.api("requester").client() as requester:
        with agent.expect_response(lambda r: "part=list" in r.url, timeout=LIVE):
            first = file(requester, desk_site, "Первая из двух заявок")
        second = file(requester, desk_site, "Вторая из двух заявок")  # while the list refreshes
    expect(agent.locator(f"#list tr[data-ticket='{first}']")).to_be_visible(timeout=LIVE)
    expect(agent.locator(f"#list tr[data-ticket='{second}']")).to_be_visible(timeout=LIVE)
