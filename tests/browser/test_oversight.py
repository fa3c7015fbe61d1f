"""Issue 8's oversight pages in a real browser: a curator's analytics (figures and charts, the
period and dimension filters, a live refresh, the drill-down to the requests behind a count, the
CSV export), the CSI and quality loop (a low rating raises a follow-up for the resolving group, a
reviewer scores the answer on the checklist, the agent sees his score), and the auditor's tools
(the request as it was at an earlier version, no way to write, the integrity check and the seals
of the log). The pages are in English, so the expectations read as the page's own words.

/quality, /quality/mine and /audit do not refresh by themselves: where they wait for work done
in the background (a follow-up raised by a process, a check running in the thread pool) the tests
reload them, as a person would. A request's page does refresh by itself, but not for the quality
events (a known bug, kept as an expected failure below).
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.site import EN, LIVE, DeskSite, People, chat, entry
from web.ui.analytics_pages import CSV_HEADER

CATEGORY = "Contracts register"  # the World's category, as an English page names it
POLL = 500  # ms: how long one look lasts before a page that does not refresh is reloaded


def reload_until_visible(page: Page, found: Locator, timeout: int = LIVE) -> None:
    """Reloads a page that does not refresh by itself until `found` shows (within `timeout`)."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            expect(found).to_be_visible(timeout=POLL)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()


def resolve(people: People, ticket: str, resolution: str) -> Page:
    """Agent1 opens the request and resolves it from the composer; his page stays open."""
    agent = people.sign_in("agent", f"/t/{ticket}", locale=EN)
    agent.locator("#tab-resolve").click()
    agent.locator("#resolution").fill(resolution)
    agent.locator("#panel-resolve button[type=submit]").click()
    expect(entry(agent, "Resolved", resolution)).to_be_visible()
    return agent


# -- analytics -------------------------------------------------------------------------------------
def figures_row(page: Page, label: str) -> Locator:
    return page.locator("table.figures tbody tr").filter(
        has=page.locator("th", has_text=re.compile(f"^{re.escape(label)}$"))
    )


def filed_cell(row: Locator) -> Locator:
    return row.locator("td").nth(0)  # after the row's label: requests filed (a link)


def resolved_cell(row: Locator) -> Locator:
    return row.locator("td").nth(10)  # filed, 3 first response, 3 resolution, 3 handling


def show(page: Page, start: str, end: str, by: str) -> None:
    """Sets the filters and presses Show."""
    page.locator("#an-from").fill(start)
    page.locator("#an-to").fill(end)
    page.locator("#an-by").select_option(by)
    page.locator("form.analytics-filters button.primary").click()
    expect(page).to_have_url(re.compile(rf"from={start}&to={end}&by={by}"))


def today_iso(page: Page) -> str:
    """The page's default end of the period: today (UTC) as the server sees it."""
    value = page.locator("#an-to").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), value
    return value


def test_analytics_shows_figures_and_charts_and_filters_by_period_and_dimension(
    people: People, desk_site: DeskSite
) -> None:
    desk_site.file("Аналитика: фильтры")
    curator = people.sign_in("curator", "/analytics", locale=EN)
    expect(curator.locator("h1")).to_have_text("Analytics")

    # By default: this month by day, the figures table and the four SVG charts.
    figures = curator.locator("#figures")
    expect(figures.locator("table.figures")).to_be_visible()
    expect(figures.locator("table.figures thead th").first).to_have_text("Day")
    expect(figures.locator("svg.chart")).to_have_count(4)
    expect(figures.locator("figcaption")).to_have_text(
        ["Requests filed", "Mean resolution time, hours", "CSI: ratings given", "Backlog by age"]
    )
    expect(figures.locator("svg.chart").first.locator("rect")).not_to_have_count(0)
    today = today_iso(curator)
    expect(figures_row(curator, today)).to_have_count(1)  # a row for the day of filing

    # Split by category: one row per category, ours among them.
    start = curator.locator("#an-from").input_value()
    show(curator, start, today, "category")
    expect(figures.locator("table.figures thead th").first).to_have_text("Category")
    expect(figures_row(curator, CATEGORY)).to_have_count(1)
    expect(figures_row(curator, today)).to_have_count(0)
    expect(figures.locator("p.muted").first).to_contain_text("split by category")

    # A period before the desk existed: nothing was filed then.
    show(curator, "2020-01-01", "2020-01-31", "category")
    expect(figures.locator("p.empty")).to_have_text("No requests were filed in this period.")
    expect(figures.locator("table.figures")).to_have_count(0)
    expect(figures.locator("svg.chart")).to_have_count(0)

    # A period that ends before it starts is refused with the reason, the filters kept.
    curator.locator("#an-from").fill(today)
    curator.locator("#an-to").fill("2020-01-01")
    curator.locator("form.analytics-filters button.primary").click()
    expect(curator.locator("p.error[role=alert]")).to_have_text("The period ends before it starts.")
    expect(curator.locator("#an-from")).to_have_value(today)
    expect(curator.locator("#figures")).to_have_count(0)


