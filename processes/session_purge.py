"""Expired sign-in sessions deleted on a schedule, by the process that runs the views.

A session is refused as soon as it expires (web/sessions.py checks its times at every lookup),
but its row stays until it is looked up again, which a browser left closed never does; this
deletes them every SUZ_SESSION_PURGE_INTERVAL seconds. The store's `purge_expired` is handed in
by the composition root (suz/): processes/ imports nothing from web/."""

from __future__ import annotations

import logging
from collections.abc import Callable

from processes.process import Process
from projections.db import ViewDB
from projections.system import Projections

log = logging.getLogger("suz.process")


class SessionPurge(Process):
    name = "session-purge"

    def __init__(self, db: ViewDB, purge: Callable[[], int], interval: float) -> None:
        super().__init__(db, interval)  # the db: where a failed tick is counted
        self._purge = purge

    def tick(self) -> int:
        purged = self._purge()
        if purged:
            log.info("session-purge: %d expired sessions deleted", purged)
        return purged


def with_session_purge(
    projections: Projections, purge: Callable[[], int], interval: float
) -> Projections:
    """`projections` with the purge among its followers (they start where the views run);
    `interval` 0: none."""
    if interval > 0:
        projections.followers.append(SessionPurge(projections.db, purge, interval))
    return projections
