"""The SLA set-up through the API, and the deadlines it gives the agents' pages."""

from __future__ import annotations

from typing import Any

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, open_site

pytestmark = LEAKS


def test_administrators_set_policies_that_staff_read_and_bad_input_changes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_site(settings, monkeypatch) as site:
        admin, agent = site.sign_in("admin"), site.sign_in("agent")
        policy: dict[str, Any] = {
            "name": "Контракты",
            "first_response_minutes": 60,
            "resolution_minutes": 480,
            "category_id": str(site.world.contracts),
            "calendar": "24x7",
        }
        body: dict[str, Any] = {
            "version": 0, "auto_close_days": 3,
            "calendars": [{"key": "business", "name": "Будни", "holidays": ["2026-12-31"]},
                          {"key": "24x7", "name": "Всегда", "always": True}],
            "policies": [policy],
        }  # fmt: skip
        assert (
            agent.client.put("/api/v1/sla", json=body, headers=agent.headers()).status_code == 403
        )
        for wrong in (
            {**body, "auto_close_days": "five"},
            {**body, "calendars": [{"key": "business", "name": "x", "week": [["9-18"]] * 7}]},
            {**body, "policies": [{**policy, "calendar": "nope"}]},
            {**body, "policies": [{**policy, "resolution_minutes": 10}]},
        ):
            r = admin.client.put("/api/v1/sla", json=wrong, headers=admin.headers())
            assert r.status_code == 422, r.text
        assert agent.get("/api/v1/sla").json()["version"] == 0, "nothing was changed"
        r = admin.client.put("/api/v1/sla", json=body, headers=admin.headers())
        assert r.status_code == 200, r.text
        got = agent.get("/api/v1/sla").json()
        assert got["version"] == 2 and got["auto_close_days"] == 3
        assert got["policies"][0]["name"] == "Контракты"
        assert got["calendars"][0]["holidays"] == ["2026-12-31"]
        r = admin.client.put("/api/v1/sla", json=body, headers=admin.headers())
        assert r.status_code == 409, "a stale set-up is refused"
