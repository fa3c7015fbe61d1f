"""The agents' side in a real browser: the queue fills live, presence, a write against a stale
view refused with what is new shown and the draft kept, templates in the reply box."""

from __future__ import annotations

import re

from playwright.sync_api import WebSocketRoute, expect

from tests.browser.site import LIVE, DeskSite, Knowledge, People, entry, live_texts
from tests.web.desk_site import CONTRACT


def test_a_new_request_appears_in_the_queue_live(people: People, desk_site: DeskSite) -> None:
    agent = people.sign_in("agent")
    expect(agent).to_have_url(re.compile(r"/desk"))
    queue = f"unassigned:{desk_site.world.line1}"
    agent.locator(f"a[data-queue='{queue}']").click()
    expect(agent).to_have_url(re.compile(re.escape(queue)))
    count = agent.locator(f"#queues [data-count='{queue}']")
    before = int(count.text_content() or "0")

    filed = desk_site.file("Не открывается карточка контракта")

    row = agent.locator(f"#list tr[data-ticket='{filed['id']}']")
    expect(row).to_contain_text("Не открывается карточка контракта", timeout=LIVE)
    expect(count).to_have_text(str(before + 1), timeout=LIVE)
    row.get_by_role("link").click()
    expect(agent).to_have_url(re.compile(f"/t/{filed['id']}"))
    expect(entry(agent, "Filed")).to_contain_text(CONTRACT)
    agent.locator("#take").click()
    expect(agent.locator("#side-assignee")).to_have_text("Agent1")


def test_presence_and_a_stale_write_refused_with_the_draft_kept(
    people: People, desk_site: DeskSite
) -> None:
    filed = desk_site.file("Ошибка при подписании контракта")
    first = people.sign_in("agent", f"/t/{filed['id']}")
    second = people.context().new_page()

    # The second agent's page hears who is here but not the first agent's reply: as if he were
    # writing while it landed (the live refresh would otherwise bring his view up to date).
    def hold_back_changes(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda m: None if '"position"' in str(m) else ws.send(m))

    second.route_web_socket(re.compile(r"/live"), hold_back_changes)
    people.sign_in("engineer", f"/t/{filed['id']}", page=second)
    expect(second.locator("#timeline")).to_be_visible()

    words = live_texts(second)
    presence = second.locator("#presence")
    expect(presence).to_contain_text(f"Agent1 ({words['viewing']})", timeout=LIVE)
    expect(first.locator("#presence")).to_contain_text(
        f"Engineer2 ({live_texts(first)['viewing']})", timeout=LIVE
    )
    first.locator("#reply-body").press_sequentially("Проверяем", delay=20)
    expect(presence).to_contain_text(f"Agent1 ({words['typing_public']})", timeout=LIVE)

    first.locator("#reply-body").fill("Переустановите сертификат, пожалуйста.")
    first.locator("#panel-reply button[type=submit]").click()
    expect(entry(first, "Replied", "Переустановите сертификат")).to_be_visible()

    draft = "Проверьте срок действия сертификата."
    second.locator("#reply-body").fill(draft)
    second.locator("#panel-reply button[type=submit]").click()
    stale = second.locator(".composer .stale")
    expect(stale).to_be_visible()
    expect(stale.locator("li.entry[data-event='Replied']")).to_contain_text(
        "Переустановите сертификат"
    )
    expect(second.locator("#error-reply")).to_be_visible()
    expect(second.locator("#reply-body")).to_have_value(draft)
    expect(entry(second, "Replied", "Переустановите сертификат")).to_be_visible()

    # Sent again, now against what he has seen, it goes through.
    second.locator("#panel-reply button[type=submit]").click()
    expect(entry(second, "Replied", draft)).to_be_visible()
    expect(second.locator(".composer .stale")).to_have_count(0)
    expect(entry(first, "Replied", draft)).to_be_visible(timeout=LIVE)


def test_a_template_fills_the_reply_and_another_choice_replaces_it(
    people: People, desk_site: DeskSite
) -> None:
    filed = desk_site.file("Повторная ошибка подписи")
    agent = people.sign_in("agent", f"/t/{filed['id']}")
    picker, body = agent.locator("#template-reply"), agent.locator("#reply-body")
    picker.select_option(label=Knowledge.ANSWER_TITLE)
    expect(body).to_have_value(re.compile(rf"^Ivanova, переустановите .* {CONTRACT} снова\.$"))
    picker.select_option(value="")  # "write freely" again
    expect(body).to_have_value("")
    picker.select_option(label=Knowledge.ANSWER_TITLE)
    expect(body).to_have_value(re.compile("переустановите"))
    agent.locator("#panel-reply button[type=submit]").click()
    sent = entry(agent, "Replied", "переустановите")
    expect(sent).to_be_visible()
    expect(sent.locator(".badge")).to_have_count(1)  # "from a template"
