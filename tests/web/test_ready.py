"""/ready, on both stores: 200 when the store answers, every view's tables are of the shape this
code expects and no view is further behind the log than SUZ_READY_MAX_LAG; else 503 with what is
not ready. /health (liveness) stays 200 meanwhile. The database away:
tests/e2e/test_ready_outage.py."""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import Any

import pytest

from domain.settings import Settings
from suz.bootstrap import web_app
from tests.web.desk_site import LEAKS, migrate, open_site

with warnings.catch_warnings():  # starlette prefers httpx2, which is not installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = LEAKS


def ready_within(client: TestClient, timeout: float = 20.0) -> Any:
    """/ready's answer once it is 200 (the views catch up), or its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get("/ready")
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def test_ready_when_the_views_are_made_and_caught_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_site(settings, monkeypatch) as site:
        client = site.new_client()
        r = ready_within(client)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "ready" and body["max_lag"] == 1000
        assert body["log_position"] > 0
        assert set(body["view_lag"]) == {v.name for v in site.services.projections.views}
        assert r.headers["cache-control"] == "no-store"

        # a view's tables of another shape than this code's: the migrations are not done
        with site.services.projections.db.tx() as tx:
            tx.execute("UPDATE v_shapes SET shape = shape + 100 WHERE view = 'search'")
        r = client.get("/ready")
        assert r.status_code == 503, r.text
        assert r.json()["status"] == "not ready"
        shape = next(v.shape for v in site.services.projections.views if v.name == "search")
        assert r.json()["problems"] == [f"view search: not migrated to shape {shape} (suz migrate)"]
        assert client.get("/health").status_code == 200  # alive all the same
        with site.services.projections.db.tx() as tx:
            tx.execute("UPDATE v_shapes SET shape = shape - 100 WHERE view = 'search'")
        assert client.get("/ready").status_code == 200


def test_not_ready_while_a_view_is_behind_the_bound(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(settings)  # the World's events; no view has run over them yet
    held = web_app(replace(settings, ready_max_lag=5), run_views=False)  # nobody runs the views
    with TestClient(held) as client:
        r = client.get("/ready")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["status"] == "not ready" and body["max_lag"] == 5
        behind = body["log_position"]
        assert behind > 5 and body["view_lag"]["tickets"] == behind
        assert f"view tickets: {behind} events behind the log (at most 5)" in body["problems"]
        assert client.get("/health").status_code == 200
    roomy = web_app(replace(settings, ready_max_lag=100_000), run_views=False)
    with TestClient(roomy) as client:
        assert client.get("/ready").status_code == 200  # the same lag, within a wider bound
