"""Fixtures of the end-to-end tests: a migrated store with the World's cast, real servers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from domain.settings import Settings
from tests.e2e.server import Server, serve, server_env
from tests.web.desk_site import migrate
from tests.world import World


@dataclass
class Store:
    """A migrated store (the World's cast has passwords) and the environment to serve it."""

    settings: Settings
    env: dict[str, str]
    world: World
    logs: Path


@pytest.fixture
def store(settings: Settings, tmp_path: Path) -> Store:
    world = migrate(settings)
    logs = tmp_path / "logs"
    logs.mkdir()
    return Store(settings, server_env(settings), world, logs)


@pytest.fixture
def server(store: Store) -> Iterator[Server]:
    with serve(store.env, store.logs) as s:
        yield s
