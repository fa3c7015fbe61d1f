"""One request from filing to rating, in real browsers: a requester and an agent in two contexts
chat live, the agent asks for information with a template, the requester fills the form, the
agent escalates, line 2 resolves, the requester rates. Each sees only what is his to see: the
requester never sees the internal note."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.site import LIVE, DeskSite, Knowledge, People, chat, entry, live_texts
from tests.web.desk_site import CONTRACT

SUBJECT = "Контракт не публикуется: ошибка подписи"
NOTE = "Внутренняя заметка: похоже на просроченный сертификат, проверить в УЦ."
ESCALATION = "Нужна проверка подписи на стороне второй линии."


def file_from_the_cabinet(requester: Page) -> str:
    """The requester files through /new (category, its fields, KB suggestions); the request's id."""
    requester.locator(".cabinet-head a[href='/new']").click()
    expect(requester).to_have_url(re.compile(r"/new$"))
    requester.get_by_role("radio", name="Реестр контрактов").check()
    number = requester.locator("#f-contract_number")  # the category's fields come with it
    expect(number).to_be_visible()
    number.fill(CONTRACT)
    requester.locator("#subject").fill(SUBJECT)
    requester.locator("#description").fill(
        "При публикации контракта появляется ошибка подписи. Сертификат установлен."
    )
    expect(requester.locator("#suggestions")).to_contain_text(Knowledge.ARTICLE_TITLE)
    requester.locator("#new-request button[type=submit]").click()
    expect(requester).to_have_url(re.compile(r"/r/[0-9a-f-]{36}"))
    expect(requester.locator("#request-title")).to_have_text(SUBJECT)
    found = re.search(r"/r/([0-9a-f-]{36})", requester.url)
    assert found is not None
    return found.group(1)


