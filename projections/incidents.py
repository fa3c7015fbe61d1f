"""The incidents view: what the triggers count, the proposals and incidents with their linked
requests, and the work the incident process has to do.

- `v_incident_requests`: each request's category, field values, text and filing time (what the
  criteria match), whether it is still active, the incident it is linked to ('' once taken
  out of one by hand: it is then never linked automatically again), and whether it counts for
  the triggers (`counted`: not linked nor queued for linking).
- the trigger counts (projections/trigger_counts.py): which rules each counting request matches,
  decided as it is projected (and once per changed rule), summed per rule and second and minute.
- `v_incident_rates`: requests per category, week and hour of the week (Moscow time): the usual
  rate a rate trigger compares with is the mean of the same hour in the previous weeks.
- `v_incidents`, `v_incident_links`: proposals and incidents, linked counts, and for each linked
  request how far it was told (`pending` counts those not told everything yet).
- `v_incident_todo`: matching requests an open incident should take, found when a request is
  filed (the first open incident it matches) and when an incident opens (requests filed since its
  `since`); the process links them, and the link removes them.

Matching is the domain's own `Criteria.matches`. Changes go on the feed: topic `incidents` for
every trigger and incident event, `group:<id>` for the groups a proposal alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from domain.incidents import Criteria, IncidentStatus, MassIncident, Triggers
from domain.people import GroupKind
from domain.ticket import Ticket, TicketKind
from projections import trigger_counts
from projections.base import View, on, select_in
from projections.db import Tx, insert_rows
from projections.pg_text import pg_value
from projections.trigger_counts import Count as Count
from projections.trigger_counts import Request, TriggerCounts, second_of
from projections.trigger_counts import criteria_of as _criteria
from projections.trigger_counts import slot as slot
from projections.trigger_counts import stamp as stamp
from projections.trigger_counts import to_json as _json
from projections.trigger_counts import usual as usual
from projections.trigger_counts import window_counts as window_counts

INCIDENT_COLUMNS = (
    "id",
    "status",
    "title",
    "description",
    "rule_id",
    "rule_name",
    "criteria",
    "since",
    "count",
    "groups",
    "linked",
    "updates",
    "last_update",
    "answer",
    "target",
    "pending",
    "created_at",
    "updated_at",
    "resolved_at",
    "version",
)
ALERTED_KINDS = (GroupKind.DEVELOPMENT.value, GroupKind.OPERATIONS.value)


@dataclass(frozen=True)
class IncidentRow:
    id: str
    status: str
    title: str
    description: str
    rule_id: str | None
    rule_name: str
    criteria: Criteria
    since: str | None
    count: int
    groups: list[str]
    linked: int
    updates: int
    last_update: str
    answer: str
    target: int
    pending: int
    created_at: str
    updated_at: str
    resolved_at: str | None
    version: int

    @classmethod
    def load(cls, raw: tuple[Any, ...]) -> IncidentRow:
        d = dict(zip(INCIDENT_COLUMNS, raw, strict=True))
        d["criteria"], d["groups"] = _criteria(d["criteria"]), orjson.loads(d["groups"])
        return cls(**d)


class IncidentsView(View):
    name = "incidents"
    shape = 2  # 2: trigger counts kept as requests are projected (projections/trigger_counts.py)
    tables = (
        "v_incident_requests",
        "v_incident_rates",
        "v_incidents",
        "v_incident_links",
        "v_incident_todo",
        "v_incident_updates",
        *trigger_counts.TABLES,
    )

    def __init__(self) -> None:
        self.counts = TriggerCounts()
        self.begin()

    def begin(self) -> None:
        self.counts.begin()
        self._open: list[tuple[str, Criteria]] | None = None  # open incidents, read once a batch
        # tickets known (`prefetch`) to have no v_incident_todo row: their resolution or close
        # need not ask (a round trip per event); one queued in this batch leaves the set
        self._untodo: set[str] = set()
        # when the requests this batch closes were filed, as stored ("": no row), for the
        # trigger counts (`TriggerCounts.uncount`: most were filed before any rule's window)
        self._filed: dict[str, str] = {}
        # the batch's filings per category, week and hour (the view reads no rate itself)
        self._rates: dict[tuple[str, int, int], int] = {}

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """Which of the requests this batch resolves or closes are queued for an incident, and
        when those it closes were filed."""
        ending = {str(e.originator_id) for _, e in events
                  if isinstance(e, Ticket.Resolved | Ticket.Closed)}  # fmt: skip
        sql = "SELECT ticket_id FROM v_incident_todo WHERE ticket_id {keys}"
        queued = {str(r[0]) for r in select_in(tx, sql, ending)}
        self._untodo = ending - queued
        new = {str(e.originator_id) for _, e in events if isinstance(e, Ticket.Filed)}
        closing = {str(e.originator_id) for _, e in events
                   if isinstance(e, Ticket.Closed)} - new  # fmt: skip
        sql = "SELECT ticket_id, filed_at FROM v_incident_requests WHERE ticket_id {keys}"
        self._filed = dict.fromkeys(closing, "")
        self._filed.update((str(t), str(at)) for t, at in select_in(tx, sql, closing))

    def flush(self, tx: Tx) -> None:
        self.counts.flush(tx)
        insert_rows(
            tx,
            "v_incident_rates",
            ("category_id", "week", "hour", "count"),
            [(*key, n) for key, n in sorted(self._rates.items())],
            conflict="ON CONFLICT (category_id, hour, week)"
            " DO UPDATE SET count = v_incident_rates.count + excluded.count",
        )
        self._rates = {}

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_incident_requests (ticket_id TEXT PRIMARY KEY,"
            " category_id TEXT NOT NULL, filed_at TEXT NOT NULL, fields TEXT NOT NULL,"
            " text TEXT NOT NULL, active INTEGER NOT NULL, incident_id TEXT,"
            " counted INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_incident_requests_filed"
            " ON v_incident_requests (filed_at)",
            "CREATE TABLE IF NOT EXISTS v_incident_rates (category_id TEXT NOT NULL,"
            " week INTEGER NOT NULL, hour INTEGER NOT NULL, count BIGINT NOT NULL,"
            " PRIMARY KEY (category_id, hour, week))",
            "CREATE TABLE IF NOT EXISTS v_incidents (id TEXT PRIMARY KEY, status TEXT NOT NULL,"
            " title TEXT NOT NULL, description TEXT NOT NULL, rule_id TEXT,"
            " rule_name TEXT NOT NULL, criteria TEXT NOT NULL, since TEXT,"
            " count INTEGER NOT NULL, groups TEXT NOT NULL, linked INTEGER NOT NULL,"
            " updates INTEGER NOT NULL, last_update TEXT NOT NULL, answer TEXT NOT NULL,"
            " target INTEGER NOT NULL, pending INTEGER NOT NULL, created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, resolved_at TEXT, version INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_incidents_status ON v_incidents (status, created_at)",
            "CREATE TABLE IF NOT EXISTS v_incident_links (incident_id TEXT NOT NULL,"
            " ticket_id TEXT NOT NULL, linked INTEGER NOT NULL, seen INTEGER NOT NULL,"
            " PRIMARY KEY (incident_id, ticket_id))",
            "CREATE INDEX IF NOT EXISTS v_incident_links_ticket ON v_incident_links (ticket_id)",
            "CREATE TABLE IF NOT EXISTS v_incident_todo (incident_id TEXT NOT NULL,"
            " ticket_id TEXT NOT NULL, PRIMARY KEY (incident_id, ticket_id))",
            "CREATE INDEX IF NOT EXISTS v_incident_todo_ticket ON v_incident_todo (ticket_id)",
            "CREATE TABLE IF NOT EXISTS v_incident_updates (incident_id TEXT NOT NULL,"
            " position BIGINT NOT NULL, at TEXT NOT NULL, actor_id TEXT NOT NULL,"
            " body TEXT NOT NULL, PRIMARY KEY (incident_id, position))",
            *trigger_counts.ddl(dialect),
        ]

    # -- requests -------------------------------------------------------------------------------
    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        if event.kind is not TicketKind.REQUEST:
            return
        ticket, category = str(event.originator_id), str(event.category_id)
        fields = {k: str(v) for k, v in event.fields.items()}
        text = f"{event.subject}\n{event.description}"
        at = stamp(event.timestamp)
        # the first open incident it matches takes it: then it does not count for the triggers
        queued = next(
            (
                i
                for i, c in self._open_incidents(tx)
                if not c.empty and c.matches(category, fields, text)
            ),
            None,
        )
        tx.execute(
            "INSERT INTO v_incident_requests (ticket_id, category_id, filed_at, fields, text,"
            " active, incident_id, counted) VALUES (%s, %s, %s, %s, %s, 1, NULL, %s)",
            (ticket, category, at, orjson.dumps(fields).decode(), text, int(queued is None)),
        )
        week, hour = slot(event.timestamp)
        self._rates[(category, week, hour)] = self._rates.get((category, week, hour), 0) + 1
        if queued is not None:
            self._untodo.discard(ticket)
            tx.execute(
                "INSERT INTO v_incident_todo (incident_id, ticket_id) VALUES (%s, %s)",
                (queued, ticket),
            )
        else:
            stored = pg_value(text) if tx.dialect == "postgres" else text  # as the scan reads it
            request = Request(ticket, category, fields, stored, at, second_of(event.timestamp))
            self.counts.filed(tx, request, event.timestamp)

    @on(Ticket.Resolved, Ticket.Reopened, Ticket.Closed)
    def ticket_status(self, tx: Tx, event: Any, position: int) -> None:
        ticket = str(event.originator_id)
        if isinstance(event, Ticket.Reopened):
            tx.execute("UPDATE v_incident_requests SET active = 1 WHERE ticket_id = %s", (ticket,))
            return
        unqueued = [] if ticket in self._untodo else tx.all(
            "DELETE FROM v_incident_todo WHERE ticket_id = %s RETURNING ticket_id", (ticket,)
        )  # fmt: skip
        if isinstance(event, Ticket.Closed):  # its text is no longer needed
            self.counts.uncount(tx, [ticket], flag=False, filed=self._filed)
            tx.execute("DELETE FROM v_incident_requests WHERE ticket_id = %s", (ticket,))
            return
        tx.execute("UPDATE v_incident_requests SET active = 0 WHERE ticket_id = %s", (ticket,))
        if unqueued:  # no incident takes it now: it counts again
            self.counts.recount(tx, [ticket])

    # -- triggers -------------------------------------------------------------------------------
    @on(Triggers.Started, Triggers.RulesChanged, Triggers.Fired)
    def triggers_changed(self, tx: Tx, event: Any, position: int) -> None:
        if isinstance(event, Triggers.RulesChanged):
            self.counts.rules_changed(tx, event.rules, event.timestamp)
        self._feed(tx, ["incidents"], position, event)

    # -- incidents ------------------------------------------------------------------------------
    @on(MassIncident.Proposed)
    def proposed(self, tx: Tx, event: MassIncident.Proposed, position: int) -> None:
        self._insert(
            tx,
            event,
            IncidentStatus.PROPOSED,
            event.rule_name,
            "",
            event.criteria,
            event.since,
            event.rule_id,
            event.rule_name,
            event.count,
            [str(g) for g in event.groups],
        )
        groups = [str(g) for g in event.groups] or [
            str(r[0])
            for r in tx.all(
                f"SELECT id FROM v_groups WHERE kind IN ({', '.join(['%s'] * len(ALERTED_KINDS))})",
                ALERTED_KINDS,
            )
        ]
        self._feed(tx, ["incidents", *(f"group:{g}" for g in groups)], position, event)

    @on(MassIncident.Opened)
    def opened(self, tx: Tx, event: MassIncident.Opened, position: int) -> None:
        self._insert(
            tx,
            event,
            IncidentStatus.OPEN,
            event.title,
            event.description,
            event.criteria,
            event.since,
            None,
            "",
            0,
            [],
        )
        self._open = None
        self._backfill(tx, str(event.originator_id), event.criteria, event.since)
        self._feed(tx, ["incidents"], position, event)

    @on(MassIncident.Accepted)
    def accepted(self, tx: Tx, event: MassIncident.Accepted, position: int) -> None:
        incident = str(event.originator_id)
        self._update(
            tx,
            event,
            "status = %s, title = %s, description = %s, criteria = %s",
            (IncidentStatus.OPEN.value, event.title, event.description, _json(event.criteria)),
        )
        self._open = None
        since = tx.one("SELECT since FROM v_incidents WHERE id = %s", (incident,))
        when = datetime.fromisoformat(since[0]) if since and since[0] else None
        self._backfill(tx, incident, event.criteria, when)
        self._feed(tx, ["incidents"], position, event)

    @on(MassIncident.Dismissed, MassIncident.Resolved)
    def ended(self, tx: Tx, event: Any, position: int) -> None:
        incident = str(event.originator_id)
        if isinstance(event, MassIncident.Resolved):
            self._update(
                tx,
                event,
                "status = %s, answer = %s, target = target + 1, resolved_at = %s",
                (IncidentStatus.RESOLVED.value, event.answer, stamp(event.timestamp)),
            )
        else:
            self._update(tx, event, "status = %s", (IncidentStatus.DISMISSED.value,))
        self._open = None
        unqueued = tx.all(
            "DELETE FROM v_incident_todo WHERE incident_id = %s RETURNING ticket_id", (incident,)
        )
        self.counts.recount(tx, [str(r[0]) for r in unqueued])  # they count again
        self._recount(tx, incident)
        self._feed(tx, ["incidents"], position, event)

    @on(MassIncident.Linked)
    def linked(self, tx: Tx, event: MassIncident.Linked, position: int) -> None:
        incident = str(event.originator_id)
        tickets = [str(t) for t in event.ticket_ids]
        tx.executemany(
            "INSERT INTO v_incident_links (incident_id, ticket_id, linked, seen)"
            " VALUES (%s, %s, 1, -1) ON CONFLICT (incident_id, ticket_id)"
            " DO UPDATE SET linked = 1, seen = -1",
            [(incident, t) for t in tickets],
        )
        tx.executemany(
            "UPDATE v_incident_requests SET incident_id = %s WHERE ticket_id = %s",
            [(incident, t) for t in tickets],
        )
        tx.executemany("DELETE FROM v_incident_todo WHERE ticket_id = %s", [(t,) for t in tickets])
        self.counts.uncount(tx, tickets)
        self._update(tx, event, "", ())
        self._recount(tx, incident)
        self._feed(tx, ["incidents"], position, event)

    @on(MassIncident.Unlinked)
    def unlinked(self, tx: Tx, event: MassIncident.Unlinked, position: int) -> None:
        incident, ticket = str(event.originator_id), str(event.ticket_id)
        tx.execute(
            "UPDATE v_incident_links SET linked = 0 WHERE incident_id = %s AND ticket_id = %s",
            (incident, ticket),
        )
        tx.execute(
            "UPDATE v_incident_requests SET incident_id = '' WHERE ticket_id = %s", (ticket,)
        )
        self.counts.uncount(tx, [ticket])
        self._update(tx, event, "", ())
        self._recount(tx, incident)
        self._feed(tx, ["incidents"], position, event)

    @on(MassIncident.UpdatePublished)
    def update_published(self, tx: Tx, event: MassIncident.UpdatePublished, position: int) -> None:
        self._update(
            tx, event, "updates = updates + 1, last_update = %s, target = target + 1", (event.body,)
        )
        tx.execute(
            "INSERT INTO v_incident_updates (incident_id, position, at, actor_id, body)"
            " VALUES (%s, %s, %s, %s, %s)",
            (str(event.originator_id), position, stamp(event.timestamp), str(event.by), event.body),
        )
        self._recount(tx, str(event.originator_id))
        self._feed(tx, ["incidents"], position, event)

    @on(MassIncident.Delivered)
    def delivered(self, tx: Tx, event: MassIncident.Delivered, position: int) -> None:
        incident = str(event.originator_id)
        tx.executemany(
            "UPDATE v_incident_links SET seen = %s WHERE incident_id = %s AND ticket_id = %s",
            [(event.upto, incident, str(t)) for t in event.ticket_ids],
        )
        self._update(tx, event, "", ())
        self._recount(tx, incident)
        self._feed(tx, ["incidents"], position, event)

    # -- helpers --------------------------------------------------------------------------------
    def _insert(
        self,
        tx: Tx,
        event: Any,
        status: IncidentStatus,
        title: str,
        description: str,
        criteria: Criteria,
        since: datetime | None,
        rule_id: UUID | None,
        rule_name: str,
        count: int,
        groups: list[str],
    ) -> None:
        at = stamp(event.timestamp)
        values = (
            str(event.originator_id),
            status.value,
            title,
            description,
            str(rule_id) if rule_id else None,
            rule_name,
            _json(criteria),
            stamp(since) if since else None,
            count,
            orjson.dumps(groups).decode(),
            0,
            0,
            "",
            "",
            0,
            0,
            at,
            at,
            None,
            event.originator_version,
        )
        tx.execute(
            f"INSERT INTO v_incidents ({', '.join(INCIDENT_COLUMNS)})"
            f" VALUES ({', '.join(['%s'] * len(INCIDENT_COLUMNS))})",
            values,
        )

    def _update(self, tx: Tx, event: Any, sets: str, params: tuple[Any, ...]) -> None:
        tx.execute(
            f"UPDATE v_incidents SET {sets + ', ' if sets else ''}updated_at = %s, version = %s"
            " WHERE id = %s",
            (*params, stamp(event.timestamp), event.originator_version, str(event.originator_id)),
        )

    def _recount(self, tx: Tx, incident: str) -> None:
        tx.execute(
            "UPDATE v_incidents SET"
            " linked = (SELECT COUNT(*) FROM v_incident_links l WHERE l.incident_id = %s"
            " AND l.linked = 1),"
            " pending = (SELECT COUNT(*) FROM v_incident_links l WHERE l.incident_id = %s"
            " AND l.linked = 1 AND l.seen < v_incidents.target) WHERE id = %s",
            (incident, incident, incident),
        )

    def _backfill(self, tx: Tx, incident: str, criteria: Criteria, since: datetime | None) -> None:
        """Queues the active, unlinked requests filed since `since` that match."""
        if since is None or criteria.empty:
            return
        sql = (
            "SELECT r.ticket_id, r.category_id, r.fields, r.text FROM v_incident_requests r"
            " WHERE r.filed_at >= %s AND r.active = 1 AND r.incident_id IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM v_incident_todo d WHERE d.ticket_id = r.ticket_id)"
        )
        params: list[Any] = [stamp(since)]
        if criteria.category_id is not None:
            sql += " AND r.category_id = %s"
            params.append(str(criteria.category_id))
        found = [
            (incident, r[0])
            for r in tx.all(sql, params)
            if criteria.matches(r[1], orjson.loads(r[2]), r[3])
        ]
        if found:
            self._untodo -= {t for _, t in found}
            tx.executemany(
                "INSERT INTO v_incident_todo (incident_id, ticket_id) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                found,
            )
            self.counts.uncount(tx, [t for _, t in found])  # queued: they count no more

    def _open_incidents(self, tx: Tx) -> list[tuple[str, Criteria]]:
        """The open incidents, oldest first, with their criteria (read once a batch)."""
        if self._open is None:
            self._open = [
                (str(i), _criteria(c))
                for i, c in tx.all(
                    "SELECT id, criteria FROM v_incidents WHERE status = %s"
                    " ORDER BY created_at, id",
                    (IncidentStatus.OPEN.value,),
                )
            ]
        return self._open

    def _feed(self, tx: Tx, topics: list[str], position: int, event: Any) -> None:
        row = (str(event.originator_id), type(event).__name__, event.originator_version)
        tx.executemany(
            "INSERT INTO v_feed (topic, position, ticket_id, event, version)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(t, position, *row) for t in dict.fromkeys(topics)],
        )


# -- queries ------------------------------------------------------------------------------------
def incidents(tx: Tx, statuses: tuple[str, ...], limit: int = 100) -> list[IncidentRow]:
    """Proposals or incidents in these statuses, newest first."""
    marks = ", ".join(["%s"] * len(statuses))
    rows = tx.all(
        f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM v_incidents WHERE status IN ({marks})"
        " ORDER BY created_at DESC, id LIMIT %s",
        (*statuses, limit),
    )
    return [IncidentRow.load(r) for r in rows]


def incident(tx: Tx, incident_id: str) -> IncidentRow | None:
    raw = tx.one(
        f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM v_incidents WHERE id = %s", (incident_id,)
    )
    return IncidentRow.load(raw) if raw else None


def linked_requests(tx: Tx, incident_id: str, limit: int = 500) -> list[dict[str, Any]]:
    """The requests linked to an incident: number, subject, status, and whether told all."""
    rows = tx.all(
        "SELECT t.id, t.number, t.subject, t.status, l.seen, i.target FROM v_incident_links l"
        " JOIN v_incidents i ON i.id = l.incident_id JOIN v_tickets t ON t.id = l.ticket_id"
        " WHERE l.incident_id = %s AND l.linked = 1 ORDER BY t.number LIMIT %s",
        (incident_id, limit),
    )
    return [
        {"id": r[0], "number": r[1], "subject": r[2], "status": r[3], "told": r[4] >= r[5]}
        for r in rows
    ]


def updates(tx: Tx, incident_id: str) -> list[dict[str, Any]]:
    """An incident's public updates, oldest first."""
    rows = tx.all(
        "SELECT at, actor_id, body FROM v_incident_updates WHERE incident_id = %s"
        " ORDER BY position",
        (incident_id,),
    )
    return [{"at": r[0], "by": r[1], "body": r[2]} for r in rows]


def linked_incident(tx: Tx, ticket_id: str) -> IncidentRow | None:
    """The incident a request is linked to (the latest, if several), for the requests' pages."""
    raw = tx.one(
        f"SELECT {', '.join('i.' + c for c in INCIDENT_COLUMNS)} FROM v_incident_links l"
        " JOIN v_incidents i ON i.id = l.incident_id WHERE l.ticket_id = %s AND l.linked = 1"
        " ORDER BY i.created_at DESC LIMIT 1",
        (ticket_id,),
    )
    return IncidentRow.load(raw) if raw else None


def todo(tx: Tx, limit: int = 1000) -> dict[str, list[str]]:
    """Requests to link, by incident."""
    found: dict[str, list[str]] = {}
    for incident_id, ticket_id in tx.all(
        "SELECT incident_id, ticket_id FROM v_incident_todo ORDER BY incident_id, ticket_id"
        " LIMIT %s",
        (limit,),
    ):
        found.setdefault(incident_id, []).append(ticket_id)
    return found


def undelivered(tx: Tx) -> list[str]:
    """Incidents some linked request of which has not been told everything yet."""
    return [r[0] for r in tx.all("SELECT id FROM v_incidents WHERE pending > 0 ORDER BY id")]
