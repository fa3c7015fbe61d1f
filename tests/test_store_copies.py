"""The tests' store copies (tests/store_copies.py) on PostgreSQL: a schema given back is recycled
into the next test's store with the template's rows and nothing of the test before it, and a
spare a test altered is dropped, not recycled."""

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
from tests.conftest import PG_URL, postgres_or_skip
from tests.web.desk_site import migrate
from tests.world import World

pytestmark = pytest.mark.postgres


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Makes empty schemas as `pg_schema` does; gives back (releases) whichever are left."""
    postgres_or_skip()
    made: list[str] = []
    yield made
    for schema in made:
        store_copies.release(PG_URL, schema)


def _store(stores: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    stores.append(schema)
    monkeypatch.setenv("SUZ_DATABASE_SCHEMA", schema)
    return Settings(data_dir=tmp_path / schema, database_url=PG_URL)


def _events(schema: str) -> list[int]:
    with psycopg.connect(PG_URL) as conn:
        rows = conn.execute(f"SELECT notification_id FROM {schema}.desk_events ORDER BY 1")
        return [row[0] for row in rows]


def _table(schema: str) -> int:
    with psycopg.connect(PG_URL) as conn:
        row = conn.execute("SELECT %s::regclass::oid::bigint", (f"{schema}.desk_events",))
        return int(row.fetchone()[0])  # type: ignore[index]


def _file_one(settings: Settings, world: World) -> None:
    desk = Desk(settings.store_env())
    try:
        world.desk = desk  # the cast's ids are the template's: they exist in every copy
        world.file("Из предыдущего теста")
    finally:
        desk.close()


def test_a_recycled_store_is_the_template_again(
    stores: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _store(stores, tmp_path, monkeypatch)
    world = migrate(first)
    template_events = _events(stores[0])
    _file_one(first, world)
    assert len(_events(stores[0])) > len(template_events)
    table = _table(stores[0])
    store_copies.release(PG_URL, stores.pop(0))

    second = _store(stores, tmp_path, monkeypatch)
    migrate(second)
    assert _table(stores[0]) == table  # the same table, recycled: not a copy of the template
    assert _events(stores[0]) == template_events  # nothing of the first test's request
    _file_one(second, world)  # the event ids go on from the template's, as in a fresh copy
    assert _events(stores[0])[len(template_events)] == template_events[-1] + 1


def test_a_spare_a_test_altered_is_dropped_not_recycled(
    stores: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _store(stores, tmp_path, monkeypatch)
    migrate(first)
    altered = stores.pop(0)
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f"ALTER TABLE {altered}.desk_events ADD COLUMN extra int")
    store_copies.release(PG_URL, altered)
    assert os.environ["SUZ_DATABASE_SCHEMA"] == altered

    second = _store(stores, tmp_path, monkeypatch)
    migrate(second)
    with psycopg.connect(PG_URL) as conn:
        left = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (altered,)).fetchone()
        columns = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'desk_events' AND column_name = 'extra'",
            (stores[0],),
        ).fetchone()
    assert left is None  # dropped
    assert columns == (0,)  # the second store is a fresh copy of the template