def test_analytics_figures_refresh_live_when_a_request_is_filed_and_resolved(
    people: People, desk_site: DeskSite
) -> None:
    curator = people.sign_in("curator", "/analytics", locale=EN)
    today = today_iso(curator)
    show(curator, today, today, "category")
    row = figures_row(curator, CATEGORY)
    before = int(filed_cell(row).inner_text()) if row.count() else 0
    resolved = int(resolved_cell(row).inner_text()) if row.count() else 0

    filed = desk_site.file("Аналитика: живое обновление")
    expect(filed_cell(row)).to_have_text(str(before + 1), timeout=LIVE)  # no reload
    expect(resolved_cell(row)).to_have_text(str(resolved))

    resolve(people, filed["id"], "Исправлено: сертификат переустановлен.")
    expect(resolved_cell(row)).to_have_text(str(resolved + 1), timeout=LIVE)
    expect(filed_cell(row)).to_have_text(str(before + 1))


def test_the_table_s_order_is_kept_by_the_live_refresh_and_the_period_links_keep_the_split(
    people: People, desk_site: DeskSite
) -> None:
    """A header sorts the table in place (htmx; the address follows), and the live refresh asks
    for that order again; the period links keep the split."""
    curator = people.sign_in("curator", "/analytics", locale=EN)
    today = today_iso(curator)
    show(curator, today, today, "category")
    figures = curator.locator("#figures")
    expect(figures.locator("input[name=order]")).to_have_value("filed")  # the default: volume
    curator.locator("#figures-by-name").click()
    expect(curator).to_have_url(re.compile(r"by=category&order=name"))
    expect(figures.locator("input[name=order]")).to_have_value("name")
    expect(figures.locator("th[aria-sort=ascending]")).to_have_text("Category")
    row = figures_row(curator, CATEGORY)
    before = int(filed_cell(row).inner_text()) if row.count() else 0

    desk_site.file("Аналитика: порядок строк")
    expect(filed_cell(figures_row(curator, CATEGORY))).to_have_text(str(before + 1), timeout=LIVE)
    expect(figures.locator("input[name=order]")).to_have_value("name")  # asked for again
    expect(figures.locator("th[aria-sort=ascending]")).to_have_text("Category")

    curator.get_by_role("navigation", name="Periods").get_by_role("link", name="This year").click()
    expect(curator).to_have_url(re.compile(rf"from={today[:4]}-01-01&to={today}&by=category"))
    expect(figures_row(curator, CATEGORY)).to_have_count(1)


def test_a_count_drills_down_to_its_requests_and_the_figures_export_as_csv(
    people: People, desk_site: DeskSite
) -> None:
    filed = desk_site.file("Аналитика: заявки за цифрой")
    curator = people.sign_in("curator", "/analytics", locale=EN)
    today = today_iso(curator)
    show(curator, today, today, "category")
    row = figures_row(curator, CATEGORY)
    count = filed_cell(row).locator("a")
    expect(count).to_have_text(re.compile(r"^[1-9]\d*$"))
    shown = int(count.inner_text())

    # The count links to the requests behind it, ours among them.
    count.click()
    expect(curator).to_have_url(re.compile(r"/analytics/requests\?.*by=category&key="))
    expect(curator.locator("h1")).to_have_text("Requests behind a figure")
    expect(curator.locator("main")).to_contain_text(f"Category: {CATEGORY}.")
    listed = curator.locator(f"tr[data-ticket='{filed['id']}']")
    expect(listed).to_contain_text("Аналитика: заявки за цифрой")
    expect(listed.locator("td").first).to_have_text(str(filed["number"]))
    expect(curator.locator("main")).to_contain_text(f"{shown} request{'s' if shown != 1 else ''}.")
    listed.locator("a.subject").click()
    expect(curator).to_have_url(re.compile(f"/t/{filed['id']}"))
    curator.go_back()

    # Back to the figures, then the same table as a CSV file.
    curator.get_by_role("link", name="Back to the figures").click()
    expect(curator).to_have_url(re.compile(rf"/analytics\?from={today}&to={today}&by=category"))
    with curator.expect_download() as download_info:
        curator.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"suz-analytics-category-{today}-{today}.csv"
    path = download.path()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeff"), "a BOM: Excel reads the file as UTF-8"
    rows: list[list[str]] = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == list(CSV_HEADER)
    ours = [r for r in rows[1:] if r[2] == CATEGORY]
    assert len(ours) == 1 and ours[0][0] == "category", rows
    assert int(ours[0][CSV_HEADER.index("filed")]) >= shown
    assert rows[-1][:3] == ["category", "*", "total"], rows[-1]


