"""Queue queries over the tickets view: keyset-paginated lists and live counts.

Every list is ordered by ticket number and continues after the last number seen (no OFFSET),
each backed by an index whose leading columns match its filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.access import Actor
from domain.ticket import Status, TicketKind
from projections.db import Tx
from projections.tickets import COLUMNS, OPEN_STATUSES


@dataclass(frozen=True)
class TicketRow:
    id: str
    number: int
    subject: str
    status: str
    priority: str
    line: int
    group_id: str | None
    assignee_id: str | None
    requester_id: str | None
    organisation_id: str | None
    category_id: str
    channel: str
    contact_name: str
    filed_at: str
    updated_at: str
    version: int
    kind: str
    tags: str = ""  # the staff's tags, separated by spaces (projections/tickets.py)


@dataclass(frozen=True)
class Page:
    rows: list[TicketRow]
    next_after: int | None  # pass as `after` for the next page; None when this is the last


_SELECT = f"SELECT {', '.join(COLUMNS)} FROM v_tickets"


def _page(tx: Tx, where: str, params: tuple[Any, ...], after: int | None, limit: int,
          newest_first: bool = False) -> Page:  # fmt: skip
    limit = max(1, min(limit, 200))
    if after is not None:
        where += " AND number < %s" if newest_first else " AND number > %s"
        params = (*params, after)
    order = "DESC" if newest_first else "ASC"
    rows = tx.all(f"{_SELECT} WHERE {where} ORDER BY number {order} LIMIT %s", (*params, limit + 1))
    items = [TicketRow(*r) for r in rows[:limit]]
    return Page(items, items[-1].number if len(rows) > limit else None)


def _open(column: str) -> str:
    marks = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    return f"{column} AND status IN ({marks})"


def for_group(tx: Tx, group_id: UUID, after: int | None = None, limit: int = 50) -> Page:
    """Open tickets of a group, oldest first."""
    return _page(tx, _open("group_id = %s"), (str(group_id),), after, limit)


def for_assignee(tx: Tx, agent_id: UUID, after: int | None = None, limit: int = 50) -> Page:
    return _page(tx, _open("assignee_id = %s"), (str(agent_id),), after, limit)


def unassigned(tx: Tx, group_id: UUID, after: int | None = None, limit: int = 50) -> Page:
    return _page(tx, _open("group_id = %s AND assignee_id IS NULL"), (str(group_id),), after,
                 limit)  # fmt: skip


def waiting(tx: Tx, group_id: UUID, after: int | None = None, limit: int = 50) -> Page:
    """Tickets of a group waiting for the requester."""
    return _page(tx, "group_id = %s AND status = %s", (str(group_id), Status.WAITING.value),
                 after, limit)  # fmt: skip


_MENTIONED = "id IN (SELECT ticket_id FROM v_ticket_mentions WHERE account_id = %s)"


def mentioning(tx: Tx, account_id: UUID, after: int | None = None, limit: int = 50) -> Page:
    """Open requests whose internal notes mentioned the account (issue 16: his "Mentioned me"
    queue, the requests other lines consult him on), oldest first."""
    return _page(tx, _open(_MENTIONED), (str(account_id),), after, limit)


def mentioning_count(tx: Tx, account_id: UUID) -> int:
    """How many open requests are in his "Mentioned me" queue."""
    row = tx.one(f"SELECT COUNT(*) FROM v_tickets WHERE {_open(_MENTIONED)}", (str(account_id),))
    return int(row[0]) if row else 0


def mentioned_on(tx: Tx, ticket_id: str) -> list[str]:
    """The accounts the request's internal notes have mentioned (staff only; for the
    notifications and the ticket page)."""
    rows = tx.all("SELECT account_id FROM v_ticket_mentions WHERE ticket_id = %s"
                  " ORDER BY position, account_id", (ticket_id,))  # fmt: skip
    return [str(r[0]) for r in rows]


def for_line(tx: Tx, line: int, after: int | None = None, limit: int = 50) -> Page:
    """Open requests on a support line, oldest first (knowledge gaps are the methodologists'
    own queue, kb_queries.open_gaps)."""
    return _page(tx, _open("line = %s AND kind = %s"), (line, TicketKind.REQUEST.value), after,
                 limit)  # fmt: skip


def by_line(tx: Tx, line: int, status: Status, after: int | None = None, limit: int = 50) -> Page:
    return _page(tx, "line = %s AND status = %s", (line, status.value), after, limit)


def requested_by(tx: Tx, actor: Actor, after: int | None = None, limit: int = 50) -> Page:
    """The requester's own requests, newest first."""
    return _page(tx, "requester_id = %s", (str(actor.id),), after, limit, newest_first=True)


def of_organisation(tx: Tx, actor: Actor, after: int | None = None, limit: int = 50) -> Page:
    """His organisation's requests, newest first (a requester sees his colleagues' requests)."""
    if actor.organisation_id is None:
        return Page([], None)
    return _page(tx, "organisation_id = %s", (str(actor.organisation_id),), after, limit,
                 newest_first=True)  # fmt: skip


def ticket_row(tx: Tx, ticket_id: str) -> TicketRow | None:
    row = tx.one(f"{_SELECT} WHERE id = %s", (ticket_id,))
    return TicketRow(*row) if row else None


def ticket_id_by_number(tx: Tx, number: int) -> str | None:
    row = tx.one("SELECT id FROM v_tickets WHERE number = %s", (number,))
    return str(row[0]) if row else None


def rows_in_order(tx: Tx, ids: list[str], numbered: int | None) -> list[TicketRow]:
    """The rows of these tickets in their order (one query), after the one numbered as asked
    (a search for a number shows that request first)."""
    first = []
    if numbered is not None:
        first = [TicketRow(*r) for r in tx.all(f"{_SELECT} WHERE number = %s", (numbered,))]
    wanted = [i for i in ids if i not in {r.id for r in first}]
    found: dict[str, TicketRow] = {}
    if wanted:
        marks = ", ".join(["%s"] * len(wanted))
        rows = tx.all(f"{_SELECT} WHERE id IN ({marks})", tuple(wanted))
        found = {r[0]: TicketRow(*r) for r in rows}
    return first + [found[i] for i in wanted if i in found]


def counts(tx: Tx, queues: list[str]) -> dict[str, int]:
    """Live counts of the named queues (keys as in tickets.Shadow.queues), 0 when empty."""
    if not queues:
        return {}
    marks = ", ".join(["%s"] * len(queues))
    found: dict[str, int] = dict(
        tx.all(f"SELECT queue, count FROM v_queue_counts WHERE queue IN ({marks})", tuple(queues))
    )
    return {q: int(found.get(q, 0)) for q in queues}
