"""Routing rules through the API: administrators set them, staff read them, filing obeys."""

from __future__ import annotations

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, open_site

pytestmark = LEAKS


def test_the_api_sets_and_reads_the_rules(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_site(settings, monkeypatch) as site:
        admin, agent = site.sign_in("admin"), site.sign_in("agent")
        rule = {"name": "223 → L2", "group_id": str(site.world.line2),
                "category_id": str(site.world.contracts), "field_key": "law",
                "field_value": "223-FZ", "priority": "high"}  # fmt: skip
        r = agent.client.put("/api/v1/routing/rules", json={"rules": [rule], "version": 0},
                             headers=agent.headers())  # fmt: skip
        assert r.status_code == 403
        r = admin.client.put("/api/v1/routing/rules", json={"rules": [rule], "version": 0},
                             headers=admin.headers())  # fmt: skip
        assert r.status_code == 200, r.text
        stale = admin.client.put("/api/v1/routing/rules", json={"rules": [], "version": 0},
                                 headers=admin.headers())  # fmt: skip
        assert stale.status_code == 409
        bad = admin.client.put("/api/v1/routing/rules",
                               json={"rules": [{**rule, "priority": "urgent"}], "version": 2},
                               headers=admin.headers())  # fmt: skip
        assert bad.status_code == 422
        got = agent.get("/api/v1/routing/rules").json()
        assert got["version"] == 2 and got["rules"][0]["name"] == "223 → L2"
        filed = site.file(site.sign_in("requester"), law="223-FZ")
        ticket = agent.ticket(filed["id"], after=filed["position"])
        assert ticket["ticket"]["group_id"] == str(site.world.line2)
        assert ticket["ticket"]["priority"] == "high"
