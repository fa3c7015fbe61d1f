from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.desk import Desk
from domain.settings import Settings
from processes.system import read_side
from projections.system import Projections


@pytest.fixture
def projections(desk: Desk, settings: Settings) -> Iterator[Projections]:
    """The views of the test's store, migrated, not running (tests drive them)."""
    p = read_side(desk, settings)
    p.migrate()
    yield p
    p.stop()
    p.db.close()