# -- CSI and quality -------------------------------------------------------------------------------
def score_the_checklist(review: Locator) -> tuple[int, int]:
    """Answers every checklist item "yes" but the last, "partly"; the points and the maximum."""
    items = review.locator("fieldset.quality-item")
    expect(items).not_to_have_count(0)
    points = most = 0
    total = items.count()
    for i in range(total):
        item = items.nth(i)
        weight = int((item.locator("legend .muted").inner_text()).lstrip("×"))
        answer, value = ("partly", 1) if i == total - 1 else ("yes", 2)
        item.get_by_label(answer, exact=True).check()
        points, most = points + weight * value, most + weight * 2
    return points, most


def rate(people: People, ticket: str, score: int, comment: str) -> Page:
    """The requester rates the answer from the request's page."""
    requester = people.sign_in("requester", f"/r/{ticket}", locale=EN)
    rating = requester.locator("form.rating")
    expect(rating).to_be_visible()
    rating.locator(f"input[name=score][value='{score}']").check(force=True)  # styled as stars
    rating.locator("#rate-comment").fill(comment)
    rating.locator("button[type=submit]").click()
    expect(chat(requester, "Rated", comment)).to_contain_text(str(score))
    return requester


def test_a_low_rating_raises_a_follow_up_and_a_reviewer_scores_the_answer(
    people: People, desk_site: DeskSite
) -> None:
    subject = "Качество: низкая оценка"
    filed = desk_site.file(subject)
    ticket, number = filed["id"], filed["number"]
    agent = resolve(people, ticket, "Перезапустите подписание.")

    # The requester rates the answer 2 of 5 with a comment from the request's page.
    rate(people, ticket, 2, "Не помогло, пришлось звонить.")

    # The low rating raises a follow-up (a background process records it) on the request's
    # timeline; its link leads the agent to his follow-ups. (The open page does not show it
    # live: see the expected failure below.)
    expect(entry(agent, "Rated", "Не помогло")).to_contain_text("2 of 5", timeout=LIVE)
    raised = entry(agent, "FollowUpRaised")
    reload_until_visible(agent, raised)
    expect(raised).to_contain_text("a low rating (2 of 5) asks the group's lead to follow up")
    raised.get_by_role("link", name="follow-ups").click()
    expect(agent).to_have_url(re.compile(r"/quality/mine$"))
    follow_up = agent.locator("table.follow-ups tbody tr").filter(has_text=subject)
    reload_until_visible(agent, follow_up)
    expect(follow_up).to_contain_text(f"№ {number}")
    expect(follow_up.locator("td").nth(1)).to_have_text("2")
    expect(follow_up).to_contain_text("Не помогло, пришлось звонить.")
    expect(follow_up.locator("input[name=note]")).to_be_visible()  # his to close

    # Line 2 is not the resolving group: its agent has nothing to follow up on this request.
    engineer = people.sign_in("engineer", "/quality/mine", locale=EN)
    expect(engineer.locator("h1")).to_have_text("My quality")
    expect(engineer.locator("table.follow-ups tbody tr").filter(has_text=subject)).to_have_count(0)

    # The quality reviewer sees the follow-up and the request, low-rated, in today's sample.
    reviewer = people.sign_in("quality", "/quality", locale=EN)
    expect(reviewer.locator("h1")).to_have_text("Quality review")
    expect(reviewer.locator("table.follow-ups tbody tr").filter(has_text=subject)).to_be_visible()
    review = reviewer.locator(f"#review-{ticket}")
    expect(review).to_contain_text(f"№ {number}")
    expect(review).to_contain_text("Resolved by Agent1")
    expect(review).to_contain_text("Rated 2 of 5")

    # He scores it on the checklist; the request leaves the sample for the recent reviews.
    points, most = score_the_checklist(review)
    percent = f"{points * 100 / most:.1f}"
    review.locator("textarea[name=comment]").fill("Ответ верный, но неполный.")
    review.get_by_role("button", name="Save the review").click()
    expect(reviewer.locator(f"#review-{ticket}")).to_have_count(0)
    expect(reviewer.locator("#form-error")).to_have_count(0)
    recent = reviewer.locator("tr").filter(has=reviewer.locator(f"a[href='/t/{ticket}']"))
    recent = recent.filter(has_text="Ответ верный, но неполный.")
    expect(recent).to_contain_text("Agent1")
    expect(recent.locator("td").nth(3)).to_have_text(percent)
    expect(reviewer.locator("table.quality-agents")).to_contain_text("Agent1")

    # The agent sees his own score for this request on "My quality".
    agent.goto("/quality/mine")
    mine = agent.locator("table.quality-mine tbody tr").filter(has_text=subject)
    expect(mine).to_contain_text(f"№ {number}")
    expect(mine.locator("td").nth(1)).to_have_text(percent)
    expect(mine).to_contain_text("Ответ верный, но неполный.")
    expect(agent.locator("p.quality-total")).to_contain_text("Your score:")


