"""Shutting the view store down while a thread still reads from it.

The live feed's reader runs on asyncio's executor threads, and cancelling its task at shutdown
does not stop a read already running there. Closing a SQLite connection another thread is using
once crashed the test process (a segfault in CI); close_all() now waits for the read to end.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from domain.settings import Settings
from projections.db import ViewDB

COUNT = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %s)"
    " SELECT count(*) FROM c"
)


def test_close_all_waits_for_a_read_another_thread_is_running(tmp_path: Path) -> None:
    db = ViewDB(Settings(data_dir=tmp_path / "data", database_url=None))
    for _ in range(3):
        results: list[object] = []
        started = threading.Event()

        def read(results: list[object], started: threading.Event) -> None:
            try:
                with db.read() as tx:  # one block of many statements, as a page's read
                    started.set()
                    results.append(sum(tx.all(COUNT, (1000,))[0][0] for _ in range(2000)))
            except Exception as e:  # the old close_all: "Cannot operate on a closed database"
                results.append(e)

        reader = threading.Thread(target=read, args=(results, started))
        reader.start()
        assert started.wait(10)
        time.sleep(0.02)  # the statement is running now
        db.close_all()
        reader.join(30)
        assert results == [2000 * 1000]
    with db.read() as tx:  # the store is usable again: the thread reconnects
        assert tx.one("SELECT 1") == (1,)
    db.close_all()
