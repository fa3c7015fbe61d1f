"""Notifications in a real browser (issue 16): the requester's bell counts up while he reads
another page when an agent replies (no reload), "mark all read" on /notifications clears it, and
preferences chosen on the same page are kept."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.site import LIVE, DeskSite, People


def count(page: Page) -> int:
    bell = page.locator("#bell .bell-count")
    expect(bell).to_have_count(1)  # the bell has fetched its count
    return int(bell.get_attribute("data-unread") or 0)


def test_the_bell_rises_live_on_a_reply_and_falls_after_mark_all_read(
    people: People, desk_site: DeskSite
) -> None:
    ticket = desk_site.file("Колокольчик: ответ без перезагрузки")["id"]
    requester = people.sign_in("requester", "/my")
    before = count(requester)
    with desk_site.api("agent").client() as agent:
        version = agent.get(f"/api/v1/tickets/{ticket}").json()["ticket"]["version"]
        r = agent.post(f"/api/v1/tickets/{ticket}/replies", json={"body": "Ответ по заявке."},
                       headers={"If-Match": f'"{version}"'})  # fmt: skip
        assert r.status_code == 200, r.text
    bell = requester.locator("#bell .bell-count")
    expect(bell).to_have_attribute("data-unread", str(before + 1), timeout=LIVE)
    requester.locator("#bell").click()
    expect(requester).to_have_url(re.compile("/notifications"))
    item = requester.locator(f"li.unread a[href='/r/{ticket}']")
    expect(item).to_be_visible()
    requester.locator("#mark-all-read").click()
    expect(requester.locator(f"li.read a[href='/r/{ticket}']")).to_be_visible()
    expect(requester.locator("#bell .bell-count")).to_have_attribute("data-unread", "0")
    expect(requester.locator("#bell .bell-count")).to_be_hidden()


def test_preferences_are_saved(people: People) -> None:
    agent = people.sign_in("agent", "/notifications")
    agent.locator("input[name=kind_sla_warning][value=both]").check()
    agent.locator("select[name=language]").select_option("en")
    agent.locator("#save-preferences").click()
    expect(agent.locator("#preferences-saved")).to_be_visible()
    agent.reload()
    expect(agent.locator("input[name=kind_sla_warning][value=both]")).to_be_checked()
    expect(agent.locator("select[name=language]")).to_have_value("en")
