"""The activity stream (issue 18): who did what to which request, as it happened, filterable by
the request's line, group and category at that moment and by the kind of change.

`v_activity` has one row per ticket event (its log position, the request, the event's class
name, when, who did it, and the request's line, group and category once the event applied);
each filter has its index ending in the position, so a filtered page of the newest changes is
an index range read backwards, never a scan. `v_activity_tickets` keeps what the rows need of
each request (number, subject, its line, group and category as they stand), so the view reads
no other view's tables and can be rebuilt alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.ticket import Ticket
from projections.base import View, on, select_in
from projections.db import Tx, insert_rows
from projections.tickets import CHANGES

LINES = (1, 2, 3)
ROW_COLUMNS = ("position", "ticket_id", "version", "event", "at", "actor_id", "line", "group_id",
               "category_id")  # fmt: skip


@dataclass
class _Request:
    number: int
    subject: str
    line: int
    group_id: str | None
    category_id: str


def _actor(event: Any) -> str | None:
    """Who did it: the event's `by`; a request's filing: who raised or registered it, else its
    requester; None: the system, or an anonymous requester."""
    if isinstance(event, Ticket.Filed):
        who = event.raised_by or event.requester_id
    else:
        who = getattr(event, "by", None)
    return str(who) if isinstance(who, UUID) else None


class ActivityView(View):
    """Buffers a batch: its rows are inserted together, each request's state written once."""

    name = "activity"
    tables = ("v_activity", "v_activity_tickets")

    def __init__(self) -> None:
        self.begin()

    def begin(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self._requests: dict[str, _Request] = {}
        self._changed: set[str] = set()
        self._new: set[str] = set()

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_activity (position BIGINT PRIMARY KEY,"
            " ticket_id TEXT NOT NULL, version INTEGER NOT NULL, event TEXT NOT NULL,"
            " at TEXT NOT NULL, actor_id TEXT, line INTEGER NOT NULL, group_id TEXT,"
            " category_id TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_activity_event ON v_activity (event, position)",
            "CREATE INDEX IF NOT EXISTS v_activity_line ON v_activity (line, position)",
            "CREATE INDEX IF NOT EXISTS v_activity_group ON v_activity (group_id, position)",
            "CREATE INDEX IF NOT EXISTS v_activity_category ON v_activity (category_id, position)",
            "CREATE TABLE IF NOT EXISTS v_activity_tickets (ticket_id TEXT PRIMARY KEY,"
            " number BIGINT NOT NULL, subject TEXT NOT NULL, line INTEGER NOT NULL,"
            " group_id TEXT, category_id TEXT NOT NULL)",
        ]

    def _row(self, event: Any, position: int, r: _Request) -> None:
        self._rows.append((position, str(event.originator_id), event.originator_version,
                           type(event).__name__, event.timestamp.isoformat(), _actor(event),
                           r.line, r.group_id, r.category_id))  # fmt: skip

    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        ticket = str(event.originator_id)
        r = _Request(event.number, event.subject, 1, None, str(event.category_id))
        self._requests[ticket] = r
        self._new.add(ticket)
        self._row(event, position, r)

    @on(*CHANGES)
    def changed(self, tx: Tx, event: Any, position: int) -> None:
        ticket = str(event.originator_id)
        r = self._requests.get(ticket)
        if r is None:
            row = tx.one("SELECT number, subject, line, group_id, category_id"
                         " FROM v_activity_tickets WHERE ticket_id = %s", (ticket,))  # fmt: skip
            if row is None:
                raise LookupError(f"ticket {ticket} changed before it was filed")
            r = self._requests[ticket] = _Request(int(row[0]), row[1], int(row[2]), row[3], row[4])
        if isinstance(event, Ticket.Assigned):
            r.group_id = str(event.group_id) if event.group_id else r.group_id
        elif isinstance(event, Ticket.Transferred):
            r.group_id = str(event.to_group_id)
        elif isinstance(event, Ticket.Escalated):
            r.line, r.group_id = event.to_line, str(event.to_group_id)
        elif isinstance(event, Ticket.CategoryChanged):
            r.category_id = str(event.category_id)
        self._changed.add(ticket)
        self._row(event, position, r)

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """The stored requests this batch changes (not those it files), in one query."""
        filed = {e.originator_id for _, e in events if type(e) is Ticket.Filed}
        wanted = {str(e.originator_id) for _, e in events
                  if type(e) is not Ticket.Filed and e.originator_id not in filed}  # fmt: skip
        sql = ("SELECT ticket_id, number, subject, line, group_id, category_id"
               " FROM v_activity_tickets WHERE ticket_id {keys}")  # fmt: skip
        for t, number, subject, line, group, category in select_in(tx, sql, wanted):
            self._requests[str(t)] = _Request(int(number), subject, int(line), group, category)

    def flush(self, tx: Tx) -> None:
        insert_rows(tx, "v_activity", ROW_COLUMNS, self._rows)
        moved = self._new | self._changed
        states = [(t, r.number, r.subject, r.line, r.group_id, r.category_id)
                  for t, r in self._requests.items() if t in moved]  # fmt: skip
        insert_rows(
            tx,
            "v_activity_tickets",
            ("ticket_id", "number", "subject", "line", "group_id", "category_id"),
            states,
            conflict="ON CONFLICT (ticket_id) DO UPDATE SET line = excluded.line,"
            " group_id = excluded.group_id, category_id = excluded.category_id",
        )
        self.begin()


# -- queries -------------------------------------------------------------------------------------
EVENTS = ("Filed", *(c.__name__ for c in CHANGES))  # every kind of change, by its class name


class BadFilter(ValueError):
    """A filter the stream cannot apply: (the parameter, what to fix)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Filters:
    """The stream's filters, validated (None: any)."""

    line: int | None = None
    group_id: str | None = None
    category_id: str | None = None
    event: str | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.line, self.group_id, self.category_id, self.event))


