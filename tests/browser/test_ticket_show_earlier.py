"""A long request in a real browser: the page opens on its newest entries, "show earlier" brings
the ones before them back to the filing, and a reply sent meanwhile still appears live, after the
rest, with nothing shown twice; the requester's chat does the same without the internal notes."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.site import LIVE, DeskSite, People, chat, entry
from web.ui.timeline_window import PAGE

EXTRA = 12  # entries beyond one page


def send(client: httpx.Client, ticket: str, version: int, kind: str, text: str) -> int:
    """A reply or a note against `version`; the version it made."""
    r = client.post(f"/api/v1/tickets/{ticket}/{kind}", json={"body": text},
                    headers={"If-Match": f'"{version}"'})  # fmt: skip
    assert r.status_code == 200, r.text
    made: int = r.json()["version"]
    return made


def versions(page: Page) -> list[int]:
    return [int(v) for v in page.locator("#timeline li.entry").evaluate_all(
        "items => items.map(li => li.dataset.version)")]  # fmt: skip


def test_show_earlier_loads_back_to_the_filing_and_live_replies_still_arrive(
    people: People, desk_site: DeskSite
) -> None:
    filed = desk_site.file("Длинная переписка о подписи")
    ticket, version = filed["id"], filed["version"]
    with desk_site.api("agent").client() as agent_api:
        for n in range(PAGE + EXTRA):
            note = n % 5 == 4
            said = "заметка для своих" if note else "ответ"
            kind = "notes" if note else "replies"
            version = send(agent_api, ticket, version, kind, f"Запись {n}: {said}")
        agent = people.sign_in("agent", f"/t/{ticket}")
        requester = people.sign_in("requester", f"/r/{ticket}")
        total = PAGE + EXTRA + 2  # and the filing and its routing

        expect(agent.locator("#timeline li.entry")).to_have_count(PAGE)
        expect(entry(agent, "Filed")).to_have_count(0)
        agent.locator("#timeline li.earlier button").click()
        expect(agent.locator("#timeline li.entry")).to_have_count(total)
        expect(entry(agent, "Filed")).to_be_visible()
        expect(agent.locator("#timeline li.earlier")).to_have_count(0)
        assert versions(agent) == list(range(1, total + 1))

        expect(chat(requester, "Filed")).to_have_count(0)
        requester.locator("#timeline li.earlier button").click()
        expect(chat(requester, "Filed")).to_be_visible()
        expect(requester.locator("#timeline")).not_to_contain_text("заметка для своих")
        public = versions(requester)
        assert public == sorted(set(public)), "in order, none twice"

        send(agent_api, ticket, version, "replies", "Живой ответ после всех")
        expect(entry(agent, "Replied", "Живой ответ после всех")).to_be_visible(timeout=LIVE)
        expect(chat(requester, "Replied", "Живой ответ после всех")).to_be_visible(timeout=LIVE)
    assert versions(agent) == list(range(1, total + 2)), "appended after the earlier ones"
    assert versions(requester) == [*public, total + 1]
    expect(entry(agent, "Filed")).to_be_visible()  # what was loaded stays

    # The agent answers from the page: the version it sends is the live one, so no conflict.
    agent.locator("#reply-body").fill("Ответ со страницы")
    agent.locator("#panel-reply button[type=submit]").click()
    expect(entry(agent, "Replied", "Ответ со страницы")).to_be_visible()
    expect(agent.locator(".composer .stale")).to_have_count(0)