def test_a_request_from_filing_to_rating(people: People, desk_site: DeskSite) -> None:
    world = desk_site.world
    requester = people.sign_in("requester")
    expect(requester).to_have_url(re.compile(r"/my"))
    agent = people.sign_in("agent")
    queue = f"unassigned:{world.line1}"
    agent.goto(f"/desk?queue={queue}")

    # Filed in the cabinet, the request shows in the agent's queue without a reload.
    ticket = file_from_the_cabinet(requester)
    row = agent.locator(f"#list tr[data-ticket='{ticket}']")
    expect(row).to_contain_text(SUBJECT, timeout=LIVE)
    row.get_by_role("link", name=SUBJECT).click()
    expect(agent).to_have_url(re.compile(f"/t/{ticket}"))
    expect(entry(agent, "Filed")).to_contain_text(CONTRACT)
    agent.locator("#take").click()
    expect(agent.locator("#side-assignee")).to_have_text("Agent1")

    # A live chat, both ways; the requester sees the agent typing his reply.
    words = live_texts(requester)
    agent.locator("#reply-body").press_sequentially("Здравствуйте! ", delay=10)
    presence = requester.locator("#presence")
    expect(presence).to_contain_text(f"Agent1 ({words['typing_public']})", timeout=LIVE)
    agent.locator("#reply-body").fill("Здравствуйте! Какой сертификат вы используете?")
    agent.locator("#panel-reply button[type=submit]").click()
    expect(entry(agent, "Replied", "Какой сертификат")).to_be_visible()
    expect(chat(requester, "Replied", "Какой сертификат")).to_be_visible(timeout=LIVE)
    expect(chat(requester, "Replied")).to_have_class(re.compile(r"\btheirs\b"))

    requester.locator("#message-body").fill("Сертификат от УЦ Казначейства, выпущен в марте.")
    requester.locator("#composer button[type=submit]").click()
    expect(chat(requester, "RequesterWrote", "УЦ Казначейства")).to_have_class(
        re.compile(r"\bmine\b")
    )
    expect(requester.locator("#message-body")).to_have_value("")
    expect(entry(agent, "RequesterWrote", "УЦ Казначейства")).to_be_visible(timeout=LIVE)

    # An internal note: the agent's timeline marks it; the requester's page never gets it.
    agent.locator("#tab-note").click()
    agent.locator("#note-body").press_sequentially(NOTE[:20], delay=10)
    expect(presence).not_to_contain_text("Agent1", timeout=LIVE)  # not "writing a note"
    agent.locator("#note-body").fill(NOTE)
    agent.locator("#panel-note button[type=submit]").click()
    expect(entry(agent, "NoteAdded", NOTE)).to_have_class(re.compile(r"\binternal\b"))

    # An information request from a template: its fields and question come pre-filled.
    agent.locator("#tab-info").click()
    agent.locator("#template-info").select_option(label=Knowledge.ASK_TITLE)
    message = agent.locator("#info-message")
    expect(message).to_have_value(re.compile(r"Ivanova, уточните.*контракта " + CONTRACT))
    checked = agent.locator("#panel-info input[name=fields]:checked")
    expect(checked).to_have_count(len(Knowledge.ASK_FIELDS))
    assert checked.evaluate_all("boxes => boxes.map(b => b.value)") == list(Knowledge.ASK_FIELDS)
    expect(agent.locator("#info-questions")).to_have_value(Knowledge.ASK_QUESTION)
    agent.locator("#panel-info button[type=submit]").click()
    asked = entry(agent, "InformationRequested")
    expect(asked).to_contain_text(Knowledge.ASK_QUESTION)
    expect(asked.locator(".badge")).not_to_have_count(0)  # "from a template"

    # The requester's page shows a form with exactly the requested fields and the question.
    form = requester.locator("form.request-info")
    expect(form).to_be_visible(timeout=LIVE)
    expect(chat(requester, "InformationRequested", "уточните")).to_be_visible()
    expect(form.locator("[data-field]")).to_have_count(len(Knowledge.ASK_FIELDS))
    shown = form.locator("[data-field]").evaluate_all("fs => fs.map(f => f.dataset.field)")
    assert shown == list(Knowledge.ASK_FIELDS)
    expect(form.get_by_label(Knowledge.ASK_QUESTION)).to_be_visible()
    form.locator("#f-signed_on").fill("2026-11-20")
    form.locator("#f-amount").fill("150000.50")
    form.get_by_label(Knowledge.ASK_QUESTION).fill("Chromium 156")
    form.locator("button[type=submit]").click()
    provided = chat(requester, "InformationProvided")
    expect(provided).to_contain_text("150000.50")
    expect(provided).to_contain_text("Chromium 156")
    expect(requester.locator("form.request-info")).to_have_count(0)
    provided_seen = entry(agent, "InformationProvided")
    expect(provided_seen).to_contain_text("150000.50", timeout=LIVE)
    expect(provided_seen).to_contain_text("Chromium 156")

    # Escalated to line 2; the requester hears of it, without the internal reason.
    agent.locator("#tab-escalate").click()
    agent.locator("#escalate-group").select_option(value=str(world.line2))
    agent.locator("#escalate-reason").fill(ESCALATION)
    agent.locator("#panel-escalate button[type=submit]").click()
    expect(entry(agent, "Escalated", ESCALATION)).to_be_visible()
    expect(chat(requester, "Escalated")).to_contain_text("2", timeout=LIVE)

    # Line 2 finds it in its queue and resolves it.
    engineer = people.sign_in("engineer", f"/desk?queue=group:{world.line2}")
    engineer.locator(f"#list tr[data-ticket='{ticket}'] a.subject").click()
    expect(engineer).to_have_url(re.compile(f"/t/{ticket}"))
    expect(entry(engineer, "NoteAdded", NOTE)).to_be_visible()  # staff see internal notes
    engineer.locator("#tab-resolve").click()
    engineer.locator("#resolution").fill("Переустановили корневой сертификат, подпись проходит.")
    engineer.locator("#panel-resolve button[type=submit]").click()
    expect(entry(engineer, "Resolved", "корневой сертификат")).to_be_visible()

    # The requester sees the answer and rates it 5 with a comment; the agent sees the rating.
    expect(chat(requester, "Resolved", "корневой сертификат")).to_be_visible(timeout=LIVE)
    rating = requester.locator("form.rating")
    expect(rating).to_be_visible(timeout=LIVE)
    rating.locator("input[name=score][value='5']").check(force=True)  # styled as stars
    rating.locator("#rate-comment").fill("Быстро и понятно, спасибо!")
    rating.locator("button[type=submit]").click()
    expect(chat(requester, "Rated", "Быстро и понятно")).to_contain_text("5")
    expect(requester.locator("form.rating")).to_have_count(0)
    rated = entry(agent, "Rated", "Быстро и понятно")
    expect(rated).to_contain_text("5", timeout=LIVE)

    # Nothing internal ever reached the requester: not in what he sees, not in the HTML, neither
    # on the page that followed the request live nor on a fresh one.
    fresh = requester.context.new_page()
    fresh.goto(f"/r/{ticket}")
    for page in (requester, fresh):
        expect(chat(page, "Rated")).to_be_visible()
        expect(page.locator("li.entry.internal, .ev-NoteAdded")).to_have_count(0)
        assert NOTE not in page.locator("body").inner_text()
        html = page.content()
        assert NOTE not in html and ESCALATION not in html
