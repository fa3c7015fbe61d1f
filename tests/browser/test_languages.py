"""The pages speak Russian by default (and to a Russian browser), English to an English browser
or after the switch in the header, which is remembered."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.site import EN, RU, People
from tests.web.desk_site import PASSWORD

CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def test_russian_by_default_english_by_the_switch(people: People) -> None:
    page = people.anonymous("/login", locale=RU)
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(CYRILLIC)
    expect(page.locator("button[type=submit]").last).to_have_text(CYRILLIC)

    page.locator("button[name=lang][value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading).to_have_text("Sign in to the support desk")
    expect(page).to_have_url(re.compile(r"/login$"))

    # The choice is remembered, signed in too; switching back gives Russian again.
    page.locator("#login").fill("agent1")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/desk"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Queues")).to_be_visible()
    page.locator("button[name=lang][value=ru]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("header.top nav a[href='/desk']")).to_have_text(CYRILLIC)


def test_an_english_browser_gets_english(people: People) -> None:
    page = people.anonymous("/login", locale=EN)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the support desk")
    expect(page.locator("button[name=lang][value=ru]")).to_have_text("Русский")
