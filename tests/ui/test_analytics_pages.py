"""The analytics pages: who may read them, the figures and charts, drill-down, CSV, bad filters."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from domain.settings import Settings
from projections import analytics_prime
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, Site, open_site
from web.ui import analytics_pages
from web.ui.analytics_pages import CSV_HEADER

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def activity(site: Site) -> tuple[str, int, list[int]]:
    """Two requests: one answered and resolved, one left open. Gives the period query."""
    w = site.world
    first = w.file(subject="Аналитика: первая")
    w.desk.reply(w.agent, first.id, "Смотрим")
    w.desk.resolve(w.agent, first.id, "Готово")
    second = w.file(subject="Аналитика: вторая")
    position = w.desk.rate(w.requester, first.id, 4).position
    today = datetime.now(UTC).date()
    period = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    return f"{period}&after={position}", position, [first.number, second.number]


def test_only_overseers_read_analytics(site: Site) -> None:
    for who in ("requester", "agent", "engineer"):
        b = Browser(site, who)
        assert b.get("/analytics").status_code == 403, who
        assert b.get("/analytics.csv").status_code == 403, who
        assert b.get("/analytics.xlsx").status_code == 403, who
        assert b.get("/analytics/requests").status_code == 403, who
    for who in ("curator", "auditor", "quality", "methodologist", "admin"):
        assert Browser(site, who).get("/analytics").status_code == 200, who
    anonymous = site.new_client().get("/analytics", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]


def test_the_page_shows_figures_charts_definitions_and_refreshes_live(site: Site) -> None:
    query, _position, numbers = activity(site)
    curator = Browser(site, "curator")
    r = curator.get(f"/analytics?{query}&by=channel")
    assert r.status_code == 200, r.text
    html = r.text
    assert 'data-live-topics="activity"' in html
    assert 'hx-trigger="suz:change from:body"' in html and "part=figures" in html
    assert html.count('<svg class="chart"') == 4 and "<rect" in html and "<polyline" not in html
    assert html.count("<figcaption>") == 4 and "Backlog by age</figcaption>" in html
    assert " style=" not in html and "<script>" not in html
    assert "How each figure is computed" in html and "nearest rank" in html
    row = re.search(r'<th scope="row">Cabinet</th>(.*?)</tr>', html, re.S)
    assert row, html
    cells = re.findall(r'<td class="num">(?:<a href="[^"]*">)?([^<]*)', row.group(1))
    # filed, FR mean/median/p90 (one answered), resolution (one), handling (one, unassigned),
    # resolved, line 1 %, reopened %, info per request, SLA %, CSI, rated %
    assert cells[7:10] == ["0.00", "0.00", "0.00"]
    assert cells[0] == "2" and cells[10] == "1" and cells[11] == "100.0" and cells[12] == "0.0"
    assert cells[13] == "0.00" and cells[14] == "100.0" and cells[15] == "4.00"
    assert cells[16] == "100.0"
    fragment = curator.get(f"/analytics?{query}&by=day&part=figures").text
    assert "<html" not in fragment and "<polyline" in fragment

    link = re.search(r'<a href="(/analytics/requests\?[^"]*key=cabinet[^"]*)">2</a>', html)
    assert link, "each count links to the requests behind it"
    behind = curator.get(link.group(1).replace("&amp;", "&"))
    assert behind.status_code == 200
    assert "Аналитика: первая" in behind.text and "Аналитика: вторая" in behind.text
    assert all(f'<td class="num">{n}</td>' in behind.text for n in numbers)


def test_csv_export_has_the_header_and_one_row_per_value(site: Site) -> None:
    query, _position, _numbers = activity(site)
    auditor = Browser(site, "auditor")
    r = auditor.get(f"/analytics.csv?{query}&by=channel")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))  # after the BOM
    assert rows[0] == list(CSV_HEADER)
    assert [row[:4] for row in rows[1:]] == [["channel", "cabinet", "Cabinet", "2"],
                                             ["channel", "*", "total", "2"]]  # fmt: skip
    data = dict(zip(rows[0], rows[1], strict=True))
    assert data["resolved"] == "1" and data["csi"] == "4.0000" and data["rating_4"] == "1"
    assert data["line1_share"] == "1.0000" and data["info_per_request"] == "0.0000"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("from=yesterday&to=2026-03-01", "Give the period as two days, YYYY-MM-DD."),
        ("from=2026-03-31&to=2026-03-01", "The period ends before it starts."),
        ("from=2026-03-01&to=2026-03-31&by=weather", "Unknown dimension."),
    ],
)
def test_bad_filters_answer_422_with_a_message(site: Site, params: str, message: str) -> None:
    curator = Browser(site, "curator")
    for path in ("/analytics", "/analytics.csv", "/analytics.xlsx", "/analytics/requests"):
        r = curator.get(f"{path}?{params}")
        assert r.status_code == 422, (path, r.status_code)
        assert message in r.text, path


def test_xlsx_export_holds_the_same_table_with_numbers(site: Site) -> None:
    query, _position, _numbers = activity(site)
    curator = Browser(site, "curator")
    exported = curator.get(f"/analytics.csv?{query}&by=channel").content.decode("utf-8-sig")
    text = list(csv.reader(io.StringIO(exported)))
    r = curator.get(f"/analytics.xlsx?{query}&by=channel")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    sheet = load_workbook(io.BytesIO(r.content), read_only=True)["analytics"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(CSV_HEADER)
    assert rows[1][:4] == ["channel", "cabinet", "Cabinet", 2]
    for got, want in zip(rows[1:], text[1:], strict=True):
        assert got[:3] == want[:3]
        assert [None if c is None else Decimal(str(c)) for c in got[3:]] == [
            Decimal(c) if c else None for c in want[3:]
        ]


def _labels(html: str) -> list[str]:
    """The row labels of the figures table's body, in order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<th scope="row">([^<]*)</th>', body)


