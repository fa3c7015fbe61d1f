"""The mail sender: sends the letters the notifications view put in the outbox
(projections/notifications.py, in the pump's transaction), oldest first, a batch per SMTP
connection, and records each outcome: sent; a temporary failure tried again later with
exponential backoff; a permanent failure, an unwritable letter or too many attempts: dead (the
administrators see dead letters and may send them again).

It runs only where the views run and only when SUZ_SMTP_URL is set (processes/system.py). It
wakes when the notifications view moves (a new letter may be due) and at least every
`interval` seconds (a retry may have come due). On PostgreSQL the due rows are locked (FOR
UPDATE SKIP LOCKED) from choosing to recording, so two senders never send one letter twice; on
SQLite one process runs the views and this sender.

Every letter threads under its request: Message-ID `message_id(ticket, position, domain)`,
In-Reply-To and References the request's root `message_id(ticket, 0, domain)`; a requester's
letter has the request's reply-token address as Reply-To (an answer by mail lands in the
request) and an absolute link: his cabinet's request page, or the private link (`?key=`) for
an anonymous contact. A staff member's letter carries a one-click List-Unsubscribe for its kind
(mail/unsubscribe.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol
from uuid import UUID

from domain.desk import Desk
from domain.notifications import STAFF_KINDS, Kind
from domain.settings import Settings
from mail.notices import notice
from mail.outgoing import Outgoing, Unsendable, build
from mail.smtp import SendFailure, SmtpTarget
from mail.threads import message_id, reply_address, reply_token
from mail.unsubscribe import unsubscribe_token
from processes.process import Process
from projections import notification_queries as nq
from projections.db import Tx, ViewDB
from projections.failures import failed as process_failed
from projections.failures import recovered
from projections.notifications import MAIL_MAX_AGE
from projections.signals import Positions

log = logging.getLogger("suz.mail")
VIEW = "notifications"
BATCH = 100
# A letter never tried whose event is older than this is not sent but set aside as dead (the
# outbox fills while no SMTP server is configured: configuring one must not mail the desk's
# past weeks to everyone); an administrator may still send it again.
STALE = MAIL_MAX_AGE.total_seconds()
STALE_REASON = "not sent: its event is over two days old (was mail configured then?)"


class Target(Protocol):
    def send_many(self, messages: list[EmailMessage]) -> list[SendFailure | None]: ...


class MailSender(Process):
    name = "mail-sender"

    def __init__(
        self,
        desk: Desk,
        db: ViewDB,
        settings: Settings,
        positions: Positions | None = None,
        *,
        target: Target | None = None,
        interval: float = 1.0,
        batch: int = BATCH,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(db, interval)
        assert settings.smtp_url or target is not None, "no SMTP server: no sender"
        self.desk, self.settings, self.positions = desk, settings, positions
        self.target: Target = target or SmtpTarget.from_url(str(settings.smtp_url))
        self.batch, self.now = batch, now
        self.spent = {"compose": 0.0, "send": 0.0, "record": 0.0, "ticks": 0.0}  # seconds (bench)

    # -- one batch ------------------------------------------------------------------------------
    def tick(self) -> int:
        """Sends the letters due now (at most a batch); returns how many were tried."""
        if self.db.dialect == "postgres":  # chosen and recorded under the rows' locks
            with self.db.tx() as tx:
                letters = nq.due(tx, self.now(), self.batch, lock=True)
                self._send(tx, letters)
        else:  # one sender per store: the pump is not held back while SMTP talks
            with self.db.read() as tx:
                letters = nq.due(tx, self.now(), self.batch)
            outcomes = self._deliver(letters)
            with self.db.tx() as tx:
                self._record(tx, outcomes)
        return len(letters)

    def _send(self, tx: Tx, letters: list[nq.Letter]) -> None:
        self._record(tx, self._deliver(letters))

    def _deliver(self, letters: list[nq.Letter]) -> list[tuple[nq.Letter, SendFailure | None]]:
        outcomes: list[tuple[nq.Letter, SendFailure | None]] = []
        ready: list[tuple[nq.Letter, EmailMessage]] = []
        started = time.perf_counter()
        now = self.now()
        for letter in letters:
            if letter.attempts == 0 and not letter.error and now - letter.committed_at > STALE:
                outcomes.append((letter, SendFailure(STALE_REASON, temporary=False, code=None,
                                                     stage="write")))  # fmt: skip
                continue
            try:
                ready.append((letter, self.compose(letter)))
            except (Unsendable, ValueError) as e:
                failure = SendFailure(f"unwritable: {e}", temporary=False, code=None, stage="write")
                outcomes.append((letter, failure))
        composed = time.perf_counter()
        if ready:
            results = self.target.send_many([m for _, m in ready])
            outcomes += [(letter, r) for (letter, _), r in zip(ready, results, strict=True)]
        self.spent["compose"] += composed - started
        self.spent["send"] += time.perf_counter() - composed
        return outcomes

    def _record(self, tx: Tx, outcomes: list[tuple[nq.Letter, SendFailure | None]]) -> None:
        now, started = self.now(), time.perf_counter()
        self.spent["ticks"] += 1
        nq.sent(tx, [letter for letter, r in outcomes if r is None], now)
        for letter, failure in outcomes:
            if failure is not None:
                state = nq.failed(tx, letter, str(failure), failure.temporary, now)
                log.warning("letter %s to %s %s: %s", letter.kind, letter.address,
                            "dead" if state == "dead" else "retried later", failure)  # fmt: skip
        self.spent["record"] += time.perf_counter() - started

    # -- one letter -----------------------------------------------------------------------------
    def link(self, letter: nq.Letter) -> str:
        """The letter's absolute link: the private link's key for an anonymous requester."""
        path = str(letter.payload["link"])
        if letter.payload.get("anonymous") and letter.ticket_id:
            path += f"?key={self.desk.visitor_key(UUID(letter.ticket_id))}"
        return f"{self.settings.public_url}{path}"

    def compose(self, letter: nq.Letter) -> EmailMessage:
        p = letter.payload
        words = notice(p, letter.language, self.link(letter))
        domain = self.settings.mail_domain
        thread = UUID(letter.ticket_id) if letter.ticket_id else None
        if thread is None:  # a mass-incident proposal threads under the incident
            thread = UUID(str(p["link"]).rsplit("/", 1)[-1])
        root = message_id(thread, 0, domain)
        reply_to = unsubscribe = None
        if p.get("requester") and letter.ticket_id:
            token = reply_token(self.desk.mail_secret, UUID(letter.ticket_id))
            reply_to = reply_address(self.settings.mail_from, token)
        elif letter.kind in STAFF_KINDS and self.settings.public_url.startswith("https://"):
            # one click turns this kind's e-mail off (RFC 8058 allows only an https address)
            token = unsubscribe_token(self.desk.mail_secret, UUID(letter.recipient),
                                      Kind(letter.kind))  # fmt: skip
            unsubscribe = f"{self.settings.public_url}/unsubscribe/{token}"
        return build(
            Outgoing(
                to=letter.address,
                subject=words.subject,
                text=words.text,
                html=words.html,
                message_id=message_id(thread, letter.position, domain),
                in_reply_to=root,
                references=(root,),
                reply_to=reply_to,
                list_unsubscribe=unsubscribe,
                language=letter.language if letter.language in ("ru", "en") else "ru",
            ),
            self.settings.mail_from,
        )

    # -- the loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        unsure = True
        try:
            while not self._stop.is_set():
                seen = self.positions.reached(VIEW) if self.positions else 0
                try:
                    full = self.tick() >= self.batch
                    if unsure:
                        recovered(self.db, "process", self.name)
                        unsure = False
                except Exception as e:  # supervised: log, count, wait, go on
                    log.exception("%s: tick failed; retrying", self.name)
                    process_failed(self.db, "process", self.name, e)
                    unsure, full = True, False
                    self._stop.wait(5.0)
                if not full:
                    self._wait(seen)
        finally:
            self.db.close()

    def _wait(self, seen: int) -> None:
        """Until the notifications view moves past `seen` or the interval passes."""
        if self.positions is None:
            self._stop.wait(self.interval)
            return
        waited = 0.0
        while not self._stop.is_set() and waited < self.interval:
            if self.positions.wait_for(VIEW, seen + 1, timeout=0.1):
                return
            waited += 0.1
