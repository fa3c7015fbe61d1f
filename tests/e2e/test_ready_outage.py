"""PostgreSQL goes away under a running desk: /ready answers 503 saying the event store is
unreachable (a load balancer stops sending traffic), /health stays 200 "degraded" (the process
lives: restarting it would mend nothing), and /ready is 200 again once the database is back.
The outage is a TCP proxy the test cuts (tests/e2e/tcp_proxy.py), not the shared server."""

from __future__ import annotations

import time

import pytest

from tests.e2e.outage_site import proxy, site  # noqa: F401
from tests.e2e.tcp_proxy import Proxy
from tests.web.desk_site import LEAKS, Site

pytestmark = [LEAKS, pytest.mark.postgres]


def ready(site: Site, timeout: float = 60.0) -> int:  # noqa: F811
    """/ready's status once it is 200, or its last."""
    client = site.new_client()
    deadline = time.monotonic() + timeout
    while True:
        status: int = client.get("/ready").status_code
        if status == 200 or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_ready_says_the_store_is_away_and_health_stays_up(
    site: Site,  # noqa: F811
    proxy: Proxy,  # noqa: F811
) -> None:
    assert ready(site) == 200
    proxy.cut()  # every pooled connection dies; new ones are refused
    client = site.new_client()
    r = client.get("/ready")
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "not ready"
    [problem] = body["problems"]
    assert problem.startswith("event store unreachable ("), problem
    assert "127.0.0.1" not in r.text and "postgres" not in problem.lower()  # no address, no URL
    health = client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "degraded" and "unreachable" in health.json()["store"]

    proxy.restore()  # the database is back: ready again, without a restart
    assert ready(site) == 200