def _uuid(field: str, value: str, message: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise BadFilter(field, message) from None


def filters(params: Any) -> Filters:
    """Parses `line`, `group`, `category` and `event` (empty: any); refuses what is not one,
    naming the parameter."""
    line = (params.get("line") or "").strip()[:8]
    group = (params.get("group") or "").strip()[:64]
    category = (params.get("category") or "").strip()[:64]
    event = (params.get("event") or "").strip()[:64]
    if line and (not line.isdigit() or int(line) not in LINES):
        raise BadFilter("line", "Choose line 1, 2 or 3.")
    if event and event not in EVENTS:
        raise BadFilter("event", "Choose a kind of change from the list.")
    return Filters(
        line=int(line) if line else None,
        group_id=_uuid("group", group, "Choose a group from the list.") if group else None,
        category_id=(
            _uuid("category", category, "Choose a category from the list.") if category else None
        ),
        event=event or None,
    )


@dataclass(frozen=True)
class Change:
    """One line of the stream."""

    position: int
    ticket_id: str
    number: int
    subject: str
    event: str
    at: str
    actor_id: str | None
    line: int
    group_id: str | None
    category_id: str


def _query(
    f: Filters, before: int | None, after: int | None, limit: int
) -> tuple[str, tuple[Any, ...]]:
    where, params = [], []  # type: tuple[list[str], list[Any]]
    for column, value in (("a.line", f.line), ("a.group_id", f.group_id),
                          ("a.category_id", f.category_id), ("a.event", f.event)):  # fmt: skip
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if before is not None:
        where.append("a.position < %s")
        params.append(before)
    if after is not None:
        where.append("a.position > %s")
        params.append(after)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sql = (
        "SELECT a.position, a.ticket_id, t.number, t.subject, a.event, a.at, a.actor_id, a.line,"
        " a.group_id, a.category_id FROM v_activity a"
        f" JOIN v_activity_tickets t ON t.ticket_id = a.ticket_id{clause}"
        " ORDER BY a.position DESC LIMIT %s"
    )
    return sql, (*params, limit)


def stream(
    tx: Tx, f: Filters, *, before: int | None = None, after: int | None = None, limit: int = 50
) -> list[Change]:
    """The newest changes matching the filters, newest first: below `before` (older pages) or
    above `after` (what is new since a page was shown)."""
    sql, params = _query(f, before, after, limit)
    rows = tx.all(sql, params)
    return [Change(int(r[0]), r[1], int(r[2]), r[3], r[4], r[5], r[6], int(r[7]), r[8], r[9])
            for r in rows]  # fmt: skip


def explain(tx: Tx, f: Filters, before: int | None = None) -> list[str]:
    """PostgreSQL's plan for a page of the stream (the tests check it reads an index)."""
    sql, params = _query(f, before, None, 50)
    return [str(r[0]) for r in tx.all(f"EXPLAIN {sql}", params)]
