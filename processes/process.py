"""A supervised background process: `tick()` every `interval` seconds in its own thread; a failed
tick is logged, counted (projections/failures.py) and retried, the thread's view connection is
closed when it stops."""

from __future__ import annotations

import logging
import threading

from projections.db import ViewDB
from projections.failures import failed, recovered

log = logging.getLogger("suz.process")


class Process:
    name = "process"

    def __init__(self, db: ViewDB, interval: float = 1.0) -> None:
        self.db, self.interval = db, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        raise NotImplementedError

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        unsure = True  # failures recorded by an earlier run may remain: the first success clears
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.tick()
                    if unsure:
                        recovered(self.db, "process", self.name)
                        unsure = False
                except Exception as e:  # supervised: log, count, wait, go on
                    log.exception("%s: tick failed; retrying", self.name)
                    failed(self.db, "process", self.name, e)
                    unsure = True
                    self._stop.wait(5.0)
        finally:
            self.db.close()  # this thread's connection
