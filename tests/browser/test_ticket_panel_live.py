"""Two agents on one request: what one does changes the other's actions live, without a reload
(a resolution takes "Resolve" and the reply away, a reopening gives them back), and the side
panel's forms are real forms ("Take it" posts, with or without htmx)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.site import LIVE, DeskSite, People, entry

RESOLVE, REOPEN_OR_CLOSE = "Решить", "Открыть повторно / закрыть"


def test_a_colleague_s_reopening_offers_resolve_again_without_reload(
    people: People, desk_site: DeskSite
) -> None:
    filed = desk_site.file("Не загружается акт приёмки")
    path = f"/t/{filed['id']}"
    first = people.sign_in("agent", path)
    second = people.sign_in("engineer", path)
    expect(second.locator("#tab-resolve")).to_have_text(RESOLVE)

    take = second.locator("#side form[action$='/act/take']")
    expect(take).to_have_attribute("method", "post")
    second.locator("#take").click()
    expect(second.locator("#side-assignee")).to_have_text("Engineer2")
    expect(first.locator("#side-assignee")).to_have_text("Engineer2", timeout=LIVE)

    first.locator("#tab-resolve").click()
    first.locator("#resolution").fill("Переподпишите акт новой подписью.")
    first.locator("#panel-resolve button.primary").click()
    expect(entry(first, "Resolved")).to_have_count(1)

    # the other agent's actions follow: no Resolve, no reply, no "Take it" on a resolved request
    expect(second.locator("#tab-resolve")).to_have_text(REOPEN_OR_CLOSE, timeout=LIVE)
    expect(second.locator("#tab-reply")).to_have_count(0)
    expect(second.locator("#ticket-status .badge")).to_have_class(re.compile("status-resolved"))
    expect(entry(second, "Resolved")).to_have_count(1)

    first.locator("#tab-resolve").click()
    first.locator("#reopen-reason").fill("Заявитель пишет, что не помогло.")
    first.locator("#panel-resolve form[hx-post$='/act/reopen'] button").click()
    expect(entry(first, "Reopened")).to_have_count(1)

    expect(second.locator("#tab-resolve")).to_have_text(RESOLVE, timeout=LIVE)
    expect(second.locator("#tab-reply")).to_be_visible()
    expect(second.locator("#ticket-status .badge")).to_have_class(re.compile("status-open"))
    # and what it offers works, on the version it now shows
    second.locator("#tab-resolve").click()
    second.locator("#resolution").fill("Перевыпустили сертификат, подпись проходит.")
    second.locator("#panel-resolve button.primary").click()
    expect(entry(second, "Resolved")).to_have_count(2)
    expect(second.locator("#composer .error")).to_have_count(0)
    expect(first.locator("#tab-resolve")).to_have_text(REOPEN_OR_CLOSE, timeout=LIVE)
