"""The SLA view: for each open request, its clocks (as intervals), its policy, its deadlines,
and the next alarm due; the SLA process (processes/sla_timer.py) reads `next_alarm` and
`close_at` through their indexes, so checking 100,000 open clocks is one indexed range scan.

Every deadline is recomputed from the stored intervals whenever the request changes and, for
every open request, when the SLA set-up changes: a new calendar or target applies to the whole
history, and pauses are never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.sla import (
    FIRST_RESPONSE_BREACH,
    FIRST_RESPONSE_WARNING,
    FIRST_RESPONSES,
    RESOLUTION_BREACH,
    RESOLUTION_WARNING,
    RUNNING_VALUES,
    Clock,
    first_response_clock,
)
from domain.sla_setup import SlaSetup
from domain.ticket import Status, Ticket, TicketKind
from domain.transcoder import from_plain, to_plain
from projections.base import View, on, select_in
from projections.db import Tx, delete_in, insert_rows, update_rows

COLUMNS = (
    "ticket_id",
    "category_id",
    "priority",
    "status",
    "line",
    "filed_at",
    "answered_at",
    "intervals",
    "running_since",
    "policy_id",
    "policy_name",
    "fr_due",
    "res_due",
    "fired",
    "next_alarm",
    "next_kind",
    "resolved_version",
    "resolved_at",
    "close_at",
    "version",
)
STATUS_AFTER = {
    "InformationRequested": Status.WAITING,
    "InformationProvided": Status.OPEN,
    "Resolved": Status.RESOLVED,
    "Reopened": Status.OPEN,
    "Closed": Status.CLOSED,
}


def stamp(moment: datetime | None) -> str | None:
    """UTC, fixed width: stored times compare correctly as text on both stores."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds") if moment else None


