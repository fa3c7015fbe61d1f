"""Held files deleted on a schedule once expired, by the process that runs the views.

A form sent back for an error holds the files it carried for its next submission (web/ui/
held_files.py); a resubmission deletes those it files, but a visitor who gives up never comes
back, so this deletes every held file past its expiry every SUZ_SESSION_PURGE_INTERVAL seconds
(with the expired sessions' purge). The store's `purge_held` is handed in by the composition
root (suz/): processes/ imports nothing from web/."""

from __future__ import annotations

import logging
from collections.abc import Callable

from processes.process import Process
from projections.db import ViewDB
from projections.system import Projections

log = logging.getLogger("suz.process")


class HeldFilesPurge(Process):
    name = "held-files-purge"

    def __init__(self, db: ViewDB, purge: Callable[[], int], interval: float) -> None:
        super().__init__(db, interval)  # the db: where a failed tick is counted
        self._purge = purge

    def tick(self) -> int:
        purged = self._purge()
        if purged:
            log.info("held-files-purge: %d expired held files deleted", purged)
        return purged


def with_held_purge(
    projections: Projections, purge: Callable[[], int], interval: float
) -> Projections:
    """`projections` with the purge among its followers (they start where the views run);
    `interval` 0: none."""
    if interval > 0:
        projections.followers.append(HeldFilesPurge(projections.db, purge, interval))
    return projections
