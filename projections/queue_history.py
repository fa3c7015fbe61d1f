"""Queues as they were: each request's queue-relevant state (status, priority, line, group,
assignee) as intervals of time, so an auditor can see any queue exactly as it stood at a moment.

A row is written only when one of those attributes changes; the interval it closes ends at the
moment of the change. The state after each event comes from the domain's own `apply` methods on
a row shadow, exactly as the tickets view computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.ticket import Ticket
from projections.base import View, on, select_in
from projections.db import Tx, insert_rows, update_rows
from projections.queues import TicketRow
from projections.sla import stamp
from projections.tickets import OPEN_STATUSES, Shadow, _Applied

TRACKED = ("status", "priority", "line", "group_id", "assignee_id")
STATE_COLUMNS = (
    "ticket_id",
    "version",
    "valid_from",
    "valid_to",
    "number",
    "subject",
    "status",
    "priority",
    "line",
    "group_id",
    "assignee_id",
    "kind",
)


@dataclass
class State:
    shadow: Shadow
    version: int  # the version whose interval is open (its row's key)
    valid_from: str
    new: bool = False  # not yet in the table


class QueueHistoryView(View):
    name = "queue_history"
    tables = ("v_ticket_states",)

    def __init__(self) -> None:
        self.begin()

    def begin(self) -> None:
        self._open: dict[str, State] = {}  # this batch's tickets: their open interval
        self._rows: dict[tuple[str, int], tuple[Any, ...]] = {}  # intervals to insert, by key
        self._closed: list[tuple[str, str, int]] = []  # (valid_to, ticket, version) to close

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_ticket_states (ticket_id TEXT NOT NULL,"
            " version INTEGER NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT,"
            " number BIGINT NOT NULL, subject TEXT NOT NULL, status TEXT NOT NULL,"
            " priority TEXT NOT NULL, line INTEGER NOT NULL, group_id TEXT, assignee_id TEXT,"
            " kind TEXT NOT NULL, PRIMARY KEY (ticket_id, version))",
            "CREATE INDEX IF NOT EXISTS v_ticket_states_group"
            " ON v_ticket_states (group_id, valid_from)",
            "CREATE INDEX IF NOT EXISTS v_ticket_states_assignee"
            " ON v_ticket_states (assignee_id, valid_from)",
            "CREATE INDEX IF NOT EXISTS v_ticket_states_line ON v_ticket_states (line, valid_from)",
            "CREATE INDEX IF NOT EXISTS v_ticket_states_kind ON v_ticket_states (kind, valid_from)",
        ]

    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        shadow = Shadow(
            id=str(event.originator_id),
            number=event.number,
            subject=event.subject,
            priority=event.priority.value,
            kind=event.kind.value,
        )
        state = State(shadow, event.originator_version, stamp(event.timestamp) or "", new=True)
        self._open[shadow.id] = state
        self._rows[(shadow.id, state.version)] = _row(state)

    @on(
        Ticket.Assigned,
        Ticket.Transferred,
        Ticket.Escalated,
        Ticket.PriorityChanged,
        Ticket.InformationRequested,
        Ticket.InformationProvided,
        Ticket.RequesterWrote,
        Ticket.Resolved,
        Ticket.Reopened,
        Ticket.Closed,
    )
    def changed(self, tx: Tx, event: Any, position: int) -> None:
        ticket = str(event.originator_id)
        state = self._open.get(ticket) or self._load(tx, ticket)
        if state is None:
            return
        after = state.shadow.copy()
        applied = _Applied(after)
        event.apply(applied)
        applied.into(after)
        if all(getattr(after, a) == getattr(state.shadow, a) for a in TRACKED):
            return
        moment = stamp(event.timestamp) or ""
        if state.new:  # opened in this batch: close its row before it is written
            r = self._rows[(ticket, state.version)]
            self._rows[(ticket, state.version)] = (*r[:3], moment, *r[4:])
        else:
            self._closed.append((moment, ticket, state.version))
        new = State(after, event.originator_version, moment, new=True)
        self._open[ticket] = new
        self._rows[(ticket, new.version)] = _row(new)

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """The open intervals of the tickets this batch changes (not those it files), at once."""
        filed = {e.originator_id for _, e in events if type(e) is Ticket.Filed}
        wanted = {str(e.originator_id) for _, e in events
                  if type(e) is not Ticket.Filed and e.originator_id not in filed}  # fmt: skip
        rows = select_in(tx, f"SELECT {', '.join(STATE_COLUMNS)} FROM v_ticket_states"
                         " WHERE valid_to IS NULL AND ticket_id {keys}", wanted)  # fmt: skip
        for row in rows:
            self._open[str(row[0])] = _state(row)

    def _load(self, tx: Tx, ticket: str) -> State | None:
        row = tx.one(
            f"SELECT {', '.join(STATE_COLUMNS)} FROM v_ticket_states"
            " WHERE ticket_id = %s AND valid_to IS NULL",
            (ticket,),
        )
        if row is None:
            return None
        return _state(row)

    def flush(self, tx: Tx) -> None:
        update_rows(tx, "v_ticket_states", ("valid_to", "ticket_id", "version"), self._closed,
                    key=("ticket_id", "version"))  # fmt: skip
        insert_rows(tx, "v_ticket_states", STATE_COLUMNS, list(self._rows.values()))
        self.begin()


def _state(row: tuple[Any, ...]) -> State:
    """A stored open interval."""
    d = dict(zip(STATE_COLUMNS, row, strict=True))
    shadow = Shadow(
        id=str(d["ticket_id"]),
        number=d["number"],
        subject=d["subject"],
        status=d["status"],
        priority=d["priority"],
        line=d["line"],
        group_id=d["group_id"],
        assignee_id=d["assignee_id"],
        kind=d["kind"],
    )
    return State(shadow, d["version"], d["valid_from"])


def _row(state: State) -> tuple[Any, ...]:
    s = state.shadow
    return (
        s.id,
        state.version,
        state.valid_from,
        None,
        s.number,
        s.subject,
        s.status,
        s.priority,
        s.line,
        s.group_id,
        s.assignee_id,
        s.kind,
    )


def queue_at(tx: Tx, kind: str, arg: str, at: datetime, limit: int = 200) -> list[TicketRow]:
    """The open requests of a queue (group:<id>, unassigned:<id>, waiting:<id>, mine-like
    assignee:<id>, line:<n>, gaps) exactly as it stood at `at`, oldest first."""
    moment = stamp(at)
    column, value = {
        "group": ("group_id", arg),
        "unassigned": ("group_id", arg),
        "waiting": ("group_id", arg),
        "assignee": ("assignee_id", arg),
        "line": ("line", int(arg) if arg.isdigit() else -1),
        "gaps": ("kind", "knowledge_gap"),  # the methodologists' open knowledge gaps
    }[kind]
    statuses = ("waiting",) if kind == "waiting" else OPEN_STATUSES
    marks = ", ".join(["%s"] * len(statuses))
    extra = " AND s.assignee_id IS NULL" if kind == "unassigned" else ""
    rows = tx.all(
        "SELECT s.ticket_id, s.number, s.subject, s.status, s.priority, s.line, s.group_id,"
        " s.assignee_id, t.requester_id, t.organisation_id, t.category_id, t.channel,"
        " t.contact_name, t.filed_at, s.valid_from, s.version, s.kind"
        f" FROM v_ticket_states s JOIN v_tickets t ON t.id = s.ticket_id"
        f" WHERE s.{column} = %s AND s.valid_from <= %s"
        f" AND (s.valid_to IS NULL OR s.valid_to > %s) AND s.status IN ({marks}){extra}"
        " ORDER BY s.number LIMIT %s",
        (value, moment, moment, *statuses, limit),
    )
    return [TicketRow(*r) for r in rows]
