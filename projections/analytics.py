"""The analytics view: one fact row per request, kept from its events' own timestamps.

Each row says when the request was filed (the UTC day, its ISO week's Monday and its month),
its category, channel and organisation, where it is (line, group, agent: for a resolved request
the line, group and agent that resolved it), when staff first answered it, when it was
resolved, how long agents held it (assigned to a person and not waiting for the requester), how
often it was transferred, escalated, asked for information and reopened, its rating (and the
earlier ratings a reopening withdrew), whether line 1 resolved it (`resolved_on_line1`, the one
definition), and the SLA breaches it got.

The same batch keeps the per-day table (projections/analytics_days.py): each request counted once
per dimension on its filing day, so the dashboard reads days, not requests.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

import projections.analytics_days as analytics_days
from domain.incidents import MassIncident
from domain.people import Group, GroupKind
from domain.sla import FIRST_RESPONSE_BREACH, FIRST_RESPONSES, RESOLUTION_BREACH
from domain.ticket import Ticket, TicketKind
from projections.base import View, on, select_in
from projections.db import Tx, insert_rows, update_rows


@dataclass
class Fact:
    ticket_id: str
    number: int
    filed_at: str  # UTC, ISO, fixed width: compares as text on both stores
    filed_day: str  # YYYY-MM-DD (UTC)
    filed_week: str  # the Monday of the ISO week, YYYY-MM-DD
    filed_month: str  # YYYY-MM
    category_id: str
    channel: str
    organisation_id: str | None
    status: str = "open"  # open (new, open, waiting) | resolved | closed
    line: int = 1
    group_id: str | None = None
    assignee_id: str | None = None
    agent_id: str | None = None  # who resolved it; while unresolved, its assignee
    first_response_at: str | None = None
    resolved_at: str | None = None  # the standing resolution (cleared on reopening)
    resolutions: int = 0
    transfers: int = 0
    escalations: int = 0
    info_requests: int = 0
    reopens: int = 0
    rating: int | None = None
    line1: int = 0  # resolved on line 1: `resolved_on_line1`, set when it is resolved
    fr_breach: int = 0
    res_breach: int = 0
    version: int = 0
    fr_us: int | None = None  # filing to first response, microseconds
    res_us: int | None = None  # filing to the standing resolution
    handle_us: int | None = None  # held by agents until the standing resolution
    held_us: int = 0  # held by agents so far (closed spans)
    held_since: str | None = None  # the open span's start, while an agent holds it
    held_by: str = "{}"  # JSON: each agent who held it -> microseconds (closed spans)
    waiting: int = 0  # waiting for the requester's information
    incident: int = 0  # linked to a mass incident now (developers' or operations' work)
    earlier_ratings: int = 0  # ratings a reopening withdrew (the CSI history)
    earlier_sum: int = 0  # their sum


COLUMNS = tuple(f.name for f in fields(Fact))
# The changes that end the holder's span: the request moves, waits for the requester or is done.
RELEASES = (Ticket.Assigned, Ticket.Transferred, Ticket.Escalated, Ticket.InformationRequested,
            Ticket.Resolved)  # fmt: skip


def resolved_on_line1(fact: Fact, group_is_line1: bool) -> int:
    """The one definition of a first-line resolution (docs/metrics.md), asked when a request is
    resolved: it is still on line 1 (never escalated to line 2 or 3), was never transferred,
    its group (if any) is a line-1 group (not one of line 2 or 3, development or operations it
    was assigned to directly), and it is not linked to a mass incident (resolved by the
    incident's answer, or by the work of developers and operations behind it)."""
    return int(fact.line == 1 and not fact.transfers and not fact.escalations
               and group_is_line1 and not fact.incident)  # fmt: skip


def _values(fact: Fact) -> tuple[Any, ...]:
    """The fact's columns (`astuple` copies every value deeply: several times the cost)."""
    d = fact.__dict__
    return tuple(d[c] for c in COLUMNS)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


def micros(a: str, b: str) -> int:
    """The microseconds from stamp `a` to stamp `b`."""
    d = datetime.fromisoformat(b) - datetime.fromisoformat(a)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def _release(fact: Fact, at: str) -> None:
    """Closes the holder's span: the assignee holds it from `held_since` to `at`."""
    if fact.held_since is not None:
        span = micros(fact.held_since, at)
        fact.held_us += span
        holders = analytics_days.holders_of(fact)
        if fact.assignee_id:
            holders[fact.assignee_id] = holders.get(fact.assignee_id, 0) + span
        fact.held_by = orjson.dumps(holders, option=orjson.OPT_SORT_KEYS).decode()
        fact.held_since = None


def _settled(fact: Fact, at: str) -> None:
    """What every change does last: an assignee of an open request not waiting for the requester
    starts holding it; an unresolved request's agent is its assignee."""
    if fact.held_since is None and fact.assignee_id and fact.status == "open" and not fact.waiting:
        fact.held_since = at
    if fact.status == "open":
        fact.agent_id = fact.assignee_id


class AnalyticsView(View):
    """Buffers a batch: each request's fact row is read at most once and written once."""

    name = "analytics"
    tables = ("v_analytics", "v_analytics_days", "v_analytics_groups")
    # 2: handling time, the per-day table; 3: open counts; 4: month rows; 5: holders;
    # 6: mass incidents are not line 1, earlier ratings; 7: nor other lines' groups;
    # 8: durations' histograms (withdrawn: measured slower); 9: categories' month rows
    shape = 9

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}  # group -> kind: a group's kind never changes
        self.begin()

    def begin(self) -> None:
        self._rows: dict[str, Fact] = {}
        self._before: dict[str, Fact] = {}  # the stored rows of the facts this batch changes
        self._new: set[str] = set()
        self._none: set[str] = set()  # tickets known to have no fact (knowledge gaps)

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_analytics (ticket_id TEXT PRIMARY KEY,"
            " number INTEGER NOT NULL, filed_at TEXT NOT NULL, filed_day TEXT NOT NULL,"
            " filed_week TEXT NOT NULL, filed_month TEXT NOT NULL, category_id TEXT NOT NULL,"
            " channel TEXT NOT NULL, organisation_id TEXT, status TEXT NOT NULL,"
            " line INTEGER NOT NULL, group_id TEXT, assignee_id TEXT, agent_id TEXT,"
            " first_response_at TEXT, resolved_at TEXT, resolutions INTEGER NOT NULL,"
            " transfers INTEGER NOT NULL, escalations INTEGER NOT NULL,"
            " info_requests INTEGER NOT NULL, reopens INTEGER NOT NULL, rating INTEGER,"
            " line1 INTEGER NOT NULL, fr_breach INTEGER NOT NULL, res_breach INTEGER NOT NULL,"
            " version INTEGER NOT NULL, fr_us BIGINT, res_us BIGINT, handle_us BIGINT,"
            " held_us BIGINT NOT NULL, held_since TEXT, waiting INTEGER NOT NULL,"
            " held_by TEXT NOT NULL, incident INTEGER NOT NULL,"
            " earlier_ratings INTEGER NOT NULL, earlier_sum INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_analytics_filed ON v_analytics (filed_day)",
            "CREATE INDEX IF NOT EXISTS v_analytics_status ON v_analytics (status, filed_day)",
            *analytics_days.ddl(dialect),
            # each group's kind (line1, line2, development...): whose groups resolve on line 1
            "CREATE TABLE IF NOT EXISTS v_analytics_groups (group_id TEXT PRIMARY KEY,"
            " kind TEXT NOT NULL)",
        ]

    @on(Group.Formed)
    def group_formed(self, tx: Tx, event: Group.Formed, position: int) -> None:
        group = str(event.originator_id)
        tx.execute("INSERT INTO v_analytics_groups (group_id, kind) VALUES (%s, %s)"
                   " ON CONFLICT (group_id) DO NOTHING", (group, event.kind.value))  # fmt: skip
        self._kinds[group] = event.kind.value

    def _line1_group(self, tx: Tx, group_id: str | None) -> bool:
        """Whether the request's group is a line-1 group (no group, or one not known: yes)."""
        if group_id is None:
            return True
        kind = self._kinds.get(group_id)
        if kind is None:
            row = tx.one("SELECT kind FROM v_analytics_groups WHERE group_id = %s", (group_id,))
            if row is None:
                return True
            kind = self._kinds[group_id] = str(row[0])
        return kind == GroupKind.LINE_1.value

    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        if event.kind is not TicketKind.REQUEST:
            self._none.add(str(event.originator_id))
            return  # knowledge gaps are staff work, not requests
        at = event.timestamp.astimezone(UTC)
        day = at.date()
        fact = Fact(
            ticket_id=str(event.originator_id),
            number=event.number,
            filed_at=stamp(at),
            filed_day=day.isoformat(),
            filed_week=(day - timedelta(days=day.weekday())).isoformat(),
            filed_month=day.isoformat()[:7],
            category_id=str(event.category_id),
            channel=event.channel.value,
            organisation_id=_id(event.organisation_id),
            version=event.originator_version,
        )
        self._rows[fact.ticket_id] = fact
        self._new.add(fact.ticket_id)

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """The stored facts of the requests this batch changes (not those it files), in one
        query; those without one (knowledge gaps) are remembered, so no event reads again."""
        filed = {e.originator_id for _, e in events if type(e) is Ticket.Filed}
        wanted: set[str] = set()
        for _, e in events:
            if isinstance(e, Ticket.Event):
                if e.originator_id not in filed:
                    wanted.add(str(e.originator_id))
            elif isinstance(e, MassIncident.Linked):
                wanted.update(str(t) for t in e.ticket_ids if t not in filed)
            elif isinstance(e, MassIncident.Unlinked) and e.ticket_id not in filed:
                wanted.add(str(e.ticket_id))
        wanted.difference_update(self._rows, self._none)
        for raw in select_in(tx, f"SELECT {', '.join(COLUMNS)} FROM v_analytics"
                                 " WHERE ticket_id {keys}", wanted):  # fmt: skip
            self._keep(raw)
        self._none.update(wanted.difference(self._rows))

    def _keep(self, raw: tuple[Any, ...]) -> Fact:
        """A stored fact, as this batch changes it and as it was (for the per-day rows)."""
        fact = self._rows[raw[0]] = Fact(*raw)
        self._before[raw[0]] = Fact(*raw)
        return fact

    def _fact(self, tx: Tx, ticket_id: str) -> Fact | None:
        fact = self._rows.get(ticket_id)
        if fact is None and ticket_id not in self._none:  # not prefetched (not in a batch)
            raw = tx.one(
                f"SELECT {', '.join(COLUMNS)} FROM v_analytics WHERE ticket_id = %s", (ticket_id,)
            )
            if raw is None:
                self._none.add(ticket_id)
                return None
            fact = self._keep(raw)
        return fact

    def _step(self, tx: Tx, event: Any) -> tuple[Fact, str] | None:
        """What every change does first: the fact (None: not a request) at the event's version,
        the first response noted, and the holder's span closed when the request moves, waits
        or is done. The handler then applies its own change; `_settled` ends it."""
        fact = self._fact(tx, str(event.originator_id))
        if fact is None:
            return None
        at = stamp(event.timestamp)
        fact.version = event.originator_version
        if isinstance(event, FIRST_RESPONSES) and not fact.first_response_at:
            fact.first_response_at, fact.fr_us = at, micros(fact.filed_at, at)
        if isinstance(event, RELEASES):
            _release(fact, at)
        return fact, at

    @on(Ticket.Assigned)
    def assigned(self, tx: Tx, event: Ticket.Assigned, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            fact.group_id, fact.assignee_id = _id(event.group_id), _id(event.assignee_id)
            _settled(fact, at)

    @on(Ticket.Transferred)
    def transferred(self, tx: Tx, event: Ticket.Transferred, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            fact.group_id, fact.assignee_id = _id(event.to_group_id), _id(event.to_assignee_id)
            fact.transfers += 1
            _settled(fact, at)

    @on(Ticket.Escalated)
    def escalated(self, tx: Tx, event: Ticket.Escalated, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            fact.group_id, fact.assignee_id, fact.line = _id(event.to_group_id), None, event.to_line
            fact.escalations += 1
            _settled(fact, at)

    @on(Ticket.Replied)
    def replied(self, tx: Tx, event: Ticket.Replied, position: int) -> None:
        if step := self._step(tx, event):
            _settled(*step)

    @on(Ticket.InformationRequested)
    def information_requested(
        self, tx: Tx, event: Ticket.InformationRequested, position: int
    ) -> None:
        if step := self._step(tx, event):
            fact, at = step
            fact.info_requests += 1
            fact.waiting = 1
            _settled(fact, at)

    @on(Ticket.InformationProvided, Ticket.RequesterWrote)
    def requester_answered(self, tx: Tx, event: Any, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            fact.waiting = 0
            _settled(fact, at)

    @on(Ticket.Resolved)
    def resolved(self, tx: Tx, event: Ticket.Resolved, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            fact.status, fact.resolved_at, fact.agent_id = "resolved", at, str(event.by)
            fact.res_us, fact.handle_us = micros(fact.filed_at, at), fact.held_us
            fact.resolutions += 1
            fact.line1 = resolved_on_line1(fact, self._line1_group(tx, fact.group_id))
            _settled(fact, at)

    @on(Ticket.Reopened)
    def reopened(self, tx: Tx, event: Ticket.Reopened, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            if fact.rating is not None:  # withdrawn, kept in the history (not in CSI)
                fact.earlier_ratings += 1
                fact.earlier_sum += fact.rating
            fact.status, fact.resolved_at, fact.rating, fact.line1 = "open", None, None, 0
            fact.res_us = fact.handle_us = None
            fact.waiting = 0
            fact.reopens += 1
            _settled(fact, at)

    @on(Ticket.Closed)
    def closed(self, tx: Tx, event: Ticket.Closed, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            fact.status = "closed"
            _settled(fact, at)

    @on(Ticket.Rated)
    def rated(self, tx: Tx, event: Ticket.Rated, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            fact.rating = event.score
            _settled(fact, at)

    @on(Ticket.SlaAlarmed)
    def sla_alarmed(self, tx: Tx, event: Ticket.SlaAlarmed, position: int) -> None:
        if step := self._step(tx, event):
            fact, at = step
            if event.alarm == FIRST_RESPONSE_BREACH:
                fact.fr_breach = 1
            elif event.alarm == RESOLUTION_BREACH:
                fact.res_breach = 1
            _settled(fact, at)

    @on(MassIncident.Linked)
    def incident_linked(self, tx: Tx, event: MassIncident.Linked, position: int) -> None:
        for ticket_id in event.ticket_ids:
            if fact := self._fact(tx, str(ticket_id)):
                fact.incident = 1

    @on(MassIncident.Unlinked)
    def incident_unlinked(self, tx: Tx, event: MassIncident.Unlinked, position: int) -> None:
        if fact := self._fact(tx, str(event.ticket_id)):
            fact.incident = 0

    def flush(self, tx: Tx) -> None:
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for ticket_id, fact in self._rows.items():
            (inserts if ticket_id in self._new else updates).append(_values(fact))
        insert_rows(tx, "v_analytics", COLUMNS, inserts)
        update_rows(tx, "v_analytics", COLUMNS, updates, key=("ticket_id",))
        analytics_days.apply(
            tx, [(self._before.get(tid), fact) for tid, fact in self._rows.items()]
        )
        self.begin()
