"""Long checks run in the background, one at a time per kind, each recorded as a row of its own
table (`id`, `started_at`, `finished_at`, ...): the full integrity check and the check against
the seals. A row left unfinished by a process that stopped does not block a new check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from projections.db import ViewDB

_running: dict[tuple[str, int], asyncio.Future[None]] = {}  # keeps the checks referenced


def _record_start(db: ViewDB, table: str) -> int | None:
    """Records a new check as running; None when one of this kind runs in this process."""
    with db.tx() as tx:
        row = tx.one(f"SELECT id, finished_at FROM {table} ORDER BY id DESC LIMIT 1")
        if row is not None and row[1] is None and (table, row[0]) in _running:
            return None
        number = (row[0] if row else 0) + 1
        tx.execute(
            f"INSERT INTO {table} (id, started_at) VALUES (%s, %s)",
            (number, datetime.now(UTC).isoformat()),
        )
    return int(number)


async def start(db: ViewDB, table: str, work: Callable[[int], None]) -> int | None:
    """Starts `work(number)` in the thread pool as check `number` of `table`; None if one runs."""
    number = await run_in_threadpool(_record_start, db, table)
    if number is None:
        return None
    key = (table, number)
    future = asyncio.get_running_loop().run_in_executor(None, work, number)
    _running[key] = future
    future.add_done_callback(lambda _f: _running.pop(key, None))
    return number
