"""CSI follow-ups and quality review: the view behind /quality, and the follow-up process.

`v_quality_tickets` keeps, per request, what sampling needs (resolver, group, rating, whether it
is resolved and not yet reviewed, a fixed hash for the random sample); `v_quality` one row per
review; `v_follow_up_queue` the low ratings waiting for the process, which records
`Ticket.FollowUpRaised` through an idempotent command (so a restart raises nothing twice);
`v_follow_ups` the follow-ups the group leads see.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any
from uuid import UUID

import orjson

from domain.quality import LOW_RATING
from domain.ticket import Ticket, TicketKind
from projections.base import View, on
from projections.db import Tx, update_rows


def sample_key(ticket_id: str) -> str:
    return hashlib.sha256(ticket_id.encode()).hexdigest()


class QualityView(View):
    name = "quality"
    tables = ("v_quality_tickets", "v_quality", "v_follow_up_queue", "v_follow_ups")

    def __init__(self) -> None:
        self.begin()

    def begin(self) -> None:
        # the batch's requests moved to another group: their group, written once (`_regroup`)
        self._groups: dict[str, str] = {}

    def flush(self, tx: Tx) -> None:
        self._regroup(tx)

    def _regroup(self, tx: Tx) -> None:
        """Writes the groups the batch moved requests to (before any read of the rows)."""
        update_rows(tx, "v_quality_tickets", ("group_id", "ticket_id"),
                    [(g, t) for t, g in self._groups.items()], key=("ticket_id",))  # fmt: skip
        self._groups = {}

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_quality_tickets (ticket_id TEXT PRIMARY KEY,"
            " number BIGINT NOT NULL, subject TEXT NOT NULL, group_id TEXT, resolver_id TEXT,"
            " resolved_at TEXT, rating INTEGER, rating_comment TEXT NOT NULL DEFAULT '',"
            " reviewed INTEGER NOT NULL DEFAULT 0, eligible INTEGER NOT NULL DEFAULT 0,"
            " sample_key TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_quality_tickets_sample"
            " ON v_quality_tickets (eligible, sample_key)",
            "CREATE INDEX IF NOT EXISTS v_quality_tickets_low"
            " ON v_quality_tickets (eligible, rating)",
            "CREATE TABLE IF NOT EXISTS v_quality (ticket_id TEXT PRIMARY KEY,"
            " reviewer_id TEXT NOT NULL, resolver_id TEXT, group_id TEXT,"
            " points INTEGER NOT NULL, max_points INTEGER NOT NULL, scores TEXT NOT NULL,"
            " comment TEXT NOT NULL, at TEXT NOT NULL, position BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_quality_resolver ON v_quality (resolver_id, position)",
            "CREATE INDEX IF NOT EXISTS v_quality_group ON v_quality (group_id)",
            "CREATE TABLE IF NOT EXISTS v_follow_up_queue (ticket_id TEXT NOT NULL,"
            " rated_version INTEGER NOT NULL, score INTEGER NOT NULL, position BIGINT NOT NULL,"
            " PRIMARY KEY (ticket_id, rated_version))",
            "CREATE INDEX IF NOT EXISTS v_follow_up_queue_position ON v_follow_up_queue (position)",
            "CREATE TABLE IF NOT EXISTS v_follow_ups (ticket_id TEXT NOT NULL,"
            " rated_version INTEGER NOT NULL, score INTEGER NOT NULL, group_id TEXT,"
            " number BIGINT NOT NULL, subject TEXT NOT NULL, comment TEXT NOT NULL,"
            " at TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, position BIGINT NOT NULL,"
            " PRIMARY KEY (ticket_id, rated_version))",
            "CREATE INDEX IF NOT EXISTS v_follow_ups_open ON v_follow_ups (done, position)",
        ]

    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        if event.kind is not TicketKind.REQUEST:
            return
        ticket = str(event.originator_id)
        tx.execute(
            "INSERT INTO v_quality_tickets (ticket_id, number, subject, sample_key)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (ticket_id) DO NOTHING",
            (ticket, event.number, event.subject, sample_key(ticket)),
        )

    @on(Ticket.Assigned, Ticket.Transferred, Ticket.Escalated)
    def moved(self, tx: Tx, event: Any, position: int) -> None:
        group = event.group_id if isinstance(event, Ticket.Assigned) else event.to_group_id
        if group is not None:  # the row is filed already (its INSERT queued before this)
            self._groups[str(event.originator_id)] = str(group)

    @on(Ticket.Resolved)
    def resolved(self, tx: Tx, event: Ticket.Resolved, position: int) -> None:
        tx.execute(
            "UPDATE v_quality_tickets SET resolver_id = %s, resolved_at = %s,"
            " eligible = 1 - reviewed WHERE ticket_id = %s",
            (str(event.by), event.timestamp.isoformat(), str(event.originator_id)),
        )

    @on(Ticket.Reopened)
    def reopened(self, tx: Tx, event: Ticket.Reopened, position: int) -> None:
        tx.execute("UPDATE v_quality_tickets SET eligible = 0, rating = NULL, rating_comment = ''"
                   " WHERE ticket_id = %s", (str(event.originator_id),))  # fmt: skip

    @on(Ticket.Rated)
    def rated(self, tx: Tx, event: Ticket.Rated, position: int) -> None:
        ticket = str(event.originator_id)
        tx.execute("UPDATE v_quality_tickets SET rating = %s, rating_comment = %s"
                   " WHERE ticket_id = %s", (event.score, event.comment, ticket))  # fmt: skip
        if event.score <= LOW_RATING:
            tx.execute(
                "INSERT INTO v_follow_up_queue (ticket_id, rated_version, score, position)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (ticket_id, rated_version) DO NOTHING",
                (ticket, event.originator_version, event.score, position),
            )

    @on(Ticket.FollowUpRaised)
    def follow_up(self, tx: Tx, event: Ticket.FollowUpRaised, position: int) -> None:
        ticket = str(event.originator_id)
        tx.execute("DELETE FROM v_follow_up_queue WHERE ticket_id = %s AND rated_version = %s",
                   (ticket, event.rated_version))  # fmt: skip
        self._regroup(tx)
        row = tx.one("SELECT number, subject, rating_comment FROM v_quality_tickets"
                     " WHERE ticket_id = %s", (ticket,))  # fmt: skip
        number, subject, comment = row if row else (0, "", "")
        tx.execute(
            "INSERT INTO v_follow_ups (ticket_id, rated_version, score, group_id, number,"
            " subject, comment, at, position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (ticket_id, rated_version) DO NOTHING",
            (ticket, event.rated_version, event.score,
             str(event.group_id) if event.group_id else None, number, subject, comment,
             event.timestamp.isoformat(), position),
        )  # fmt: skip

    @on(Ticket.FollowUpDone)
    def follow_up_done(self, tx: Tx, event: Ticket.FollowUpDone, position: int) -> None:
        tx.execute("UPDATE v_follow_ups SET done = 1 WHERE ticket_id = %s AND rated_version = %s",
                   (str(event.originator_id), event.rated_version))  # fmt: skip

    @on(Ticket.QualityReviewed)
    def reviewed(self, tx: Tx, event: Ticket.QualityReviewed, position: int) -> None:
        ticket = str(event.originator_id)
        tx.execute("UPDATE v_quality_tickets SET reviewed = 1, eligible = 0 WHERE ticket_id = %s",
                   (ticket,))  # fmt: skip
        self._regroup(tx)
        row = tx.one("SELECT resolver_id, group_id FROM v_quality_tickets WHERE ticket_id = %s",
                     (ticket,))  # fmt: skip
        resolver, group = row if row else (None, None)
        tx.execute(
            "INSERT INTO v_quality (ticket_id, reviewer_id, resolver_id, group_id, points,"
            " max_points, scores, comment, at, position)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (ticket_id) DO NOTHING",
            (ticket, str(event.by), resolver, group, event.points, event.max_points,
             orjson.dumps(dict(event.scores)).decode(), event.comment,
             event.timestamp.isoformat(), position),
        )  # fmt: skip


# -- queries ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    ticket_id: str
    number: int
    subject: str
    group_id: str | None
    resolver_id: str | None
    rating: int | None


@dataclass(frozen=True)
class Rollup:
    key: str | None  # the agent's or group's id
    points: int
    max_points: int
    count: int

    @property
    def share(self) -> Fraction:
        return Fraction(self.points, self.max_points) if self.max_points else Fraction(0)

    @property
    def percent(self) -> str:
        return f"{float(self.share * 100):.1f}"


@dataclass(frozen=True)
class Review:
    ticket_id: str
    number: int
    subject: str
    reviewer_id: str
    resolver_id: str | None
    group_id: str | None
    points: int
    max_points: int
    scores: dict[str, int]
    comment: str
    at: str

    @property
    def percent(self) -> str:
        return Rollup(None, self.points, self.max_points, 1).percent


_CANDIDATE = (
    "SELECT ticket_id, number, subject, group_id, resolver_id, rating FROM v_quality_tickets"
)


def sample(tx: Tx, day: date, size: int = 20) -> list[Candidate]:
    """Resolved requests not yet reviewed: low-rated first (worst first), then a random sample
    that is the same all day (a window on a fixed hash order, starting at the day's hash)."""
    low = tx.all(f"{_CANDIDATE} WHERE eligible = 1 AND rating <= %s"
                 " ORDER BY rating, number LIMIT %s", (LOW_RATING, size))  # fmt: skip
    seed = hashlib.sha256(day.isoformat().encode()).hexdigest()
    taken = {r[0] for r in low}
    rest: list[Any] = []
    for cond in ("sample_key >= %s", "sample_key < %s"):
        if len(taken) + len(rest) >= size:
            break
        rows = tx.all(f"{_CANDIDATE} WHERE eligible = 1 AND {cond} ORDER BY sample_key"
                      " LIMIT %s", (seed, size + len(taken)))  # fmt: skip
        rest += [r for r in rows if r[0] not in taken and r not in rest]
    rows = (low + rest)[:size]
    return [Candidate(r[0], int(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


def rollups(tx: Tx, by: str) -> list[Rollup]:
    """Per agent (`resolver_id`) or group (`group_id`): summed points over summed maxima."""
    assert by in ("resolver_id", "group_id")
    rows = tx.all(f"SELECT {by}, SUM(points), SUM(max_points), COUNT(*) FROM v_quality"
                  f" GROUP BY {by} ORDER BY {by}")  # fmt: skip
    return [Rollup(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]


def reviews(tx: Tx, resolver_id: str | None = None, limit: int = 100) -> list[Review]:
    where, params = ("WHERE q.resolver_id = %s", (resolver_id,)) if resolver_id else ("", ())
    rows = tx.all(
        "SELECT q.ticket_id, t.number, t.subject, q.reviewer_id, q.resolver_id, q.group_id,"
        " q.points, q.max_points, q.scores, q.comment, q.at FROM v_quality q"
        f" JOIN v_quality_tickets t ON t.ticket_id = q.ticket_id {where}"
        " ORDER BY q.position DESC LIMIT %s",
        (*params, limit),
    )
    return [Review(r[0], int(r[1]), r[2], r[3], r[4], r[5], int(r[6]), int(r[7]),
                   orjson.loads(r[8]), r[9], r[10]) for r in rows]  # fmt: skip


def agent_rollup(tx: Tx, resolver_id: str) -> Rollup:
    row = tx.one("SELECT SUM(points), SUM(max_points), COUNT(*) FROM v_quality"
                 " WHERE resolver_id = %s", (resolver_id,))  # fmt: skip
    if not row or not row[2]:
        return Rollup(resolver_id, 0, 0, 0)
    return Rollup(resolver_id, int(row[0]), int(row[1]), int(row[2]))


@dataclass(frozen=True)
class FollowUp:
    ticket_id: str
    rated_version: int
    score: int
    group_id: str | None
    number: int
    subject: str
    comment: str
    at: str


def follow_ups(tx: Tx, group_ids: list[str] | None = None, limit: int = 100) -> list[FollowUp]:
    """Open follow-ups, newest first: all of them (group_ids None) or those of these groups."""
    where, params = "", ()  # type: tuple[str, tuple[Any, ...]]
    if group_ids is not None:
        if not group_ids:
            return []
        where = f" AND group_id IN ({', '.join(['%s'] * len(group_ids))})"
        params = tuple(group_ids)
    rows = tx.all(
        "SELECT ticket_id, rated_version, score, group_id, number, subject, comment, at"
        f" FROM v_follow_ups WHERE done = 0{where} ORDER BY position DESC LIMIT %s",
        (*params, limit),
    )
    return [FollowUp(r[0], int(r[1]), int(r[2]), r[3], int(r[4]), r[5], r[6], r[7]) for r in rows]


def follow_up_queue(tx: Tx, limit: int = 200) -> list[tuple[UUID, int, int]]:
    """Low ratings waiting for their follow-up, oldest first: (ticket, rated version, score)."""
    rows = tx.all("SELECT ticket_id, rated_version, score FROM v_follow_up_queue"
                  " ORDER BY position LIMIT %s", (limit,))  # fmt: skip
    return [(UUID(r[0]), int(r[1]), int(r[2])) for r in rows]
