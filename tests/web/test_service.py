"""The service's own pages: health, Prometheus metrics, and the API's descriptions (that they
cover every route: tests/web/test_openapi.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS
METRICS_TOKEN = "a-token-for-the-scraper"


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(replace(settings, metrics_token=METRICS_TOKEN), monkeypatch) as s:
        yield s


def test_health_metrics_and_docs(site: Site) -> None:
    client = site.new_client()
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["log_position"] > 0
    assert set(health["view_lag"]) == {
        "tickets",
        "timeline",
        "search",
        "catalog",
        "knowledge",
        "sla",
        "incidents",
        "assign",
        "queue_history",
        "analytics",
        "activity",
        "quality",
        "notifications",
        "callers",
        "releases",
        "queue_views",
    }
    client.get("/api/v1/me")
    client.get("/api/v1/me")
    for odd in ("FOO", "BAR"):  # any token is a method to HTTP: counted as "other", not apart
        assert client.request(odd, "/api/v1/me").status_code == 405
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert 'suz_http_requests_total{method="GET",route="/api/v1/me",status="401"} 2.0' in text
    assert 'suz_http_requests_total{method="other",route="/api/v1/me",status="405"} 2.0' in text
    assert "FOO" not in text and "BAR" not in text
    assert 'suz_http_request_seconds_count{route="/api/v1/me"} 4.0' in text
    assert 'suz_view_lag_events{view="tickets"}' in text
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"] == "3.1.0" and "/api/v1/tickets/{ticket_id}/replies" in spec["paths"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/v1/tickets/{ticket_id}/escalations" in page.text
