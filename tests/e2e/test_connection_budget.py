"""A process's PostgreSQL connections stay within the budget its settings give (README,
"Connections"), however many requests run at once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from domain.settings import Settings
from tests.conftest import PG_URL, settings_for
from tests.web.desk_site import LEAKS, Site, migrate, started_site

pytestmark = [LEAKS, pytest.mark.postgres]


def budget(s: Settings) -> int:
    """The README's count: the view pool, the store's pool and overflow, the listener, and the
    one connection that holds every view's session lock (projections/locks.py)."""
    return s.db_pool_size + s.store_pool_size + s.store_max_overflow + 1 + 1


@pytest.fixture
def name(monkeypatch: pytest.MonkeyPatch) -> str:
    app_name = f"suz-budget-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", app_name)  # libpq names every connection the app opens
    return app_name


@pytest.fixture
def site(
    tmp_path: Path, request: pytest.FixtureRequest, name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    settings = settings_for("postgres", tmp_path, request)  # a PostgreSQL budget: no SQLite run
    small = replace(settings, db_pool_size=4, store_pool_size=2, store_max_overflow=2)
    with started_site(small, monkeypatch, migrate(small)) as s:
        yield s


def backends(name: str) -> int:
    with psycopg.connect(PG_URL, application_name="budget-probe", autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


def test_sixteen_callers_at_once_stay_within_the_configured_budget(site: Site, name: str) -> None:
    people = [site.sign_in(who) for who in ("requester", "colleague", "agent", "engineer")]
    filed = site.file(people[0])
    after = filed["position"]
    stop, seen = threading.Event(), [backends(name)]

    def sample() -> None:
        while not stop.is_set():
            seen.append(backends(name))
            time.sleep(0.1)

    def load(i: int) -> int:
        person = people[i % len(people)]
        codes = []
        for _ in range(15):
            if person is people[0] and i % 4 == 0:
                codes.append(person.post("/api/v1/tickets", site.filing()).status_code)
            # read-your-writes: without ?after= the views may not have the request yet (a 404)
            codes.append(person.get(f"/api/v1/tickets/{filed['id']}?after={after}").status_code)
            codes.append(person.get("/api/v1/me").status_code)
        return max(codes)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(16) as pool:
            worst = set(pool.map(load, range(16)))
    finally:
        stop.set()
        sampler.join()
    assert worst <= {200, 201}, worst
    limit = budget(site.services.settings)
    assert limit == 4 + 2 + 2 + 1 + 1
    assert 0 < max(seen) <= limit, seen
