"""Automatic assignment within a group: round robin or least loaded, skipping agents away.

The view keeps the requests a routing rule sent to a group for automatic assignment and that no
one has taken yet, and who is away; the process picks an agent for each (least loaded: fewest
open requests assigned, from the queue counts; round robin: the next after the group's last pick)
and sends the idempotent `AssignAutomatically` through the desk's dispatcher, so a repeat
after a restart assigns nothing twice.
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.people import Account
from domain.ticket import Ticket
from projections.base import View, on
from projections.db import Tx, delete_in, insert_rows


class AssignView(View):
    """Buffers a batch's queue changes: each request's entry is written once, at its end."""

    name = "assign"
    tables = ("v_assign_queue", "v_away", "v_assign_last")

    def __init__(self) -> None:
        self.begin()

    def begin(self) -> None:
        # the batch's requests whose entry changed: the entry now (None: not queued)
        self._queue: dict[str, tuple[str, str, str, int] | None] = {}

    def flush(self, tx: Tx) -> None:
        delete_in(tx, "v_assign_queue", "ticket_id", list(self._queue))
        insert_rows(tx, "v_assign_queue", ("ticket_id", "group_id", "mode", "position"),
                    [row for row in self._queue.values() if row is not None])  # fmt: skip
        self.begin()

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_assign_queue (ticket_id TEXT PRIMARY KEY,"
            " group_id TEXT NOT NULL, mode TEXT NOT NULL, position BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_assign_queue_position ON v_assign_queue (position)",
            "CREATE TABLE IF NOT EXISTS v_away (account_id TEXT PRIMARY KEY)",
            "CREATE TABLE IF NOT EXISTS v_assign_last (group_id TEXT PRIMARY KEY,"
            " account_id TEXT NOT NULL)",
        ]

    @on(Ticket.Assigned, Ticket.Transferred, Ticket.Escalated, Ticket.Resolved, Ticket.Closed)
    def changed(self, tx: Tx, event: Any, position: int) -> None:
        ticket = str(event.originator_id)
        queued = None
        if (
            isinstance(event, Ticket.Assigned)
            and event.assignment in ("round_robin", "least_loaded")
            and event.assignee_id is None
            and event.group_id
        ):
            queued = (ticket, str(event.group_id), event.assignment, position)
        self._queue[ticket] = queued

    @on(Account.AvailabilityChanged)
    def availability(self, tx: Tx, event: Account.AvailabilityChanged, position: int) -> None:
        account = str(event.originator_id)
        tx.execute("DELETE FROM v_away WHERE account_id = %s", (account,))
        if event.away:
            tx.execute("INSERT INTO v_away (account_id) VALUES (%s)", (account,))


def candidates(tx: Tx, group_id: str) -> list[str]:
    """Active agents of the group who are not away, in a stable order."""
    rows = tx.all(
        "SELECT id, roles, group_ids FROM v_accounts WHERE disabled = 0 AND id NOT IN"
        " (SELECT account_id FROM v_away) ORDER BY id"
    )
    return [r[0] for r in rows if "agent" in orjson.loads(r[1]) and group_id in orjson.loads(r[2])]


def pick(tx: Tx, group_id: str, mode: str, given: dict[str, int] | None = None) -> str | None:
    """The agent for the next request; `given` counts what this tick assigned already (the
    queue counts do not show it until the views catch up)."""
    given = given or {}
    agents = candidates(tx, group_id)
    if not agents:
        return None
    if mode == "least_loaded":
        marks = ", ".join(["%s"] * len(agents))
        sql = f"SELECT queue, count FROM v_queue_counts WHERE queue IN ({marks})"
        load: dict[str, int] = dict(tx.all(sql, tuple(f"assignee:{a}" for a in agents)))
        return min(agents, key=lambda a: (int(load.get(f"assignee:{a}", 0)) + given.get(a, 0), a))
    row = tx.one("SELECT account_id FROM v_assign_last WHERE group_id = %s", (group_id,))
    last = row[0] if row else None
    later = [a for a in agents if last is None or a > last]
    return later[0] if later else agents[0]


def waiting(tx: Tx, limit: int = 200) -> list[tuple[str, str, str]]:
    """The requests waiting for an agent, oldest first: (ticket, group, mode)."""
    rows = tx.all(
        "SELECT ticket_id, group_id, mode FROM v_assign_queue ORDER BY position LIMIT %s", (limit,)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def record_pick(tx: Tx, group_id: str, account_id: str) -> None:
    """Round robin goes on after `account_id` next time in this group."""
    tx.execute(
        "INSERT INTO v_assign_last (group_id, account_id) VALUES (%s, %s)"
        " ON CONFLICT (group_id) DO UPDATE SET account_id = excluded.account_id",
        (group_id, account_id),
    )
