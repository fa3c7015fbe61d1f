"""Line 1 registers a phone call (issue 16): the agent follows "Register a call" from the desk,
finds the caller by typing, picks her, fills the category's fields, resolves the question on the
call and lands on the request's page; the caller finds it among her own requests."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.site import DeskSite, People, entry
from tests.web.desk_site import CONTRACT


def test_an_agent_registers_a_call_answered_on_the_phone(
    people: People, desk_site: DeskSite
) -> None:
    subject = "Звонок: как переподписать контракт"
    agent = people.sign_in("agent", "/desk")
    agent.locator("header nav a[href='/calls/new']").click()
    expect(agent.locator("h1")).to_have_text("Зарегистрировать звонок")

    agent.locator("#caller-q").fill("7707083893")  # the organisation's INN
    expect(agent.locator("#caller-results")).to_contain_text("ГКУ Заказчик")
    agent.locator("#caller-q").fill("иван")  # nothing by this spelling: the login is Latin
    expect(agent.locator("#caller-results")).to_contain_text("Никого не нашли")
    agent.locator("#caller-q").fill("ivanova")
    found = agent.locator("#caller-results button", has_text="Ivanova")
    expect(found).to_be_visible()
    found.click()
    expect(agent.locator("#caller-chosen .chosen-caller")).to_contain_text("Ivanova")
    expect(agent.locator("#caller-chosen input[name=caller]")).to_have_count(1)

    agent.locator("#call-category").select_option(label="Реестр контрактов")
    expect(agent.locator("#f-contract_number")).to_be_visible()
    agent.locator("#f-contract_number").fill(CONTRACT)
    agent.locator("#subject").fill(subject)
    agent.locator("#description").fill("Спрашивает, как переподписать контракт после правки.")
    agent.locator("#phone").fill("+7 495 000-11-22")
    agent.get_by_label("Решено во время звонка").check()
    agent.locator("#resolution").fill("Объяснили: отозвать подпись и подписать заново.")
    agent.locator("#new-call button[type=submit]").click()

    expect(agent).to_have_url(re.compile(r"/t/[0-9a-f-]{36}"))
    expect(agent.locator("#ticket-title")).to_contain_text(subject)
    expect(entry(agent, "Resolved")).to_contain_text("отозвать подпись")
    ticket = re.search(r"/t/([0-9a-f-]{36})", agent.url)
    assert ticket is not None

    requester = people.sign_in("requester", "/my")
    expect(requester.locator("main")).to_contain_text(subject)  # in her cabinet
