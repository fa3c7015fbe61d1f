"""What expires, deleted on a schedule by the process that runs the views (every
SUZ_SESSION_PURGE_INTERVAL seconds; 0: never).

- Sign-in sessions: a session is refused as soon as it expires (web/sessions.py checks its times
  at every lookup), but its row stays until it is looked up again, which a browser left closed
  never does.
- Held files: a form sent back for an error holds the files it carried for its next submission
  (web/ui/held_files.py); a resubmission deletes those it files, but a visitor who gives up never
  comes back.

Each store's purge is handed in by the composition root (suz/): processes/ imports nothing from
web/."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import ClassVar

from processes.process import Process
from projections.db import ViewDB
from projections.system import Projections

log = logging.getLogger("suz.process")


class Purge(Process):
    """Calls `purge` (it deletes what expired and says how many) every `interval` seconds."""

    what: ClassVar[str]

    def __init__(self, db: ViewDB, purge: Callable[[], int], interval: float) -> None:
        super().__init__(db, interval)  # the db: where a failed tick is counted
        self._purge = purge

    def tick(self) -> int:
        purged = self._purge()
        if purged:
            log.info("%s: %d %s deleted", self.name, purged, self.what)
        return purged


class SessionPurge(Purge):
    name, what = "session-purge", "expired sessions"


class HeldFilesPurge(Purge):
    name, what = "held-files-purge", "expired held files"


def with_purges(
    projections: Projections,
    interval: float,
    sessions: Callable[[], int],
    held_files: Callable[[], int],
) -> Projections:
    """`projections` with the purges among its followers (they start where the views run);
    `interval` 0: none."""
    if interval > 0:
        projections.followers += [SessionPurge(projections.db, sessions, interval),
                                  HeldFilesPurge(projections.db, held_files, interval)]  # fmt: skip
    return projections
