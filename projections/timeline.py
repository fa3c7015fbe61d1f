"""The ticket timeline: every event of a ticket in order, with what a requester may see decided.

`data` holds the event's values for staff; `public` holds what the requester sees (redacted
where the policy says so), or NULL when the event is internal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from decimal import Decimal
from typing import Any

import orjson

from domain.access import Actor, visible_data
from domain.people import Role
from domain.ticket import Ticket
from projections.base import View, on
from projections.db import Tx, insert_rows

TICKET_EVENTS = tuple(
    c
    for c in vars(Ticket).values()
    if isinstance(c, type)
    and issubclass(c, Ticket.Event)
    and c.__name__ not in ("Event", "Created")
)
REQUESTER = Actor(id=None, roles=frozenset({Role.REQUESTER}))
ROW_COLUMNS = ("ticket_id", "version", "position", "at", "event", "actor_id", "data", "public")
_SKIP = ("originator_id", "originator_version", "timestamp", "chain", "originator_topic")


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    raise TypeError(type(obj).__name__)


def to_json(data: dict[str, Any]) -> str:
    return orjson.dumps(data, default=_default).decode()


@dataclass(frozen=True)
class Entry:
    """One event of a ticket as the reader may see it."""

    version: int
    position: int
    at: str
    event: str
    actor_id: str | None
    internal: bool
    data: dict[str, Any]


class TimelineView(View):
    """Buffers a batch's entries and inserts them together."""

    name = "timeline"
    tables = ("v_timeline",)
    shape = 2  # 2: a requester's Filed entry without the link's key hash and the priority

    def __init__(self) -> None:
        self.begin()

    def begin(self) -> None:
        self._rows: list[tuple[Any, ...]] = []

    def flush(self, tx: Tx) -> None:
        insert_rows(tx, "v_timeline", ROW_COLUMNS, self._rows)
        self.begin()

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_timeline (ticket_id TEXT NOT NULL,"
            " version INTEGER NOT NULL, position BIGINT NOT NULL, at TEXT NOT NULL,"
            " event TEXT NOT NULL, actor_id TEXT, data TEXT NOT NULL, public TEXT,"
            " PRIMARY KEY (ticket_id, version))"
        ]

    @on(*TICKET_EVENTS)
    def recorded(self, tx: Tx, event: Any, position: int) -> None:
        data = {k: v for k, v in vars(event).items() if k not in _SKIP}
        name = type(event).__name__
        public = visible_data(REQUESTER, name, data)
        by = data.get("by")
        self._rows.append((
            str(event.originator_id), event.originator_version, position,
            event.timestamp.isoformat(), name, str(by) if by else None, to_json(data),
            None if public is None else to_json(public),
        ))  # fmt: skip


def _select(staff: bool) -> str:
    """The columns of an `Entry` as the reader may see it, and the rows he may see at all."""
    column = "data" if staff else "public"
    shown = "" if staff else " AND public IS NOT NULL"
    return (f"SELECT version, position, at, event, actor_id, {column}, public IS NULL"
            f" FROM v_timeline WHERE ticket_id = %s{shown}")  # fmt: skip


def _entries(rows: list[Any], staff: bool) -> list[Entry]:
    entries = []
    for r in rows:
        data = orjson.loads(r[5])
        actor = r[4] if staff or "by" in data else None  # a redacted event names nobody
        entries.append(Entry(r[0], r[1], r[2], r[3], actor, bool(r[6]), data))
    return entries


def timeline(tx: Tx, ticket_id: str, *, staff: bool, after_version: int = 0,
             limit: int | None = None) -> list[Entry]:  # fmt: skip
    """The ticket's events in order after `after_version` (the first `limit` of them): all of
    them for staff, the public ones for requesters."""
    rows = tx.all(f"{_select(staff)} AND version > %s ORDER BY version"
                  f"{'' if limit is None else ' LIMIT %s'}",
                  (ticket_id, after_version, *(() if limit is None else (limit,))))  # fmt: skip
    return _entries(rows, staff)


def newest(tx: Tx, ticket_id: str, *, staff: bool, limit: int,
           before: int | None = None) -> list[Entry]:  # fmt: skip
    """The ticket's last `limit` entries the reader may see (below version `before`, when
    given), oldest first: a page shows these and loads earlier ones on demand."""
    below = "" if before is None else " AND version < %s"
    rows = tx.all(f"{_select(staff)}{below} ORDER BY version DESC LIMIT %s",
                  (ticket_id, *(() if before is None else (before,)), limit))  # fmt: skip
    return _entries(rows[::-1], staff)


def count_before(tx: Tx, ticket_id: str, version: int, *, staff: bool) -> int:
    """How many entries the reader may see below `version`."""
    shown = "" if staff else " AND public IS NOT NULL"
    row = tx.one(f"SELECT COUNT(*) FROM v_timeline WHERE ticket_id = %s AND version < %s{shown}",
                 (ticket_id, version))  # fmt: skip
    return int(row[0]) if row else 0


def last_of(tx: Tx, ticket_id: str, event: str, before: int, *, staff: bool) -> Entry | None:
    """The reader's last entry of kind `event` below version `before` (an earlier page's)."""
    rows = tx.all(f"{_select(staff)} AND event = %s AND version < %s ORDER BY version DESC"
                  " LIMIT 1", (ticket_id, event, before))  # fmt: skip
    found = _entries(rows, staff)
    return found[0] if found else None


def last_version(tx: Tx, ticket_id: str) -> int | None:
    """The ticket's last version the timeline holds (None before its first event arrives)."""
    row = tx.one("SELECT MAX(version) FROM v_timeline WHERE ticket_id = %s", (ticket_id,))
    return int(row[0]) if row and row[0] is not None else None


@dataclass(frozen=True)
class Changes:
    """What the timeline holds after a version: the last version, and how many are public."""

    last: int | None
    public: int


def changes_after(tx: Tx, ticket_id: str, version: int) -> Changes:
    row = tx.one(
        "SELECT MAX(version), COUNT(public) FROM v_timeline WHERE ticket_id = %s AND version > %s",
        (ticket_id, version),
    )
    if row is None:
        return Changes(None, 0)
    return Changes(int(row[0]) if row[0] is not None else None, int(row[1]))


def times_of(tx: Tx, changes: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """When each (ticket, version) happened: one query over the timeline's primary key."""
    if not changes:
        return {}
    where = " OR ".join(["(ticket_id = %s AND version = %s)"] * len(changes))
    rows = tx.all(f"SELECT ticket_id, version, at FROM v_timeline WHERE {where}",
                  tuple(v for pair in changes for v in pair))  # fmt: skip
    return {(r[0], r[1]): r[2] for r in rows}