def _filed_total(html: str) -> str:
    foot = html.split("<tfoot>", 1)[1]
    found = re.search(r'<td class="num"><a href="[^"]*">(\d+)</a>', foot)
    assert found, foot[:300]
    return found.group(1)


def test_a_long_table_shows_its_first_rows_and_the_rest_on_demand(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past TOP rows the table (and its charts) shows the first TOP, most requests first (or by
    name, asked for by its header), the total of every row below them, and a link (htmx or
    plain) to every row, which the live refresh then keeps asking for; the export has every
    row."""
    monkeypatch.setattr(analytics_pages, "TOP", 1)
    query, _position, _numbers = activity(site)  # two requests of "ГКУ Заказчик"
    w = site.world
    for i in range(3):  # three of "ООО Поставщик": the most, though second by name
        values = {"contract_number": "1234567890123456789"}
        filed = w.desk.file_ticket(w.stranger, w.contracts, f"Аналитика: {i}", "Текст.", values)
    query = re.sub(r"after=\d+", f"after={filed.position}", query)
    curator = Browser(site, "curator")

    html = curator.get(f"/analytics?{query}&by=organisation").text
    assert _labels(html) == ["ООО Поставщик"], "the first row only: the most requests"
    assert "The first 1 of 2 rows." in html and _filed_total(html) == "5"
    assert html.count("<rect") == 1 + 1 + 5 + 5, "the charts show the table's rows"
    assert 'aria-sort="descending"' in html
    every = re.search(r'<a id="figures-rows-toggle" href="(/analytics\?[^"]*rows=all[^"]*)" '
                      r'hx-get="/analytics\?part=figures&amp;[^"]*rows=all', html)  # fmt: skip
    assert every, "every row on demand: a link, and htmx's fragment of it"
    assert 'hx-include="#figures-state"' in html
    assert '<input type="hidden" name="order" value="filed">' in html
    assert 'name="rows"' not in html

    all_rows = curator.get(every.group(1).replace("&amp;", "&")).text
    assert _labels(all_rows) == ["ООО Поставщик", "ГКУ Заказчик"]
    assert "All 2 rows." in all_rows and _filed_total(all_rows) == "5"
    assert all_rows.count("<rect") == 2 + 2 + 5 + 5
    state = '<input type="hidden" name="rows" value="all">'
    assert state in all_rows, "the live refresh asks for every row again"
    fragment = curator.get(f"/analytics?{query}&by=organisation&part=figures&rows=all").text
    assert _labels(fragment) == ["ООО Поставщик", "ГКУ Заказчик"] and state in fragment

    by_name = curator.get(f"/analytics?{query}&by=organisation&order=name&rows=all").text
    assert _labels(by_name) == ["ГКУ Заказчик", "ООО Поставщик"]
    assert 'aria-sort="ascending"' in by_name
    assert '<input type="hidden" name="order" value="name">' in by_name
    first = curator.get(f"/analytics?{query}&by=organisation&order=name").text
    assert _labels(first) == ["ГКУ Заказчик"]
    assert curator.get(f"/analytics?{query}&by=organisation&order=sideways").status_code == 200

    exported = curator.get(f"/analytics.csv?{query}&by=organisation").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    assert sorted(row[2] for row in rows[1:-1]) == ["ГКУ Заказчик", "ООО Поставщик"]
    assert rows[-1][1:4] == ["*", "total", "5"]

    russian = Browser(site, "curator", "ru").get(f"/analytics?{query}&by=organisation").text
    assert "Показаны первые 1 строк из 2." in russian and "Показать все 2" in russian


def test_the_period_links_open_what_the_primer_reads() -> None:
    """This month, the quarter and the year so far, last year; a year split by day would be 365
    rows: by month."""
    links = dict(analytics_pages.presets(date(2026, 11, 4), "day"))
    assert links == {
        "This month": "from=2026-11-01&to=2026-11-04&by=day",
        "This quarter": "from=2026-10-01&to=2026-11-04&by=day",
        "This year": "from=2026-01-01&to=2026-11-04&by=month",
        "Last year": "from=2025-01-01&to=2025-12-31&by=month",
    }
    looks = {(a, b, dim) for a, b, dim in analytics_prime.periods(date(2026, 11, 4))}
    for by in ("day", "month", "category", "organisation"):
        for label, query in analytics_pages.presets(date(2026, 11, 4), by):
            if label == "This month" and by != "day":
                continue  # a month, however split, is a small read
            a, b, dim = (part.split("=")[1] for part in query.split("&"))
            assert (date.fromisoformat(a), date.fromisoformat(b), dim) in looks, query
