"""Control characters never enter: a NUL (or another C0 control) in any text field of the API or of
a form is refused with a 422 that names the field, and nothing is written. Tabs and line breaks
are text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, LOGINS, ORIGIN, PASSWORD, Site, TestClient, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def head(site: Site) -> int:
    return site.services.desk.recorder.max_notification_id() or 0


def test_the_api_refuses_a_nul_anywhere_in_the_body_and_names_the_field(site: Site) -> None:
    visitor = site.new_client()
    filing = {**site.filing(), "contact_name": "Иван", "contact_email": "ivan@example.org"}
    before = head(site)
    cases: list[tuple[dict[str, Any], str, str, int]] = [
        ({"subject": "Контракт\x00не публикуется"}, "subject", "0000", 9),
        ({"description": "Строка\x1bс escape"}, "description", "001B", 7),
        ({"fields": {"contract_number": "123\x01"}}, "fields.contract_number", "0001", 4),
    ]
    for change, field, code, at in cases:
        r = visitor.post("/api/v1/tickets", json={**filing, **change})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_input" and error["fields"] == [field]
        assert error["message"] == (
            f"{field} contains an invisible control character (U+{code}) at position {at}:"
            " remove it (only tabs and line breaks are allowed)."
        )
    assert head(site) == before, "nothing was written"

    steps = "Шаг 1\tоткрыть\r\nШаг 2\tподписать"
    r = visitor.post("/api/v1/tickets", json={**filing, "description": steps})
    assert r.status_code == 201, r.text  # tabs and line breaks are text


def _browser(site: Site, who: str) -> tuple[TestClient, str]:
    client = site.new_client()
    client.cookies.set("suz_lang", "ru")
    r = client.post("/login", data={"login": LOGINS[who], "password": PASSWORD},
                    headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/desk").text)
    assert found
    return client, found.group(1)


def test_the_forms_refuse_a_nul_in_russian_naming_the_field(site: Site) -> None:
    filed = site.world.file()
    ticket = str(filed.id)
    version = site.services.desk.ticket(site.world.admin, filed.id).version
    agent, csrf = _browser(site, "agent")
    headers = {"X-CSRF-Token": csrf, "Origin": ORIGIN, "HX-Request": "true"}
    before = head(site)

    r = agent.post(f"/t/{ticket}/act/reply", data={"version": str(version), "body": "Ответ\x00"},
                   headers=headers)  # fmt: skip
    assert r.status_code == 422
    assert "В поле body есть невидимый управляющий символ (U+0000) на позиции 6" in r.text

    requester, csrf = _browser(site, "requester")
    headers["X-CSRF-Token"] = csrf
    r = requester.post(f"/r/{ticket}/message", data={"version": str(version), "body": "\x07звон"},
                       headers=headers)  # fmt: skip
    assert r.status_code == 422
    assert "В поле body есть невидимый управляющий символ (U+0007) на позиции 1" in r.text
    r = requester.post("/new", headers=headers, data={
        "category": str(site.world.contracts), "subject": "Тема\x00", "description": "Описание",
        "field.contract_number": "1234567890123456789"})  # fmt: skip
    assert r.status_code == 422
    assert "В поле subject есть невидимый управляющий символ (U+0000) на позиции 5" in r.text
    assert head(site) == before, "nothing was written"


def test_every_plain_form_is_checked_before_its_page_reads_it(site: Site) -> None:
    """Pages that read their form themselves (incidents, set-up, quality...) are covered too: the
    guard checks a plain form's every value once, before the handler runs."""
    admin, csrf = _browser(site, "admin")
    headers = {"X-CSRF-Token": csrf, "Origin": ORIGIN, "HX-Request": "true"}
    before = head(site)
    r = admin.post("/incidents/new", headers=headers,
                   data={"title": "Сбой\x00подписи", "description": "Массовый сбой"})  # fmt: skip
    assert r.status_code == 422
    assert "В поле title есть невидимый управляющий символ (U+0000) на позиции 5" in r.text
    assert head(site) == before, "nothing was written"
