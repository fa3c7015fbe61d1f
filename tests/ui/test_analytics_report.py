"""The printable monthly report and the analytics page's knowledge-base section: exact figures
for a small known story, who may read them, a bad month."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.article import Audience, Content, Kind
from domain.settings import Settings
from domain.ticket import TemplateUse
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def publish(site: Site, kind: Kind, title: str, gap: UUID | None = None) -> tuple[UUID, int]:
    w = site.world
    content = Content(title, title, f"{title}: текст.", f"{title}: text.", Audience.PUBLIC)
    article = w.desk.draft_article(w.methodologist, kind, content, gap).id
    w.desk.submit_article(w.methodologist, article)
    w.desk.review_article(w.admin, article, True)
    return article, w.desk.publish_article(w.methodologist, article).position


def story(site: Site) -> dict[str, object]:
    """Three requests this month: one answered from a template, resolved and rated 5; one asked
    for information, resolved and rated 3; one escalated to line 2 and left open. A knowledge gap
    raised and answered by a published article, which a reader then says helped him."""
    w = site.world
    template, _ = publish(site, Kind.ANSWER_TEMPLATE, "Шаблон ответа")
    first = w.file(subject="Отчёт: первая").id
    w.desk.reply(w.agent, first, "Обновите сертификат", template=TemplateUse(template, 1))
    w.desk.resolve(w.agent, first, "Готово")
    w.desk.rate(w.requester, first, 5)
    second = w.file(subject="Отчёт: вторая").id
    w.desk.request_information(w.agent, second, ("signed_on",), (), "Уточните дату")
    w.desk.provide_information(w.requester, second, {"signed_on": "2026-11-20"}, ())
    w.desk.resolve(w.agent, second, "Готово")
    w.desk.rate(w.requester, second, 3)
    third = w.file(subject="Отчёт: третья").id
    w.desk.escalate(w.agent, third, w.line2, "Нужен инженер")
    methodology = next(iter(w.methodologist.group_ids))
    gap = w.desk.raise_knowledge_gap(w.agent, "Нет статьи", "Спрашивают", methodology, (third,))
    article, _ = publish(site, Kind.ARTICLE, "Статья о подписи", gap.id)
    position = w.desk.mark_helpful(w.requester, article).position
    return {"template": str(template), "article": str(article), "after": position,
            "month": datetime.now(UTC).date().isoformat()[:7]}  # fmt: skip


def figure(html: str, name: str) -> str:
    found = re.search(rf"<dt>{re.escape(name)}</dt><dd>([^<]*)</dd>", html)
    assert found, name
    return found.group(1)


def cells(html: str, label: str) -> list[str]:
    row = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', html, re.S)
    assert row, label
    return re.findall(r'<td class="num">(?:<a href="[^"]*">)?([^<]*)', row.group(1))


def test_the_monthly_report_has_the_exact_figures_of_the_month(site: Site) -> None:
    s = story(site)
    r = Browser(site, "curator").get(f"/analytics/report?month={s['month']}&after={s['after']}")
    assert r.status_code == 200, r.text
    html = r.text
    assert "<script" not in html and " style=" not in html
    assert f"monthly report for {s['month']}" in html
    assert figure(html, "Requests filed") == "3" and figure(html, "Resolved") == "2"
    assert figure(html, "CSI") == "4.00"  # (5 + 3) / 2
    assert figure(html, "Resolved on line 1, %") == "100.0"
    assert figure(html, "Reopen rate, %") == "0.0"
    assert figure(html, "Information requests per request") == "0.33"  # 1 / 3
    assert figure(html, "SLA compliance, %") == "100.0"
    assert figure(html, "Rating response rate, %") == "100.0"
    assert figure(html, "Open now") == "1"
    # per line: filed .. resolved (11th), line 1 %, reopened %, info/request, SLA %, CSI, rated %
    assert cells(html, "Line 1") == ["2", *cells(html, "Line 1")[1:10], "2", "100.0", "0.0",
                                     "0.50", "100.0", "4.00", "100.0"]  # fmt: skip
    assert cells(html, "Line 2")[0] == "1" and cells(html, "Line 2")[10] == "0"
    assert cells(html, "Contracts register")[0] == "3"
    assert '<th scope="col">< 1 day</th>' in html  # as on the analytics page
    assert '<tbody><tr><td class="num">1</td><td class="num">0</td>' in html  # backlog
    assert (
        '<tbody><tr><td class="num">0</td><td class="num">0</td><td class="num">1</td>'
        '<td class="num">0</td><td class="num">1</td></tr></tbody>' in html
    )  # CSI 1..5
    # knowledge base: the template used once in a reply, the article helped once, the gap
    assert re.search(rf'data-article="{s["template"]}">\s*<th scope="row">Шаблон ответа</th>'
                     r'\s*<td>Answer template</td>\s*<td class="num">0</td><td class="num">1'
                     r'</td><td class="num">0</td>', html)  # fmt: skip
    assert re.search(rf'data-article="{s["article"]}">.*?<td class="num">1</td>'
                     r'<td class="num">0</td><td class="num">0</td>', html, re.S)  # fmt: skip
    assert "Deflections to date: 1 " in html
    gaps = re.search(r'kb-gaps">.*?<tbody><tr><td class="num">(\d+)</td><td class="num">(\d+)'
                     r'</td><td class="num">([^<]*)</td>', html, re.S)  # fmt: skip
    assert gaps and gaps.groups()[:2] == ("1", "1") and gaps.group(3) != "—"
    assert "How each figure is computed" in html and "Deflections" in html
    assert "@media print" in site.new_client().get("/static/css/suz.css").text


def test_who_reads_the_report_and_a_bad_month(site: Site) -> None:
    for who in ("curator", "auditor"):
        b = Browser(site, who)
        assert b.get("/analytics/report").status_code == 200, who
        assert b.get("/analytics/report?month=2026-02").status_code == 200, who
        assert b.get("/analytics/kb").status_code == 200, who
    for who in ("requester", "agent"):
        b = Browser(site, who)
        assert b.get("/analytics/report?month=2026-02").status_code == 403, who
        assert b.get("/analytics/kb").status_code == 403, who
    curator = Browser(site, "curator")
    for bad in ("2026-13", "2026-3", "march", "2026-00", "0000-01"):
        r = curator.get(f"/analytics/report?month={bad}")
        assert r.status_code == 422, bad
        assert "Give the month as YYYY-MM" in r.text, bad
    empty = curator.get("/analytics/report?month=2001-01").text
    assert "No requests were filed in this period." in empty


def test_the_analytics_page_shows_article_usage(site: Site) -> None:
    s = story(site)
    curator = Browser(site, "curator")
    today = datetime.now(UTC).date().isoformat()
    query = f"from={s['month']}-01&to={today}&by=day&after={s['after']}"
    html = curator.get(f"/analytics?{query}").text
    assert 'hx-get="/analytics/kb?' in html and f'href="/analytics/report?month={s["month"]}"' \
        in html  # fmt: skip
    fragment = curator.get(f"/analytics/kb?{query}")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert re.search(
        rf'data-article="{s["template"]}">.*?<td class="num">0</td>'
        r'<td class="num">1</td><td class="num">0</td>',
        fragment.text,
        re.S,
    )
    assert "Deflections to date: 1 " in fragment.text and "Knowledge gaps" in fragment.text
    assert curator.get("/analytics/kb?from=bad&to=2026-01-01").status_code == 422
