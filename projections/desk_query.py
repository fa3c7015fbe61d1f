"""The desk's filtered list (issue 18): a `QueueFilter` (domain/queue_filter.py) and what the
viewer may see (domain/access.py `requests_seen`) as one parameterised query over the tickets
view, keyset-paginated in the chosen order, and counted for the saved views' live counts.

Every sort ends on the ticket's number, so the key of the last row shown is where the next page
starts (`after`: "<sort value>~<number>"): no OFFSET, and a row moved meanwhile is neither shown
twice nor skipped. The filters the desk uses most lead an index (projections/tickets.py `ddl`):
status, line, group, assignee, category, organisation, channel, filing date, and each sort's
key (number, priority's rank, last activity); the SLA state and deadline join the SLA view by
its key. The SQL is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.access import Seen
from domain.queue_filter import ME, NOBODY, QueueFilter
from projections.db import Tx
from projections.queues import TicketRow
from projections.tickets import COLUMNS, PRIORITY_RANK

# the deadline the list's SLA column shows: the first response's until it is given
_DUE = "(CASE WHEN s.answered_at IS NULL AND s.fr_due IS NOT NULL THEN s.fr_due ELSE s.res_due END)"
_FIRED = "((s.answered_at IS NULL AND s.fired LIKE %s) OR s.fired LIKE %s)"
# (key expression, descending?, the key's type in a cursor)
SORT_KEYS: dict[str, tuple[str, bool, type]] = {
    "newest": ("t.number", True, int),
    "oldest": ("t.number", False, int),
    "priority": (PRIORITY_RANK.replace("priority", "t.priority"), False, int),  # most urgent
    "sla": (f"COALESCE({_DUE}, '9999')", False, str),  # the nearest deadline first
    "activity": ("t.updated_at", True, str),  # the latest change first
}
HAS_TAGS = "tags" in COLUMNS  # the tags column (another change of issue 18)


@dataclass(frozen=True)
class DeskPage:
    rows: list[TicketRow]
    after: str | None  # the next page's `after`; None on the last page


def _in(column: str, values: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", tuple(values)


def _where(seen: Seen, f: QueueFilter, me: UUID | None, now: datetime
           ) -> tuple[list[str], list[Any], bool]:  # fmt: skip
    """The conditions, their parameters, and whether they need the SLA view."""
    where: list[str] = []
    params: list[Any] = []

    def add(clause: str, values: tuple[Any, ...] | list[Any] = ()) -> None:
        where.append(clause)
        params.extend(values)

    if not seen.everything:  # exactly `may_see`, for one who is not staff
        if seen.ticket_id is not None:
            add("t.id = %s", [str(seen.ticket_id)])
        else:
            mine = ["t.requester_id = %s"] if seen.requester_id else []
            mine += ["t.organisation_id = %s"] if seen.organisation_id else []
            ids = [str(i) for i in (seen.requester_id, seen.organisation_id) if i]
            add(f"({' OR '.join(mine)})" if mine else "1 = 0", ids)
    for column, values in (("t.status", f.statuses), ("t.line", f.line), ("t.group_id", f.group),
                           ("t.category_id", f.category), ("t.priority", f.priority),
                           ("t.organisation_id", f.org), ("t.channel", f.channel)):  # fmt: skip
        if values:
            add(*_in(column, tuple(values)))
    if f.assignee:
        people = tuple(str(me) if a == ME else a for a in f.assignee if a != NOBODY)
        either = [_in("t.assignee_id", people)] if people else []
        either += [("t.assignee_id IS NULL", ())] if NOBODY in f.assignee else []
        add(f"({' OR '.join(c for c, _ in either)})", [v for _, vs in either for v in vs])
    if f.tag and HAS_TAGS:  # one row per tag, by its key (tag, number)
        clause, values = _in("tag", f.tag)
        add(f"t.id IN (SELECT ticket_id FROM v_ticket_tags WHERE {clause})", values)
    if f.since():
        add("t.filed_at >= %s", [f.since()])
    if f.until():
        add("t.filed_at < %s", [f.until()])
    sla = bool(f.sla) or f.sort == "sla"
    if f.sla:
        stamp = now.astimezone(UTC).isoformat(timespec="microseconds")
        breached = (f"({_DUE} <= %s OR {_FIRED})",
                    [stamp, "%first_response_breach%", "%resolution_breach%"])  # fmt: skip
        warned = (_FIRED, ["%first_response_warning%", "%resolution_warning%"])
        states: list[tuple[str, list[Any]]] = []
        for state in f.sla:
            if state == "none":
                states.append(("s.policy_id IS NULL", []))
            elif state == "breached":
                states.append((f"(s.policy_id IS NOT NULL AND {breached[0]})", breached[1]))
            elif state == "at_risk":
                states.append((f"(s.policy_id IS NOT NULL AND NOT {breached[0]} AND {warned[0]})",
                               breached[1] + warned[1]))  # fmt: skip
            else:  # ok
                states.append((f"(s.policy_id IS NOT NULL AND NOT {breached[0]}"
                               f" AND NOT {warned[0]})", breached[1] + warned[1]))  # fmt: skip
        add(f"({' OR '.join(c for c, _ in states)})", [v for _, vs in states for v in vs])
    return where, params, sla


def _from(sla: bool) -> str:
    join = " LEFT JOIN v_sla s ON s.ticket_id = t.id" if sla else ""
    return f"FROM v_tickets t{join}"


def find(tx: Tx, seen: Seen, f: QueueFilter, me: UUID | None, after: str | None = None,
         limit: int = 50, now: datetime | None = None) -> DeskPage:  # fmt: skip
    """One page of the requests the filter names that the viewer may see, in its order."""
    limit = max(1, min(limit, 200))
    where, params, sla = _where(seen, f, me, now or datetime.now(UTC))
    key, descending, kind = SORT_KEYS[f.sort]
    cursor = _cursor(after, kind)
    if cursor is not None:
        where.append(f"({key}, t.number) {'<' if descending else '>'} (%s, %s)")
        params.extend(cursor)
    order = "DESC" if descending else "ASC"
    columns = ", ".join(f"t.{c}" for c in COLUMNS)
    condition = " AND ".join(where) or "1 = 1"
    rows = tx.all(
        f"SELECT {columns}, {key} {_from(sla)} WHERE {condition}"
        f" ORDER BY {key} {order}, t.number {order} LIMIT %s",
        (*params, limit + 1),
    )
    shown = rows[:limit]
    items = [TicketRow(*r[: len(COLUMNS)]) for r in shown]
    more = len(rows) > limit and shown
    return DeskPage(items, f"{shown[-1][-1]}~{shown[-1][1]}" if more else None)


def count(tx: Tx, seen: Seen, f: QueueFilter, me: UUID | None,
          now: datetime | None = None) -> int:  # fmt: skip
    """How many requests the filter names that the viewer may see."""
    where, params, sla = _where(seen, f, me, now or datetime.now(UTC))
    sla = bool(f.sla)  # the order does not count
    condition = " AND ".join(where) or "1 = 1"
    row = tx.one(f"SELECT COUNT(*) {_from(sla)} WHERE {condition}", tuple(params))
    return int(row[0]) if row else 0


def _cursor(after: str | None, kind: type) -> tuple[Any, int] | None:
    """The (sort value, number) a page's `after` names; None when absent or not one."""
    if not after:
        return None
    value, _, number = after[:120].rpartition("~")
    if not number.isdigit():
        return None
    try:
        return (kind(value), int(number))
    except ValueError:
        return None


def explain(tx: Tx, seen: Seen, f: QueueFilter, me: UUID | None) -> list[str]:
    """PostgreSQL's plan of a page's query (for the tests that forbid full-table scans)."""
    where, params, sla = _where(seen, f, me, datetime.now(UTC))
    key, descending, _ = SORT_KEYS[f.sort]
    order = "DESC" if descending else "ASC"
    condition = " AND ".join(where) or "1 = 1"
    rows = tx.all(
        f"EXPLAIN SELECT t.id, {key} {_from(sla)} WHERE {condition}"
        f" ORDER BY {key} {order}, t.number {order} LIMIT 51",
        tuple(params),
    )
    return [str(r[0]) for r in rows]
