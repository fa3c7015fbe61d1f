"""Release readiness in a real browser: a methodologist plans a release, adds a probable question
linked to a published article, and watches the live count move on the release's page (without
reloading it) when a matching request is filed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import uuid4

from playwright.sync_api import expect

from tests.browser.site import DeskSite, Knowledge, People


def test_a_release_is_planned_its_question_linked_and_its_count_moves_live(
    people: People, desk_site: DeskSite
) -> None:
    word = f"релиз{uuid4().hex[:6]}"  # this test's own: other tests' requests never match it
    keyword = f"кнопка{uuid4().hex[:6]}"
    method = people.sign_in("methodologist", "/releases")
    expect(method.get_by_role("link", name="Релизы")).to_have_attribute("aria-current", "page")
    form = method.locator("form.release-plan")
    form.locator("#r-name").fill(f"ЕИС 14.2 ({word})")
    form.locator("#r-day").fill(datetime.now(UTC).date().isoformat())
    form.locator("#r-components").fill("Реестр контрактов")
    form.locator("#r-words").fill(word)
    form.get_by_role("button", name="Запланировать релиз").click()
    expect(method).to_have_url(re.compile(r"/releases/[0-9a-f-]{36}$"))
    expect(method.locator("h1")).to_have_text(f"ЕИС 14.2 ({word})")

    question = method.locator("form.release-question")
    question.locator("#q-text").fill("Куда пропала кнопка «Подписать»?")
    question.locator("#q-keywords").fill(keyword)
    question.locator("#q-article").select_option(label=Knowledge.ARTICLE_TITLE)
    question.get_by_role("button", name="Добавить вопрос").click()
    row = method.locator("table.release-questions tr[data-question]")
    expect(row).to_contain_text("Куда пропала кнопка «Подписать»?")
    expect(row.get_by_role("link", name=Knowledge.ARTICLE_TITLE)).to_be_visible()
    expect(row.locator(".badge.stage-published")).to_have_text("Опубликовано")

    total = method.locator("#release-live .release-total")
    expect(total).to_have_text("0")
    desk_site.file(f"Не вижу, {keyword} пропала")  # a question's keyword: about the release
    expect(total).to_have_text("1")  # pushed: the page was not reloaded
    asked = method.locator("#release-live table.release-asked tr[data-question] .question-asked")
    expect(asked).to_have_text("1")  # the question was asked
    expect(method.locator("#release-live table.release-latest")).to_contain_text(
        f"Не вижу, {keyword} пропала"
    )
