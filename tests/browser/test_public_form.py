"""A visitor without an account files through the public form (a file dropped on it), keeps the
private link, and chats live with the agent on the page it opens."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.site import LIVE, DeskSite, People, chat, entry
from tests.web.desk_site import CONTRACT

# A 1x1 PNG: the desk sniffs a file's type from its content.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
    "rkJggg=="
)
DROP = """b64 => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], "screen.png", { type: "image/png" }));
  return dt;
}"""


def test_a_visitor_files_publicly_and_chats_by_the_private_link(
    people: People, desk_site: DeskSite
) -> None:
    subject = "Не подписывается контракт поставщиком"
    visitor = people.anonymous("/new")
    visitor.get_by_role("radio", name="Реестр контрактов").check()
    visitor.locator("#f-contract_number").fill(CONTRACT)
    visitor.locator("#subject").fill(subject)
    visitor.locator("#description").fill("Кнопка «Подписать» неактивна, ошибка подписи.")
    visitor.locator("#contact_name").fill("Пётр Поставщиков")
    visitor.locator("#contact_email").fill("petr@supplier.example")
    dropped = visitor.evaluate_handle(DROP, PNG)
    visitor.locator(".dropzone").first.dispatch_event("drop", {"dataTransfer": dropped})
    expect(visitor.locator(".dropzone ul")).to_contain_text("screen.png")
    visitor.locator("#new-request button[type=submit]").click()

    link = visitor.locator("#private-link")
    expect(link).to_have_value(re.compile(r"/r/[0-9a-f-]{36}\?key=."))
    found = re.search(r"/r/([0-9a-f-]{36})", link.input_value())
    assert found is not None
    ticket = found.group(1)
    visitor.locator(f"a[href^='/r/{ticket}?key=']").click()
    expect(visitor.locator("#request-title")).to_have_text(subject)
    expect(chat(visitor, "Filed")).to_contain_text(CONTRACT)

    agent = people.sign_in("agent", f"/t/{ticket}")
    expect(entry(agent, "Filed")).to_contain_text("Пётр Поставщиков")
    expect(agent.locator("#timeline img[alt='screen.png']")).to_be_visible()
    agent.locator("#reply-body").fill("Пётр, проверьте срок действия сертификата.")
    agent.locator("#panel-reply button[type=submit]").click()
    expect(chat(visitor, "Replied", "срок действия")).to_be_visible(timeout=LIVE)

    visitor.locator("#message-body").fill("Сертификат действителен до 2027 года.")
    visitor.locator("#composer button[type=submit]").click()
    expect(chat(visitor, "RequesterWrote", "до 2027 года")).to_be_visible()
    expect(entry(agent, "RequesterWrote", "до 2027 года")).to_be_visible(timeout=LIVE)

    # Without the key the page is not his: he is asked to sign in.
    stranger = people.anonymous(f"/r/{ticket}")
    expect(stranger).to_have_url(re.compile(r"/login"))