def test_a_quality_review_shows_live_on_the_agents_open_request_page(
    people: People, desk_site: DeskSite
) -> None:
    subject = "Качество: отзыв на открытой странице"
    filed = desk_site.file(subject)
    ticket = filed["id"]
    agent = resolve(people, ticket, "Перезапустите подписание.")
    rate(people, ticket, 2, "Не решено.")  # low-rated: first in the reviewer's sample
    expect(entry(agent, "Rated", "Не решено.")).to_be_visible(timeout=LIVE)

    reviewer = people.sign_in("quality", "/quality", locale=EN)
    review = reviewer.locator(f"#review-{ticket}")
    points, most = score_the_checklist(review)
    review.get_by_role("button", name="Save the review").click()
    expect(reviewer.locator(f"#review-{ticket}")).to_have_count(0)

    # Every other change to a request shows on its open page by itself; the review does not.
    expect(entry(agent, "QualityReviewed")).to_contain_text(
        f"reviewed the answer's quality: {points} of {most} points", timeout=LIVE
    )


# -- the auditor -----------------------------------------------------------------------------------
def status_at(page: Page) -> Locator:
    return page.locator("#history-state dd[data-key='status'] .badge")


def test_the_auditor_travels_back_in_a_requests_history_and_cannot_write(
    people: People, desk_site: DeskSite
) -> None:
    filed = desk_site.file("Аудит: история заявки")
    ticket = filed["id"]
    agent = people.sign_in("agent", f"/t/{ticket}", locale=EN)
    agent.locator("#take").click()
    expect(agent.locator("#side-assignee")).to_have_text("Agent1")
    agent.locator("#reply-body").fill("Ответ, написанный позже.")
    agent.locator("#panel-reply button[type=submit]").click()
    expect(entry(agent, "Replied", "написанный позже")).to_be_visible()

    # Now: the request is open, assigned, with the reply.
    auditor = people.sign_in("auditor", f"/t/{ticket}", locale=EN)
    expect(entry(auditor, "Replied", "написанный позже")).to_be_visible()
    auditor.locator("#history-link").click()
    expect(auditor).to_have_url(re.compile(f"/t/{ticket}/history$"))
    expect(auditor.locator("#integrity p.ok")).to_contain_text("The hash chain of all")
    slider = auditor.locator("#history-version")
    latest = int(slider.get_attribute("max") or "0")
    expect(slider).to_have_value(str(latest))
    replied = auditor.locator("#history-timeline li.entry[data-event='Replied']")
    expect(replied).to_contain_text("написанный позже")
    expect(status_at(auditor)).to_have_text("Open")
    expect(auditor.locator("#history-state dd[data-key='assignee']")).to_have_text("Agent1")

    # The slider one step before the reply: taken, but not yet answered.
    reply_version = int(replied.get_attribute("data-version") or "0")
    assert 1 < reply_version <= latest
    slider.focus()
    for _ in range(latest - reply_version + 1):
        slider.press("ArrowLeft")
    expect(slider).to_have_value(str(reply_version - 1))
    auditor.get_by_role("button", name="Show", exact=True).click()
    expect(auditor).to_have_url(re.compile(rf"/history\?version={reply_version - 1}\b"))
    expect(auditor.locator("#history-slider output")).to_have_text(
        f"{reply_version - 1} / {latest}"
    )
    expect(auditor.locator("#history-timeline li.entry[data-event='Replied']")).to_have_count(0)
    expect(auditor.locator("#history-timeline")).not_to_contain_text("написанный позже")
    expect(auditor.locator("#history-state dd[data-key='assignee']")).to_have_text("Agent1")

    # The slider at its start: the request as it was filed, new and nobody's.
    slider = auditor.locator("#history-version")
    slider.focus()
    slider.press("Home")
    expect(slider).to_have_value("1")
    auditor.get_by_role("button", name="Show", exact=True).click()
    expect(auditor.locator("#history-slider output")).to_have_text(f"1 / {latest}")
    expect(status_at(auditor)).to_have_text("New")
    expect(auditor.locator("#history-state dd[data-key='assignee']")).to_have_text("—")
    expect(auditor.locator("#history-timeline li.entry")).to_have_count(1)
    expect(auditor.locator("#history-timeline li.entry[data-event='Filed']")).to_be_visible()

    # The next-version link steps forward; "Latest" comes back to the request as it is now.
    auditor.get_by_role("link", name="Next version →").click()
    expect(auditor.locator("#history-slider output")).to_have_text(f"2 / {latest}")
    auditor.get_by_role("link", name="Latest").click()
    expect(auditor.locator("#history-slider output")).to_have_text(f"{latest} / {latest}")
    expect(auditor.locator("#history-timeline li.entry[data-event='Replied']")).to_be_visible()

    # On the request's page the auditor reads but has nothing to write with.
    auditor.get_by_role("link", name="Back to the request").click()
    expect(auditor).to_have_url(re.compile(f"/t/{ticket}$"))
    expect(auditor.locator("#ticket")).to_contain_text(
        "You can read this request; your role does not answer requests."
    )
    for absent in ("section.composer", "#reply-body", "#panel-reply", "#take", "#tab-resolve"):
        expect(auditor.locator(absent)).to_have_count(0)

    # A reply posted anyway (a form made by hand, with his session's token) is refused.
    token: Any = auditor.evaluate(
        "() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']"
    )
    version = auditor.locator("#seen-version").input_value()
    with auditor.expect_response(re.compile(f"/t/{ticket}/act/reply$")) as answer:
        auditor.evaluate(
            """([action, token, version]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                for (const [name, value] of [["csrf_token", token], ["version", version],
                                             ["body", "Ответ аудитора"]]) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [f"/t/{ticket}/act/reply", str(token), version],
        )
    assert answer.value.status == 403
    expect(auditor.locator("main h1")).to_have_text("Not allowed")
    expect(auditor.locator("main")).to_contain_text("Your role may not reply")
    agent.goto(f"/t/{ticket}")
    expect(entry(agent, "Replied")).to_have_count(1)
    expect(agent.locator("#timeline")).not_to_contain_text("Ответ аудитора")


def test_the_auditor_checks_the_whole_store_and_the_seals_of_the_log(
    people: People, desk_site: DeskSite
) -> None:
    auditor = people.sign_in("auditor", "/audit", locale=EN)
    expect(auditor.locator("h1")).to_have_text("Audit")

    # A full check: the result and when it finished, shown once the background check is done.
    desk_site.file("Аудит: проверка хранилища")  # the check counts more events than any before
    result = auditor.locator("#check-result")
    before = " ".join(result.inner_text().split())
    auditor.locator("#run-check").click()
    expect(auditor).to_have_url(re.compile(r"/audit$"))
    done = auditor.locator("#check-result[data-state='ok']").filter(has_not_text=before)
    expect(done).to_be_visible()  # a running check's result replaces it without a reload
    expect(done).to_have_text(re.compile(r"OK: \d+ events in \d+ aggregates verified\."))
    expect(done.locator(".muted")).to_have_text(re.compile(r"^Finished \S"))

    # Sealed now: the notice and the new last seal.
    desk_site.file("Аудит: печать журнала")  # the log moved since any seal
    auditor.locator("#make-seal").click()
    expect(auditor).to_have_url(re.compile(r"/audit\?sealed=1$"))
    expect(auditor.locator("p.notice[role=status]")).to_have_text("The log was sealed.")
    seal = auditor.locator("#last-seal")
    expect(seal).to_have_attribute("data-seal", re.compile(r"^\d+$"))
    expect(seal).to_contain_text(re.compile(r"Last seal: No\. \d+, up to log position \d+"))
    number = int(seal.get_attribute("data-seal") or "0")

    # Checked against the seals: OK, covering at least the seal just made.
    checked = auditor.locator("#seal-check-result")
    before = " ".join(checked.inner_text().split())
    auditor.locator("#check-seals").click()
    expect(auditor).to_have_url(re.compile(r"/audit$"))
    ok = auditor.locator("#seal-check-result[data-state='ok']").filter(has_not_text=before)
    expect(ok).to_be_visible()
    text = ok.inner_text()
    found = re.search(r"OK: (\d+) seal\(s\) match the store up to log position (\d+)\.", text)
    assert found is not None, text
    assert int(found.group(1)) >= number
    expect(ok.locator(".muted")).to_have_text(re.compile(r"^Finished \S"))
    expect(auditor.locator("#seal-problems")).to_have_count(0)


def test_the_analytics_table_fits_a_1366_pixel_screen(people: People, desk_site: DeskSite) -> None:
    """At 1366x768 the page never scrolls sideways: the wide figures table scrolls inside its own
    box, its row labels staying in view, in both languages."""
    desk_site.file("Аналитика: ширина экрана")
    for locale in (EN, "ru-RU"):
        curator = people.sign_in("curator", "/analytics?by=category", locale=locale)
        curator.set_viewport_size({"width": 1366, "height": 768})
        table = curator.locator("#figures table.figures")
        expect(table).to_be_visible()
        widths = curator.evaluate(
            """() => ({page: document.documentElement.scrollWidth,
                       view: document.documentElement.clientWidth,
                       body: document.body.scrollWidth,
                       box: document.querySelector('.table-scroll').clientWidth,
                       table: document.querySelector('table.figures').scrollWidth})"""
        )
        assert widths["page"] <= widths["view"], widths
        assert widths["body"] <= widths["view"], widths
        assert widths["box"] <= widths["view"], widths
        # the row's label stays visible when the table is scrolled to its last column
        label = figures_row(curator, CATEGORY if locale == EN else "Реестр контрактов")
        label.scroll_into_view_if_needed()
        curator.evaluate("() => { const b = document.querySelector('.table-scroll');"
                         " b.scrollLeft = b.scrollWidth; }")  # fmt: skip
        expect(label.locator("th")).to_be_in_viewport()
        expect(label.locator("td").last).to_be_in_viewport()
        assert curator.evaluate("() => document.documentElement.scrollWidth") <= widths["view"]


def test_a_curators_note_shows_marked_and_the_activity_stream_filters_to_it(
    people: People, desk_site: DeskSite
) -> None:
    """The curator writes an internal note from the ticket page (he is offered nothing else),
    sees it marked as the curator's; the requester's page never shows it; the activity stream,
    filtered to internal notes, names the curator as who wrote it."""
    ticket = desk_site.file("Куратор участвует в обсуждении")["id"]
    curator = people.sign_in("curator", f"/t/{ticket}", locale=EN)
    curator.set_viewport_size({"width": 1366, "height": 768})
    expect(curator.locator("#tab-reply")).to_have_count(0)
    curator.locator("#note-body").fill("Проверьте сроки по договору")
    curator.locator("#panel-note button[type=submit]").click()
    note = entry(curator, "NoteAdded", "Проверьте сроки по договору")
    expect(note).to_be_visible()
    expect(note.locator(".badge.curator")).to_have_text("Curator's note")

    requester = people.sign_in("requester", f"/r/{ticket}", locale=EN)
    expect(requester.locator("#timeline")).to_be_visible()
    expect(requester.get_by_text("Проверьте сроки по договору")).to_have_count(0)

    curator.goto("/activity")
    curator.locator("#ac-event").select_option("NoteAdded")
    curator.locator("form.activity-filters button.primary").click()
    expect(curator).to_have_url(re.compile(r"event=NoteAdded"))
    lines = curator.locator("#activity li[data-event]")
    expect(lines.first).to_contain_text("Curator")
    expect(lines.first.locator(".what")).to_have_text("internal note")
    others = curator.locator("#activity li[data-event]:not([data-event='NoteAdded'])")
    expect(others).to_have_count(0)
    width = curator.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1366
