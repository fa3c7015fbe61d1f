"""E-mail in: the background process that polls one IMAP folder (mail/imap.py) every `interval`
seconds and gives each new letter to the intake.

It lives here, not in mail/: mail/ is the transport and imports only domain/ (tests/
test_layering.py), while a supervised process is a processes/ thing. A tick that cannot reach the
mailbox (ImapError) or whose intake raised is logged, counted in the failures /health reads, and
retried after the supervisor's pause; the letters it did not finish stay unseen on the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mail.imap import Mailbox, Outcome, poll_once
from processes.process import Process
from projections.db import ViewDB

log = logging.getLogger("suz.mail")


class ImapPoller(Process):
    """Polls `box` every `interval` seconds; a full batch is followed at once by the next one,
    until the folder has no unseen letter left, the intake asks to retry, or the process stops."""

    name = "imap-poller"

    def __init__(
        self,
        db: ViewDB,
        box: Mailbox,
        handle: Callable[[bytes], Outcome],
        interval: float = 30.0,
        *,
        batch: int = 50,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(db, interval)
        self.box, self.handle, self.batch, self.timeout = box, handle, batch, timeout

    def tick(self) -> int:
        """Letters finished (stored, duplicate or refused) in this tick."""
        done = 0
        while True:
            counts = poll_once(self.box, self.handle, batch=self.batch, timeout=self.timeout)
            if counts:
                log.info("%s: %s", self.box, ", ".join(f"{k} {v}" for k, v in counts.items()))
            done += counts.total() - counts[Outcome.RETRY]
            if counts[Outcome.RETRY] or counts.total() < self.batch or self._stop.is_set():
                return done
