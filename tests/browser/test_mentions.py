"""@mentions in a real browser (issue 16): an agent types "@" and some letters in an internal
note, picks a colleague of line 2 from the list with the keyboard, and the note names him; the
colleague finds the request in his "Mentioned me" queue and reads it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.site import DeskSite, People, entry


def test_an_agent_picks_a_colleague_after_typing_at(people: People, desk_site: DeskSite) -> None:
    filed = desk_site.file("Подпись не проходит: нужна вторая линия")
    ticket = filed["id"]
    agent = people.sign_in("agent", f"/t/{ticket}")
    expect(agent).to_have_url(re.compile(f"/t/{ticket}"))
    agent.locator("#tab-note").click()
    body = agent.locator("#note-body")
    body.press_sequentially("Посмотри логи, @engi", delay=10)
    option = agent.locator("#note-mentions [role=option]").filter(has_text="Engineer2")
    expect(option).to_be_visible()
    expect(option).to_have_attribute("aria-selected", "true")
    expect(body).to_have_attribute("aria-expanded", "true")
    body.press("Enter")  # picks the highlighted colleague, not a new line
    expect(body).to_have_value("Посмотри логи, @engineer2 ")
    expect(agent.locator("#note-mentions")).to_be_hidden()
    body.press_sequentially("пожалуйста.", delay=10)
    agent.locator("#panel-note button[type=submit]").click()

    note = entry(agent, "NoteAdded", "Посмотри логи")
    expect(note.locator("mark.mention").first).to_have_text("@engineer2")
    expect(note.locator(".mentioned")).to_contain_text("Engineer2")

    engineer = people.sign_in("engineer", "/desk?queue=mentioned")
    row = engineer.locator(f"#list tr[data-ticket='{ticket}']")
    expect(row).to_be_visible()
    row.get_by_role("link").first.click()
    expect(engineer).to_have_url(re.compile(f"/t/{ticket}"))
    expect(entry(engineer, "NoteAdded", "Посмотри логи")).to_be_visible()


def test_escape_closes_the_list_and_an_unknown_handle_lists_nobody(
    people: People, desk_site: DeskSite
) -> None:
    ticket = desk_site.file("Вопрос без адресата")["id"]
    agent = people.sign_in("agent", f"/t/{ticket}")
    agent.locator("#tab-note").click()
    body = agent.locator("#note-body")
    body.press_sequentially("@lin", delay=10)
    expect(agent.locator("#note-mentions [role=option]")).to_have_count(3)  # the line groups
    body.press("Escape")
    expect(agent.locator("#note-mentions")).to_be_hidden()
    body.press_sequentially(" и @zzzz", delay=10)
    expect(body).to_have_attribute("data-mentions-for", "zzzz")  # the list has answered
    expect(body).to_have_attribute("aria-expanded", "false")
    expect(agent.locator("#note-mentions")).to_be_hidden()
