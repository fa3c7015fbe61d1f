"""Shared fixtures: every storage test runs against SQLite and against PostgreSQL.

PostgreSQL tests use a fresh schema in the `test` database (SUZ_TEST_DATABASE_URL to change it).
Locally they skip, saying why, when the server is down; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from domain.desk import Desk
from domain.settings import Settings
from tests import store_copies
from tests.world import World

PG_URL = os.environ.get("SUZ_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Tests run suz in demo mode (keys generated into each store's data folder), the processes they
# start too; production mode, which refuses to start without keys, is tested by name.
os.environ.setdefault("SUZ_MODE", "demo")
# The tests' PostgreSQL sessions (theirs, and the servers' and tools' they start, through libpq)
# commit without waiting for the WAL to reach the disk: nothing here outlives a crash of the
# PostgreSQL server itself, which no test causes; killed suz processes lose nothing committed.
# A serial run of three web/ui files: 22.4 s -> 20.5 s.
os.environ.setdefault("PGOPTIONS", "-c synchronous_commit=off")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_or_skip() -> None:
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.OperationalError as e:
        if IN_CI:
            pytest.fail(f"PostgreSQL must run in CI but is unreachable at {PG_URL}: {e}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL} ({e}); start it to run this test")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped afterwards (or recycled: tests/store_copies.py)."""
    postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema
    store_copies.release(PG_URL, schema)


def settings_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if backend == "sqlite":
        return Settings(data_dir=tmp_path / "data", database_url=None)
    schema = request.getfixturevalue("pg_schema")
    os.environ["SUZ_DATABASE_SCHEMA"] = schema
    request.addfinalizer(lambda: os.environ.pop("SUZ_DATABASE_SCHEMA", None))
    # the event store's pool opens its size at once: 2 (up to 10 when busy) rather than 5 for
    # each of several hundred sites a run starts (each connection a PostgreSQL backend to start)
    return Settings(data_dir=tmp_path / "data", database_url=PG_URL, store_pool_size=2,
                    store_max_overflow=8)  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The store settings of one backend; tests using it run once per backend."""
    return settings_for(request.param, tmp_path, request)


@pytest.fixture
def store_env(settings: Settings, request: pytest.FixtureRequest) -> dict[str, str]:
    """An eventsourcing environment whose tables exist (migrated). On PostgreSQL the schema gets
    every table `suz migrate` makes, as a copy (tests/store_copies.py `tables`): the views' too,
    which a test's `projections` would make one statement at a time; a test marked
    `first_start` gets only the event store's (no view was ever made in its store)."""
    first_start = request.node.get_closest_marker("first_start") is not None
    if first_start or not store_copies.tables(settings):
        Desk(settings.store_env(create_tables=True)).close()
    return settings.store_env()


@pytest.fixture
def desk(store_env: dict[str, str]) -> Iterator[Desk]:
    app = Desk(store_env)
    yield app
    app.close()


@pytest.fixture
def world(desk: Desk) -> World:
    """A small desk: an organisation, lines 1-3, staff of every role, two categories."""
    return World.build(desk)
