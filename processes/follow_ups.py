"""The follow-up process: raises a CSI follow-up for each low rating (projections/quality.py
keeps the queue) through an idempotent command, so a restart raises nothing twice."""

from __future__ import annotations

from domain.desk import Desk
from processes.process import Process
from projections.db import ViewDB
from projections.quality import follow_up_queue


class FollowUpProcess(Process):
    """Raises a follow-up for each low rating waiting in the queue (idempotent command)."""

    name = "follow-ups"

    def __init__(self, desk: Desk, db: ViewDB, interval: float = 1.0) -> None:
        super().__init__(db, interval)
        self.desk = desk

    def tick(self) -> int:
        with self.db.read() as tx:
            waiting = follow_up_queue(tx)
        done = 0
        for ticket, version, score in waiting:
            if self.desk.raise_follow_up(ticket, version, score) is not None:
                done += 1
        return done
