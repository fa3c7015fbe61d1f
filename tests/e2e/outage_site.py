"""A desk on PostgreSQL reached through a TCP proxy the test can cut (tests/e2e/tcp_proxy.py):
the fixtures of the outage tests (`proxy`, and `site`: the app's store behind the proxy, its
tables made directly)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from domain.settings import Settings
from tests.conftest import PG_URL
from tests.e2e.tcp_proxy import Proxy
from tests.web.desk_site import Site, migrate, started_site


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    p = Proxy()
    yield p
    p.close()


@pytest.fixture
def site(
    pg_schema: str, tmp_path: Path, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    monkeypatch.setenv("SUZ_DATABASE_SCHEMA", pg_schema)
    assert PG_URL.endswith("@127.0.0.1:5432/test"), "the proxy forwards to the local server"
    settings = Settings(data_dir=tmp_path / "data", database_url=PG_URL, db_pool_timeout=2.0)
    world = migrate(settings)  # directly; the desk itself goes through the proxy
    with started_site(replace(settings, database_url=proxy.url()), monkeypatch, world) as s:
        yield s
    os.environ.pop("SUZ_DATABASE_SCHEMA", None)
