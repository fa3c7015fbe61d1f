"""Exports a spreadsheet opens safely: a category named like a formula stays text, figures stay
numbers, Cyrillic survives, and Russian Excel splits the CSV into columns."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from domain.desk import SYSTEM
from domain.settings import Settings
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, Site, open_site
from web.ui.export_cells import csv_bytes, inert

pytestmark = LEAKS

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def period_with_a_formula_category(site: Site) -> str:
    """An admin names a category like a formula; a request is filed in it and one in
    'Реестр контрактов'. Gives the period query, split by category."""
    w = site.world
    trap = w.desk.define_category(SYSTEM, FORMULA, FORMULA, default_group_id=w.line1).id
    w.file(subject="Обычная")
    position = w.desk.file_ticket(w.requester, trap, "Ловушка", "Текст запроса.", {}).position
    today = datetime.now(UTC).date()
    return f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}&by=category" \
           f"&after={position}"  # fmt: skip


def test_csv_writes_a_formula_named_category_as_inert_text_with_a_bom(site: Site) -> None:
    query = period_with_a_formula_category(site)
    r = Browser(site, "curator", lang="ru").get(f"/analytics.csv?{query}")
    assert r.status_code == 200, r.text
    assert r.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["dimension", "key", "label", "filed"]
    labels = {row[2]: row[3] for row in rows[1:]}
    assert labels == {"'" + FORMULA: "1", "Реестр контрактов": "1", "total": "2"}
    # a Russian decimal comma: Excel in a Russian locale reads 0,0000 as a number
    info_per_request = rows[0].index("info_per_request")
    assert rows[-1][info_per_request] == "0,0000"


def test_csv_in_english_uses_commas_and_a_decimal_point(site: Site) -> None:
    query = period_with_a_formula_category(site)
    r = Browser(site, "curator").get(f"/analytics.csv?{query}")
    assert r.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(row[2] for row in rows[1:]) == ["'" + FORMULA, "Contracts register", "total"]
    assert rows[-1][rows[0].index("info_per_request")] == "0.0000"


def test_xlsx_writes_a_formula_named_category_as_a_string_cell(site: Site) -> None:
    query = period_with_a_formula_category(site)
    r = Browser(site, "curator", lang="ru").get(f"/analytics.xlsx?{query}")
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content))["analytics"]
    cells = {row[2].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(cells) == {FORMULA, "Реестр контрактов", "total"}
    trap = cells[FORMULA]
    assert trap[2].data_type == "s" and trap[2].value == FORMULA  # text, never a formula
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert trap[3].value == 1 and trap[3].data_type == "n"


def test_text_is_inert_and_figures_stay_numbers() -> None:
    for dangerous in ("=1+2", "+7 495", "-cmd", "@SUM(A1)", "\tx", "\rx"):
        assert inert(dangerous) == "'" + dangerous
    assert inert("Реестр") == "Реестр"
    body = csv_bytes([["label", "figure"], ["-5", "-1.5"], ["=A1", "x=1"]], 1, "en")
    assert body == codecs.BOM_UTF8 + b"label,figure\r\n'-5,-1.5\r\n'=A1,x=1\r\n"
