"""What the pages and the mail sender ask of the notifications view and the mail outbox
(projections/notifications.py): a person's list, unread count and preferences; the letters due,
their outcome, the outbox's counts and dead letters, a dead letter sent again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from domain.notifications import REQUESTER_KINDS, STAFF_KINDS, Kind, Via, default_via
from projections.db import Tx

MAX_ATTEMPTS = 8  # then a temporary failure makes a dead letter too
BACKOFF = 30.0  # seconds before the second attempt; doubled each time (30 s ... about 1 h)
BACKOFF_MAX = 3600.0


@dataclass(frozen=True)
class Notification:
    position: int
    kind: str
    ticket_id: str | None
    number: int
    subject: str
    link: str
    at: str
    unread: bool


def _read_upto(tx: Tx, account: str) -> int:
    row = tx.one("SELECT read_upto FROM v_notify_people WHERE id = %s", (account,))
    return int(row[0]) if row else 0


def unread(tx: Tx, account: str) -> int:
    row = tx.one(
        "SELECT COUNT(*) FROM v_notifications n JOIN v_notify_people p ON p.id = n.account_id"
        " WHERE n.account_id = %s AND n.position > p.read_upto",
        (account,),
    )
    return int(row[0]) if row else 0


def latest(tx: Tx, account: str, limit: int = 50) -> list[Notification]:
    """The person's notifications, newest first."""
    upto = _read_upto(tx, account)
    rows = tx.all(
        "SELECT position, kind, ticket_id, number, subject, link, at FROM v_notifications"
        " WHERE account_id = %s ORDER BY position DESC, kind LIMIT %s",
        (account, limit),
    )
    return [Notification(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5], r[6], int(r[0]) > upto)
            for r in rows]  # fmt: skip


def newest_position(tx: Tx, account: str) -> int:
    """The position of the person's newest notification (what "mark all read" marks up to)."""
    row = tx.one("SELECT MAX(position) FROM v_notifications WHERE account_id = %s", (account,))
    return int(row[0]) if row and row[0] is not None else 0


@dataclass(frozen=True)
class Preferences:
    language: str
    choices: dict[str, str]  # every kind the person may get -> app, email, both or off


def preferences(tx: Tx, account: str, staff: bool) -> Preferences:
    """The person's choices for the kinds he may get, defaults filled in."""
    row = tx.one("SELECT language, choices FROM v_notify_people WHERE id = %s", (account,))
    language, chosen = (row[0], orjson.loads(row[1])) if row else ("ru", {})
    kinds: tuple[Kind, ...] = (*REQUESTER_KINDS, *STAFF_KINDS) if staff else REQUESTER_KINDS
    choices = {}
    for k in kinds:
        default = Via.EMAIL if k is Kind.ACKNOWLEDGED else default_via(k)
        choices[k.value] = chosen.get(k.value, default.value)
    return Preferences(language, choices)


# -- the outbox -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Letter:
    position: int
    recipient: str
    kind: str
    ticket_id: str | None
    address: str
    language: str
    payload: dict[str, Any]
    attempts: int
    committed_at: float  # the event's time
    error: str = ""  # the last attempt's error ("" before the first, or after a re-send: kept)

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.position, self.recipient, self.kind)


_LETTER = ("SELECT position, recipient, kind, ticket_id, address, language, payload, attempts,"
           " committed_at, last_error FROM mail_outbox")  # fmt: skip


def _letter(r: Any) -> Letter:
    return Letter(int(r[0]), r[1], r[2], r[3], r[4], r[5], orjson.loads(r[6]), int(r[7]),
                  float(r[8]), r[9])  # fmt: skip


def due(tx: Tx, now: float, limit: int, *, lock: bool = False) -> list[Letter]:
    """Pending letters whose time has come, oldest event first; `lock` (PostgreSQL): locked for
    this transaction, skipping those another sender holds."""
    locked = " FOR UPDATE SKIP LOCKED" if lock and tx.dialect == "postgres" else ""
    rows = tx.all(
        f"{_LETTER} WHERE state = 'pending' AND next_at <= %s ORDER BY position, recipient, kind"
        f" LIMIT %s{locked}",
        (now, limit),
    )
    return [_letter(r) for r in rows]


def sent(tx: Tx, letters: list[Letter], at: float) -> None:
    tx.executemany(
        "UPDATE mail_outbox SET state = 'sent', sent_at = %s, attempts = attempts + 1,"
        " last_error = '' WHERE position = %s AND recipient = %s AND kind = %s",
        [(at, *letter.key) for letter in letters],
    )


def failed(tx: Tx, letter: Letter, error: str, temporary: bool, now: float) -> str:
    """Records a failed attempt: another later (backoff doubling), or dead when the failure is
    permanent or the attempts are spent. Returns the new state."""
    attempts = letter.attempts + 1
    dead = not temporary or attempts >= MAX_ATTEMPTS
    delay = min(BACKOFF * 2 ** (attempts - 1), BACKOFF_MAX)
    state = "dead" if dead else "pending"
    tx.execute(
        "UPDATE mail_outbox SET state = %s, attempts = %s, next_at = %s, last_error = %s"
        " WHERE position = %s AND recipient = %s AND kind = %s",
        (state, attempts, now + delay, error[:2000], *letter.key),
    )
    return state


def counts(tx: Tx) -> dict[str, int]:
    found = {str(s): int(n) for s, n in
             tx.all("SELECT state, COUNT(*) FROM mail_outbox GROUP BY state")}  # fmt: skip
    return {s: found.get(s, 0) for s in ("pending", "sent", "dead")}


@dataclass(frozen=True)
class DeadLetter:
    position: int
    recipient: str
    kind: str
    address: str
    number: int
    subject: str
    attempts: int
    error: str


def dead(tx: Tx, limit: int = 100) -> list[DeadLetter]:
    rows = tx.all(
        "SELECT position, recipient, kind, address, payload, attempts, last_error FROM mail_outbox"
        " WHERE state = 'dead' ORDER BY position DESC LIMIT %s",
        (limit,),
    )
    out = []
    for r in rows:
        p = orjson.loads(r[4])
        out.append(DeadLetter(int(r[0]), r[1], r[2], r[3], int(p.get("number", 0)),
                              str(p.get("subject", "")), int(r[5]), r[6]))  # fmt: skip
    return out


def resend(tx: Tx, position: int, recipient: str, kind: str, now: float) -> bool:
    """A dead letter pending again, attempts from zero (an administrator's operational act:
    the letter's content stays what the event said). False when there is no such dead letter."""
    row = tx.one(
        "SELECT 1 FROM mail_outbox WHERE position = %s AND recipient = %s AND kind = %s"
        " AND state = 'dead'",
        (position, recipient, kind),
    )
    if row is None:
        return False
    tx.execute(
        "UPDATE mail_outbox SET state = 'pending', attempts = 0, next_at = %s"
        " WHERE position = %s AND recipient = %s AND kind = %s",
        (now, position, recipient, kind),
    )
    return True


def outbox_keys(tx: Tx) -> list[tuple[int, str, str, str]]:
    """Every letter's key and state (tests and the bench)."""
    rows = tx.all("SELECT position, recipient, kind, state FROM mail_outbox ORDER BY position")
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows]


def delays(tx: Tx) -> list[float]:
    """Seconds from each sent letter's event to its acceptance by the SMTP server (the bench)."""
    rows = tx.all("SELECT sent_at - committed_at FROM mail_outbox WHERE state = 'sent'")
    return [float(r[0]) for r in rows]
