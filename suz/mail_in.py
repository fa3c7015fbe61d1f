"""E-mail in, composed: the intake (web/mail_in.py) over a desk, its views and its files, and the
two ways letters reach it: the IMAP poller beside the views (SUZ_IMAP_URL) and `suz mail-in`,
the command an MTA pipes each letter to (mail/pipe.py: exit 0 stored or a re-delivery, 75 try
again later, 65 refused, the reason on standard error)."""

from __future__ import annotations

import sys

from domain.desk import Desk
from domain.settings import Settings
from mail.imap import Mailbox, Outcome
from mail.pipe import deliver
from processes.imap_poller import ImapPoller
from projections.system import Projections
from suz.migrate import migrate
from web.blobs import open_blob_store
from web.mail_in import Intake


def intake(desk: Desk, projections: Projections, settings: Settings) -> Intake:
    return Intake(desk, projections.db, open_blob_store(settings, projections.db), settings)


def with_mailbox(projections: Projections, settings: Settings) -> Projections:
    """`projections` with the IMAP poller among its followers when SUZ_IMAP_URL is set (it runs
    where the views run: one poller per desk)."""
    if settings.imap_url:
        box = Mailbox.from_url(settings.imap_url)  # a bad URL stops the start, naming the setting
        handle = intake(projections.desk, projections, settings)
        projections.followers.append(
            ImapPoller(projections.db, box, handle, interval=settings.imap_interval)
        )
    return projections


def run_mail_in(settings: Settings) -> int:
    """`suz mail-in`: one letter on standard input, the outcome as the exit status."""
    from processes.system import read_side

    migrate(settings)
    desk = Desk(settings.store_env())
    projections = read_side(desk, settings)  # not started: the intake only reads the views
    take = intake(desk, projections, settings)

    def handle(raw: bytes) -> tuple[Outcome, str]:
        receipt = take.receive(raw)
        return receipt.outcome, receipt.reason

    try:
        return deliver(sys.stdin.buffer, handle)
    finally:
        projections.db.close_all()
        desk.close()
