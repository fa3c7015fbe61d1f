"""The brakes of web/throttle.py in both homes: this process's memory (SQLite's single process)
and PostgreSQL's shared tables (web/shared_throttle.py), so one test runs against each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.db import ViewDB
from tests.conftest import settings_for
from web.shared_throttle import DDL


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def brakes_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ViewDB | None]:
    """None for the in-memory brakes; else a fresh schema's views database with their tables."""
    if request.param == "memory":
        yield None
        return
    yield from _shared(request, tmp_path)


@pytest.fixture
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ViewDB]:
    """A fresh PostgreSQL schema's views database with the shared brakes' tables."""
    yield from _shared(request, tmp_path)


def _shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ViewDB]:
    db = ViewDB(settings_for("postgres", tmp_path, request))
    with db.tx() as tx:
        for statement in DDL:
            tx.execute(statement)
    yield db
    db.close_all()
