"""A view that keeps failing is said so: `/health` is "degraded" and names the view, since when
and the last error's class; `/metrics` counts its consecutive failures. When the view works
again, both say so and the view has caught up with what it missed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from domain.settings import Settings
from projections.failures import REPEATED
from projections.runner import migrate_views
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS
TOKEN = "metrics-token-for-the-test"


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(replace(settings, metrics_token=TOKEN), monkeypatch) as s:
        yield s


def _health_until(site: Site, status: str, timeout: float = 20.0) -> dict[str, Any]:
    client = site.new_client()
    deadline = time.monotonic() + timeout
    while True:
        health: dict[str, Any] = client.get("/health").json()
        if health["status"] == status or time.monotonic() > deadline:
            return health
        time.sleep(0.1)


def test_a_view_that_keeps_failing_shows_in_health_and_metrics_until_it_recovers(
    site: Site,
) -> None:
    projections = site.services.projections
    search = next(v for v in projections.views if v.name == "search")
    client = site.new_client()
    assert _health_until(site, "ok")["failing"] == []
    with projections.db.tx() as tx:  # an operator's mistake: the search view's table is gone
        tx.execute("DROP TABLE v_search")
    started = time.time()
    filed = site.file(site.sign_in("requester"))

    health = _health_until(site, "degraded")

    assert health["status"] == "degraded", health
    [failing] = health["failing"]
    assert (failing["kind"], failing["name"]) == ("view", "search")
    assert failing["error"] in ("OperationalError", "UndefinedTable")  # SQLite, PostgreSQL
    assert failing["failures"] >= REPEATED
    assert started - 1 <= _epoch(failing["since"]) <= time.time()
    assert health["view_lag"]["search"] > 0 and health["view_lag"]["tickets"] == 0
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert _gauge(metrics, "search") >= REPEATED and _gauge(metrics, "tickets") == 0

    migrate_views(projections.db, [search])  # the table is made again

    health = _health_until(site, "ok")
    assert health["status"] == "ok" and health["failing"] == []
    assert projections.wait_for(health["log_position"], timeout=10, views=["search"])
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert _gauge(metrics, "search") == 0
    with projections.db.read() as tx:
        assert tx.one("SELECT number FROM v_search WHERE ticket_id = %s", (filed["id"],)) == (
            filed["number"],
        )


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _gauge(metrics: str, view: str) -> int:
    found = re.search(rf'^suz_view_failures{{view="{view}"}} (\d+)\.0$', metrics, re.MULTILINE)
    assert found, metrics
    return int(found.group(1))
