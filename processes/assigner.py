"""Automatic assignment within a group: round robin or least loaded, skipping agents away.

The assignment queue (projections/assign_queue.py) keeps the requests a routing rule sent to a
group for automatic assignment that no one has taken yet; the process picks an agent for each and
sends the idempotent `AssignAutomatically` through the desk's dispatcher, so a repeat after a
restart assigns nothing twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from uuid import UUID

from domain.desk import Desk
from domain.errors import DeskError
from domain.tickets.commands import AssignAutomatically
from processes.process import Process
from projections.assign_queue import pick, record_pick, waiting
from projections.db import ViewDB

log = logging.getLogger("suz.assigner")


class Assigner(Process):
    name = "assigner"

    def __init__(self, desk: Desk, db: ViewDB, interval: float = 1.0) -> None:
        super().__init__(db, interval)
        self.desk = desk

    def tick(self) -> int:
        with self.db.read() as tx:
            todo = waiting(tx)
        done, given = 0, Counter[str]()
        for ticket, group, mode in todo:
            with self.db.read() as tx:
                agent = pick(tx, group, mode, given)
            if agent is None:
                continue  # nobody in: it waits in the group's queue
            command = AssignAutomatically(UUID(ticket), None, UUID(group), UUID(agent))
            try:
                if self.desk.send(command) is None:
                    continue  # someone assigned it meanwhile
            except DeskError as e:
                log.warning("automatic assignment of %s refused: %s", ticket, e)
                continue
            done, given[agent] = done + 1, given[agent] + 1
            with self.db.tx() as tx:
                record_pick(tx, group, agent)
        return done
