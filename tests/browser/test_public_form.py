"""A visitor without an account files through the public form (a file dropped on it), keeps the
private link, and chats live with the agent on the page it opens."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, FilePayload, expect

from tests.browser.site import LIVE, DeskSite, People, chat, entry, open_desk
from tests.web.desk_site import CONTRACT
from web.filing_limit import PLAIN

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


LOG = "2026-12-04 09:13 ошибка подписи: сертификат отозван\n" * 40


def test_a_form_sent_back_keeps_the_chosen_file_until_it_is_filed(
    people: People, desk_site: DeskSite
) -> None:
    visitor = people.anonymous("/new")
    visitor.get_by_role("radio", name="Реестр контрактов").check()
    visitor.locator("#f-contract_number").fill(CONTRACT)
    visitor.locator("#subject").fill("Журнал ошибки подписи")
    visitor.locator("#description").fill("Прикладываю журнал.")
    visitor.locator("#contact_name").fill("Ольга")
    visitor.locator("#contact_email").fill("olga@")  # the mistake
    chosen: FilePayload = {"name": "signing.log", "mimeType": "text/plain", "buffer": LOG.encode()}
    visitor.locator("#new-files").set_input_files(files=[chosen])
    visitor.locator("#new-request button[type=submit]").click()

    expect(visitor.locator("#e-contact_email")).to_be_visible()
    kept = visitor.locator(".held-files li")
    expect(kept).to_have_count(1)
    expect(kept).to_contain_text("signing.log")
    expect(visitor.locator("#new-files")).to_have_value("")  # the browser's own input is empty
    visitor.locator("#contact_email").fill("olga@supplier.example")
    visitor.locator("#new-request button[type=submit]").click()

    link = visitor.locator("#private-link")
    expect(link).to_have_value(re.compile(r"/r/[0-9a-f-]{36}\?key=."))
    visitor.goto(link.input_value())
    expect(visitor.locator("#request-title")).to_have_text("Журнал ошибки подписи")
    file_link = visitor.locator("#timeline a", has_text="signing.log")
    expect(file_link).to_be_visible()
    got = visitor.request.get(str(file_link.get_attribute("href")))
    assert got.ok and got.body() == LOG.encode(), "the very bytes chosen"


def test_the_proof_of_work_script_answers_a_challenge(people: People, desk_site: DeskSite) -> None:
    """static/js/proof.js in a real browser: the counter it finds is one the server accepts."""
    page = people.anonymous("/new")
    challenge = "8.1900000000.00ff00ff00ff00ff.bWFjLW5vdC1jaGVja2VkLWhlcmU"
    page.evaluate(
        """challenge => {
          const box = document.createElement("div");
          box.dataset.proof = ""; box.dataset.bits = "12"; box.hidden = true;
          box.dataset.working = "…"; box.dataset.done = "done";
          box.innerHTML = '<input name="proof_challenge"><input name="proof">' +
                          '<p data-proof-status></p>';
          box.querySelector("[name=proof_challenge]").value = challenge;
          document.querySelector("#new-request").prepend(box);
          document.dispatchEvent(new Event("htmx:afterSettle"));
        }""",
        challenge,
    )
    expect(page.locator("[data-proof-status]")).to_have_text("done")
    counter = page.locator("[name=proof]").input_value()
    digest = hashlib.sha256(f"{challenge}:{counter}".encode()).digest()
    assert counter and int.from_bytes(digest, "big") >> (256 - 12) == 0


def test_over_the_limit_a_browser_proves_its_work_and_files(
    browser: Browser, tmp_path: Path
) -> None:
    """During a mass failure: ten requests from one address already this hour (the plain
    limit); the eleventh is sent back with a check, which the page's script makes, and then
    files. A desk of its own: the shared one's limit must stay untouched for the other tests."""
    with open_desk(tmp_path / "burst") as site:
        crowd = People(browser, site)
        try:
            body = {"category": str(site.world.contracts), "subject": "ЕИС недоступна",
                    "description": "Не открывается личный кабинет.",
                    "fields": {"contract_number": CONTRACT}, "contact_name": "Сотрудник",
                    "contact_email": "staff@office.example"}  # fmt: skip
            for _ in range(PLAIN):
                r = httpx.post(f"{site.url}/api/v1/tickets", json=body,
                               headers={"Origin": site.url}, timeout=30)  # fmt: skip
                assert r.status_code == 201, r.text
            page = crowd.anonymous("/new")
            page.get_by_role("radio", name="Реестр контрактов").check()
            page.locator("#f-contract_number").fill(CONTRACT)
            page.locator("#subject").fill("ЕИС недоступна и у меня")
            page.locator("#description").fill("Ошибка 503 при входе.")
            page.locator("#contact_name").fill("Ирина")
            page.locator("#contact_email").fill("irina@office.example")
            chosen: FilePayload = {"name": "error.log", "mimeType": "text/plain",
                                   "buffer": LOG.encode()}  # fmt: skip
            page.locator("#new-files").set_input_files(files=[chosen])
            page.locator("#new-request button[type=submit]").click()

            expect(page.locator("#new-request .notice.error")).to_contain_text(
                "Слишком много обращений с вашего адреса"
            )
            expect(page.locator("[data-proof-status]")).to_have_text(
                "Готово: отправьте обращение ещё раз."
            )
            expect(page.locator(".held-files li")).to_contain_text("error.log")
            page.locator("#new-request button[type=submit]").click()
            link = page.locator("#private-link")
            expect(link).to_have_value(re.compile(r"/r/[0-9a-f-]{36}\?key=."))
            page.goto(link.input_value())
            expect(page.locator("#timeline a", has_text="error.log")).to_be_visible()
        finally:
            crowd.close()
        assert not crowd.errors, f"JavaScript errors: {crowd.errors}"


def test_without_scripts_a_visitor_asks_for_the_categorys_fields_and_files(
    people: People, desk_site: DeskSite
) -> None:
    ctx = people.browser.new_context(base_url=desk_site.url, locale="ru-RU",
                                     java_script_enabled=False)  # fmt: skip
    people.contexts.append(ctx)  # closed after the test
    visitor = ctx.new_page()
    visitor.goto("/new")
    expect(visitor.locator("#f-contract_number")).to_have_count(0)
    visitor.get_by_role("radio", name="Реестр контрактов").check()
    visitor.locator("#subject").fill("Без скриптов: контракт не публикуется")
    visitor.get_by_role("button", name="Показать поля этой категории").click()

    expect(visitor.locator("#f-contract_number")).to_be_visible()
    expect(visitor.locator("#subject")).to_have_value("Без скриптов: контракт не публикуется")
    expect(visitor.locator("[role=alert]")).to_have_count(0)
    visitor.locator("#f-contract_number").fill(CONTRACT)
    visitor.locator("#description").fill("Ошибка подписи при публикации.")
    visitor.locator("#contact_name").fill("Пётр Поставщиков")
    visitor.locator("#contact_email").fill("petr@supplier.example")
    visitor.get_by_role("button", name="Отправить обращение").click()

    expect(visitor.locator("#private-link")).to_have_value(re.compile(r"/r/[0-9a-f-]{36}\?key=."))
