"""The calendar kind (custom or the Russian production calendar) through the API and the page."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.settings import Settings
from tests.ui.test_admin_pages import post
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, open_site

pytestmark = LEAKS


def test_administrators_choose_the_production_calendar(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_site(settings, monkeypatch) as site:
        admin, agent = site.sign_in("admin"), site.sign_in("agent")
        shown = agent.get("/api/v1/sla").json()
        calendar: dict[str, Any] = {"key": "business", "name": "Будни", "kind": "ru",
                                    "holidays": ["2026-07-01"],
                                    "workdays": ["2026-01-08"]}  # fmt: skip
        body: dict[str, Any] = {"version": shown["version"], "calendars": [calendar],
                                "policies": []}  # fmt: skip
        for kind in ("martian", 1):
            wrong = {**body, "calendars": [{**calendar, "kind": kind}]}
            r = admin.client.put("/api/v1/sla", json=wrong, headers=admin.headers())
            assert r.status_code == 422, r.text
        r = admin.client.put("/api/v1/sla", json=body, headers=admin.headers())
        assert r.status_code == 200, r.text
        got = agent.get("/api/v1/sla").json()["calendars"][0]
        assert got["kind"] == "ru" and got["holidays"] == ["2026-07-01"]
        cal = site.services.desk.sla_setup().calendar("business")
        assert (
            cal.production and cal.periods(date(2026, 1, 8)) and not cal.periods(date(2026, 7, 1))
        )
        assert not cal.periods(date(2026, 1, 7)), "the package's holidays hold"
        # a calendar sent without a kind is custom, as every calendar was before kinds
        plain = {**body, "version": agent.get("/api/v1/sla").json()["version"],
                 "calendars": [{"key": "business", "name": "Будни"}]}  # fmt: skip
        r = admin.client.put("/api/v1/sla", json=plain, headers=admin.headers())
        assert r.status_code == 200, r.text
        assert agent.get("/api/v1/sla").json()["calendars"][0]["kind"] == "custom"

        page = Browser(site, "admin")
        text = page.get("/admin/sla").text
        assert 'name="ckind-0"' in text and '<option value="custom" selected>' in text
        version = str(site.services.desk.sla_setup().saved_version)
        form = {"version": version, "auto_close_days": "5", "ckey-0": "business",
                "cname-0": "Будни", "ctz-0": "Europe/Moscow", "ckind-0": "ru",
                **{f"day-0-{d}": "09:00-18:00" for d in range(5)}}  # fmt: skip
        assert post(page, "/admin/sla", {**form, "ckind-0": "martian"}) == 422
        assert post(page, "/admin/sla", form) == 200
        assert site.services.desk.sla_setup().calendars[0].kind == "ru"
        assert '<option value="ru" selected>' in page.get("/admin/sla").text