def _stamped(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass
class Row:
    ticket_id: str
    category_id: str
    priority: str
    status: str
    line: int
    filed_at: str
    answered_at: str | None = None
    intervals: list[list[str]] = field(default_factory=list)
    running_since: str | None = None
    policy_id: str | None = None
    policy_name: str = ""
    fr_due: str | None = None
    res_due: str | None = None
    fired: list[str] = field(default_factory=list)  # "alarm|due" already raised
    next_alarm: str | None = None
    next_kind: str | None = None
    resolved_version: int | None = None
    resolved_at: str | None = None
    close_at: str | None = None
    version: int = 0

    def values(self) -> tuple[Any, ...]:
        return tuple(
            orjson.dumps(getattr(self, c)).decode()
            if c in ("intervals", "fired")
            else getattr(self, c)
            for c in COLUMNS
        )

    @classmethod
    def load(cls, raw: tuple[Any, ...]) -> Row:
        d = dict(zip(COLUMNS, raw, strict=True))
        d["intervals"], d["fired"] = orjson.loads(d["intervals"]), orjson.loads(d["fired"])
        return cls(**d)

    def clock(self) -> Clock:
        spans = tuple(
            (datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in self.intervals
        )
        return Clock(spans, _time(self.running_since))

    def set_running(self, running: bool, at: datetime) -> None:
        clock = self.clock()
        clock = clock.run(at) if running else clock.stop(at)
        self.intervals = [[_stamped(a), _stamped(b)] for a, b in clock.intervals]
        self.running_since = stamp(clock.running_since)


def schedule(row: Row, setup: SlaSetup) -> None:
    """Recomputes the row's deadlines and next alarm from its history and the set-up."""
    row.fr_due = row.res_due = row.next_alarm = row.next_kind = row.close_at = None
    policy = setup.policy_for(_uuid(row.category_id), _priority(row.priority))
    business = setup.calendar("business")
    resolved = _time(row.resolved_at)
    if row.status == Status.RESOLVED.value and setup.auto_close_days > 0 and resolved:
        row.close_at = stamp(business.after_working_days(resolved, setup.auto_close_days))
    row.policy_id, row.policy_name = (str(policy.id), policy.name) if policy else (None, "")
    if policy is None:
        return
    calendar = setup.calendar(policy.calendar)
    first = first_response_clock(datetime.fromisoformat(row.filed_at), _time(row.answered_at))
    fr, res = policy.first_response_minutes * 60, policy.resolution_minutes * 60
    clock = row.clock()
    due_fr, due_res = first.due(calendar, fr), clock.due(calendar, res)
    row.fr_due, row.res_due = stamp(due_fr), stamp(due_res)
    share = policy.warn_percent / 100
    pending = [
        (first.due(calendar, fr * share), FIRST_RESPONSE_WARNING),
        (due_fr, FIRST_RESPONSE_BREACH),
        (clock.due(calendar, res * share), RESOLUTION_WARNING),
        (due_res, RESOLUTION_BREACH),
    ]
    left = [
        (stamp(at), kind)
        for at, kind in pending
        if at is not None and f"{kind}|{stamp(at)}" not in row.fired
    ]
    if left:
        row.next_alarm, row.next_kind = min(left)


def _uuid(text: str) -> Any:
    from uuid import UUID

    return UUID(text)


def _priority(text: str) -> Any:
    from domain.ticket import Priority

    return Priority(text)


CHANGED = (
    Ticket.Replied,
    Ticket.InformationRequested,
    Ticket.InformationProvided,
    Ticket.Resolved,
    Ticket.Reopened,
    Ticket.Closed,
    Ticket.RequesterWrote,
    Ticket.PriorityChanged,
    Ticket.Escalated,
    Ticket.SlaAlarmed,
)


class SlaView(View):
    """Buffers a batch: each request's row is read at most once, scheduled once and written
    once per batch (see begin/flush)."""

    name = "sla"
    tables = ("v_sla", "v_sla_setup")
    shape = 2  # 2: knowledge gaps have no clock (internal work, no customer SLA)

    def __init__(self) -> None:
        self.begin()

    def begin(self) -> None:
        self._setup: SlaSetup | None = None  # read again each batch: a rolled-back batch or a
        self._rows: dict[str, Row] = {}  # rebuild must not keep a set-up the tables lost
        self._new: set[str] = set()
        self._gone: set[str] = set()
        self._loaded: dict[str, Row] = {}  # stored rows read by `prefetch`, not yet changed

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """The stored rows of the requests this batch changes (not those it files), at once, and
        the set-up their clocks are computed with: read here, with the batch's other reads, not
        in `flush`, where the read would wait for every write queued before it (the pump)."""
        if events:
            self.setup(tx)
        filed = {e.originator_id for _, e in events if type(e) is Ticket.Filed}
        wanted = {str(e.originator_id) for _, e in events
                  if type(e) in CHANGED and e.originator_id not in filed}  # fmt: skip
        for raw in select_in(tx, f"SELECT {', '.join(COLUMNS)} FROM v_sla WHERE ticket_id {{keys}}",
                             wanted):  # fmt: skip
            row = Row.load(raw)
            self._loaded[row.ticket_id] = row

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_sla (ticket_id TEXT PRIMARY KEY,"
            " category_id TEXT NOT NULL, priority TEXT NOT NULL, status TEXT NOT NULL,"
            " line INTEGER NOT NULL,"
            " filed_at TEXT NOT NULL, answered_at TEXT, intervals TEXT NOT NULL,"
            " running_since TEXT, policy_id TEXT, policy_name TEXT NOT NULL, fr_due TEXT,"
            " res_due TEXT, fired TEXT NOT NULL, next_alarm TEXT, next_kind TEXT,"
            " resolved_version INTEGER, resolved_at TEXT, close_at TEXT, version INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_sla_next_alarm ON v_sla (next_alarm)",
            "CREATE INDEX IF NOT EXISTS v_sla_close_at ON v_sla (close_at)",
            "CREATE TABLE IF NOT EXISTS v_sla_setup (id INTEGER PRIMARY KEY, setup TEXT NOT NULL)",
        ]

    def setup(self, tx: Tx) -> SlaSetup:
        if self._setup is None:
            row = tx.one("SELECT setup FROM v_sla_setup WHERE id = 1")
            setup = SlaSetup.start()
            if row:
                state = from_plain(orjson.loads(row[0]))
                setup.calendars, setup.policies = state["calendars"], state["policies"]
                setup.auto_close_days = state["auto_close_days"]
            self._setup = setup
        return self._setup

    @on(SlaSetup.Changed)
    def setup_changed(self, tx: Tx, event: SlaSetup.Changed, position: int) -> None:
        setup = self.setup(tx)
        event.apply(setup)
        state = {
            "calendars": setup.calendars,
            "policies": setup.policies,
            "auto_close_days": setup.auto_close_days,
        }
        tx.execute(
            "INSERT INTO v_sla_setup (id, setup) VALUES (1, %s) ON CONFLICT (id)"
            " DO UPDATE SET setup = excluded.setup",
            (orjson.dumps(to_plain(state)).decode(),),
        )
        for raw in tx.all(f"SELECT {', '.join(COLUMNS)} FROM v_sla"):  # every open clock
            if raw[0] not in self._rows and raw[0] not in self._gone:
                self._rows[raw[0]] = Row.load(raw)

    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        if event.kind is TicketKind.KNOWLEDGE_GAP:
            return  # the methodologists' internal work: no customer, no clock, no alarms
        at = event.timestamp
        row = Row(
            str(event.originator_id),
            str(event.category_id),
            event.priority.value,
            Status.NEW.value,
            1,
            stamp(at) or "",
            version=event.originator_version,
        )
        row.set_running(True, at)
        self._rows[row.ticket_id] = row
        self._new.add(row.ticket_id)

    def _row(self, tx: Tx, ticket_id: str) -> Row | None:
        if ticket_id in self._gone:
            return None
        row = self._rows.get(ticket_id)
        if row is None and ticket_id in self._loaded:
            row = self._rows[ticket_id] = self._loaded.pop(ticket_id)
        if row is None:
            raw = tx.one(
                f"SELECT {', '.join(COLUMNS)} FROM v_sla WHERE ticket_id = %s", (ticket_id,)
            )
            if raw is None:
                return None
            row = self._rows[ticket_id] = Row.load(raw)
        return row

    @on(*CHANGED)
    def changed(self, tx: Tx, event: Any, position: int) -> None:
        row = self._row(tx, str(event.originator_id))
        if row is None:
            return
        name, at = type(event).__name__, event.timestamp
        row.version = event.originator_version
        if isinstance(event, FIRST_RESPONSES) and row.answered_at is None:
            row.answered_at = stamp(at)
        if name in STATUS_AFTER or (name == "RequesterWrote" and row.status == "waiting"):
            row.status = STATUS_AFTER.get(name, Status.OPEN).value
            row.set_running(row.status in RUNNING_VALUES, at)
            resolved = row.status == Status.RESOLVED.value
            row.resolved_version = row.version if resolved else None
            row.resolved_at = stamp(at) if resolved else None
        if name == "PriorityChanged":
            row.priority = event.priority.value
        if name == "Escalated":
            row.line = event.to_line
        if name == "SlaAlarmed":
            row.fired.append(f"{event.alarm}|{stamp(event.due)}")
        if row.status == Status.CLOSED.value:
            del self._rows[row.ticket_id]
            if row.ticket_id in self._new:
                self._new.discard(row.ticket_id)
            else:
                self._gone.add(row.ticket_id)

    def flush(self, tx: Tx) -> None:
        setup = self.setup(tx) if self._rows else None
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for ticket_id, row in self._rows.items():
            assert setup is not None
            schedule(row, setup)
            (inserts if ticket_id in self._new else updates).append(row.values())
        insert_rows(tx, "v_sla", COLUMNS, inserts)
        update_rows(tx, "v_sla", COLUMNS, updates, key=("ticket_id",))
        delete_in(tx, "v_sla", "ticket_id", sorted(self._gone))
        self.begin()


def due_soon(tx: Tx, now: datetime, limit: int = 500) -> list[tuple[str, str, str, str, int]]:
    """Alarms due by `now`: (ticket, kind, due, policy id, line), oldest first."""
    rows = tx.all(
        "SELECT ticket_id, next_kind, next_alarm, policy_id, line FROM v_sla"
        " WHERE next_alarm <= %s ORDER BY next_alarm LIMIT %s",
        (stamp(now), limit),
    )
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


def to_close(tx: Tx, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
    rows = tx.all(
        "SELECT ticket_id, resolved_version FROM v_sla WHERE close_at <= %s"
        " ORDER BY close_at LIMIT %s",
        (stamp(now), limit),
    )
    return [(r[0], int(r[1])) for r in rows]


def deadlines(tx: Tx, ticket_ids: list[str]) -> dict[str, dict[str, Any]]:
    """For the tickets on a page: policy, due moments and what fired (one query)."""
    if not ticket_ids:
        return {}
    marks = ", ".join(["%s"] * len(ticket_ids))
    rows = tx.all(
        f"SELECT ticket_id, policy_name, fr_due, res_due, fired, answered_at, status"
        f" FROM v_sla WHERE ticket_id IN ({marks})",
        tuple(ticket_ids),
    )
    return {
        r[0]: {
            "policy": r[1],
            "fr_due": r[2],
            "res_due": r[3],
            "fired": [f.split("|")[0] for f in orjson.loads(r[4])],
            "answered": bool(r[5]),
            "status": r[6],
        }
        for r in rows
    }
