"""Ticket numbers: each above every number ever claimed, in this process or any other.

A number is only taken by its `Claim` ("ticket:N"), saved atomically with the ticket, so the
log's claims are the truth. The allocator reads them: once from the log's start, then only what
was stored since it last looked (the claims' topic, up to the log's head at that moment; PostgreSQL
inserts hold a table lock, so positions become visible in order and nothing below the head can
appear later). The next number is the highest seen plus one. A hole (a number handed out whose
save failed) is therefore never filled later: numbers never go backwards, across refusals,
failed saves and restarts. An earlier version probed for the highest number by bisection, which
could land in such a hole.
"""

from __future__ import annotations

import threading
from typing import Any

from eventsourcing.utils import get_topic

from domain.claim import Claim

CLAIM_TOPICS = [get_topic(Claim.Taken)]
PREFIX = "ticket:"
BATCH = 1000


class TicketNumbers:
    """Hands out ticket numbers; `give_back` returns one that was not used after all."""

    def __init__(self, app: Any) -> None:
        self._app = app  # the Desk: its recorder and mapper
        self._lock = threading.Lock()
        self._read_up_to = 0  # log position up to which the claims were read
        self._highest = 0  # the highest number claimed in the log there, or handed out here
        self._stale = True  # another process may have claimed numbers: read the log first

    def next(self) -> int:
        with self._lock:
            if self._stale:  # at start and after a conflict, not on every filing: two round
                self._catch_up()  # trips a filing cost a third of the PostgreSQL filing rate
                self._stale = False
            self._highest += 1
            return self._highest

    def conflicted(self) -> None:
        """The last number was claimed by another process: read the claims before the next."""
        with self._lock:
            self._stale = True

    def give_back(self, number: int) -> None:
        """A number handed out but not stored (a refused command): reused if still the last."""
        with self._lock:
            if number == self._highest:
                self._highest -= 1

    def _catch_up(self) -> None:
        recorder = self._app.recorder
        head = int(recorder.max_notification_id() or 0)
        while self._read_up_to < head:
            batch = recorder.select_notifications(
                start=self._read_up_to, limit=BATCH, stop=head, topics=CLAIM_TOPICS,
                inclusive_of_start=False,
            )  # fmt: skip
            for notification in batch:
                self._highest = max(self._highest, _number(self._app, notification))
            self._read_up_to = batch[-1].id if len(batch) == BATCH else head


def _number(app: Any, notification: Any) -> int:
    key: str = app.mapper.to_domain_event(notification).key
    if key.startswith(PREFIX) and key[len(PREFIX) :].isdigit():
        return int(key[len(PREFIX) :])
    return 0
