"""The incident process: fires triggers, links matching requests to open incidents, and finishes
telling linked requesters what they have not been told. Supervised like the view runners.

It reads the incidents view and sends idempotent commands (`FireTrigger`, `AutoLink`,
`DeliverIncident`) through the desk's one dispatcher: a rule fires at most once per
window and never while its last incident is proposed or open (the Triggers aggregate decides,
not the view); a request already linked is not linked again; a delivery is recorded with the
tickets' events in one save. So a restart, a lagging view or a second process repeats nothing.
It wakes whenever the incidents view moves (a new request, a new incident) and at least every
`interval` seconds. A tick reads the view in three queries whatever the filing rate: every rule's
count and usual rate at once (kept by the view as it projects requests, see
projections/trigger_counts.py), the requests to link, the incidents to deliver.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from domain.desk import Desk
from domain.errors import DeskError
from domain.incident_commands import AutoLink, DeliverIncident, FireTrigger, IncidentCommand
from projections.db import Tx
from projections.incidents import todo, undelivered, window_counts
from projections.signals import Positions

log = logging.getLogger("suz.incidents")
Now = Callable[[], datetime]
VIEW = "incidents"
SETTLE = 0.1  # seconds: lets a burst of new requests land before a tick


class ViewReads(Protocol):
    """What the process needs of the view store (projections.db.ViewDB)."""

    def read(self) -> AbstractContextManager[Tx]: ...
    def close(self) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class IncidentProcess:
    def __init__(
        self,
        desk: Desk,
        db: ViewReads,
        positions: Positions | None = None,
        now: Now = _now,
        interval: float = 1.0,
    ) -> None:
        self.desk, self.db, self.positions = desk, db, positions
        self.now, self.interval = now, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Does what is due now; returns how many commands wrote something."""
        now = self.now()
        rules = self.desk.triggers()
        with self.db.read() as tx:
            counts = window_counts(tx, rules.rules, now)
            to_link = todo(tx)
            to_tell = undelivered(tx)
        written = 0
        for rule in rules.rules:
            c = counts.get(rule.id)
            if c is None or not rule.fires(c.count, c.usual) or not rules.may_fire(rule, now):
                continue
            written += self._send(f"fire {rule.name}", FireTrigger(rule.id, now, c.count, c.usual))
        for incident, tickets in to_link.items():
            ids = tuple(UUID(t) for t in tickets)
            written += self._send(f"link to {incident}", AutoLink(UUID(incident), ids))
        for incident in to_tell:
            written += self._send(f"deliver {incident}", DeliverIncident(UUID(incident)))
        return written

    def _send(self, what: str, command: IncidentCommand) -> int:
        try:
            return self.desk.send(command) is not None
        except DeskError as e:
            log.warning("incident process: %s refused: %s", what, e)
            return 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="incident-process", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _wait(self, seen: int) -> None:
        """Until the incidents view moves past `seen`, the interval passes or we stop; then a
        moment more, so that a burst of requests is handled in one tick."""
        if self.positions is None:
            self._stop.wait(self.interval)
            return
        waited = 0.0
        while not self._stop.is_set() and waited < self.interval:
            if self.positions.wait_for(VIEW, seen + 1, timeout=0.2):
                break
            waited += 0.2
        self._stop.wait(SETTLE)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                seen = self.positions.reached(VIEW) if self.positions else 0
                try:
                    self.tick()
                except Exception:  # supervised: log, wait, go on
                    log.exception("incident process tick failed; retrying")
                    self._stop.wait(5.0)
                self._wait(seen)
        finally:
            self.db.close()  # this thread's connection
