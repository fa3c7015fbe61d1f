"""The incidents view: what the triggers count, the proposals and incidents with their linked
requests, and the work the incident process has to do.

- `v_incident_requests`: each request's category, field values, text and filing time (what the
  criteria match), whether it is still active, and the incident it is linked to ('' once taken
  out of one by hand: it is then never linked automatically again).
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
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from domain.incidents import Criteria, IncidentStatus, MassIncident, TriggerRule, Triggers
from domain.people import GroupKind
from domain.ticket import Ticket, TicketKind
from domain.transcoder import from_plain, to_plain
from projections.base import View, on
from projections.db import Tx

ZONE = ZoneInfo("Europe/Moscow")
FIRST_MONDAY = date(1970, 1, 5)
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


def stamp(moment: datetime) -> str:
    """UTC, fixed width: stored times compare correctly as text on both stores."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def slot(moment: datetime) -> tuple[int, int]:
    """(week number, hour of the week) in Moscow time; weeks start on Monday."""
    local = moment.astimezone(ZONE)
    monday = local.date() - timedelta(days=local.weekday())
    return (monday - FIRST_MONDAY).days // 7, local.weekday() * 24 + local.hour


def _json(value: Any) -> str:
    return orjson.dumps(to_plain(value)).decode()


def _criteria(text: str) -> Criteria:
    found = from_plain(orjson.loads(text))
    return found if isinstance(found, Criteria) else Criteria()


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
    tables = (
        "v_incident_requests",
        "v_incident_rates",
        "v_incidents",
        "v_incident_links",
        "v_incident_todo",
        "v_incident_updates",
    )

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_incident_requests (ticket_id TEXT PRIMARY KEY,"
            " category_id TEXT NOT NULL, filed_at TEXT NOT NULL, fields TEXT NOT NULL,"
            " text TEXT NOT NULL, active INTEGER NOT NULL, incident_id TEXT)",
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
        ]

    # -- requests -------------------------------------------------------------------------------
    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        if event.kind is not TicketKind.REQUEST:
            return
        ticket, category = str(event.originator_id), str(event.category_id)
        fields = {k: str(v) for k, v in event.fields.items()}
        text = f"{event.subject}\n{event.description}"
        tx.execute(
            "INSERT INTO v_incident_requests (ticket_id, category_id, filed_at, fields, text,"
            " active, incident_id) VALUES (%s, %s, %s, %s, %s, 1, NULL)",
            (ticket, category, stamp(event.timestamp), orjson.dumps(fields).decode(), text),
        )
        week, hour = slot(event.timestamp)
        tx.execute(
            "INSERT INTO v_incident_rates (category_id, week, hour, count) VALUES (%s, %s, %s, 1)"
            " ON CONFLICT (category_id, hour, week)"
            " DO UPDATE SET count = v_incident_rates.count + 1",
            (category, week, hour),
        )
        for incident_id, criteria in tx.all(
            "SELECT id, criteria FROM v_incidents WHERE status = %s ORDER BY created_at, id",
            (IncidentStatus.OPEN.value,),
        ):
            c = _criteria(criteria)
            if not c.empty and c.matches(category, fields, text):
                tx.execute(
                    "INSERT INTO v_incident_todo (incident_id, ticket_id) VALUES (%s, %s)",
                    (incident_id, ticket),
                )
                return

    @on(Ticket.Resolved, Ticket.Reopened, Ticket.Closed)
    def ticket_status(self, tx: Tx, event: Any, position: int) -> None:
        ticket = str(event.originator_id)
        if isinstance(event, Ticket.Reopened):
            tx.execute("UPDATE v_incident_requests SET active = 1 WHERE ticket_id = %s", (ticket,))
            return
        tx.execute("DELETE FROM v_incident_todo WHERE ticket_id = %s", (ticket,))
        if isinstance(event, Ticket.Closed):  # its text is no longer needed
            tx.execute("DELETE FROM v_incident_requests WHERE ticket_id = %s", (ticket,))
        else:
            tx.execute("UPDATE v_incident_requests SET active = 0 WHERE ticket_id = %s", (ticket,))

    # -- triggers -------------------------------------------------------------------------------
    @on(Triggers.Started, Triggers.RulesChanged, Triggers.Fired)
    def triggers_changed(self, tx: Tx, event: Any, position: int) -> None:
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
        tx.execute("DELETE FROM v_incident_todo WHERE incident_id = %s", (incident,))
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
            tx.executemany(
                "INSERT INTO v_incident_todo (incident_id, ticket_id) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                found,
            )

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


def usual(tx: Tx, category_id: str, now: datetime, window_minutes: int) -> Decimal | None:
    """The usual number of the category's requests in a window of that length at this hour of
    the week: the mean over the previous weeks (None before a full week of history)."""
    week, hour = slot(now)
    first = tx.one("SELECT MIN(week) FROM v_incident_rates WHERE category_id = %s", (category_id,))
    if not first or first[0] is None or int(first[0]) >= week:
        return None
    total = tx.one(
        "SELECT COALESCE(SUM(count), 0) FROM v_incident_rates WHERE category_id = %s"
        " AND hour = %s AND week < %s",
        (category_id, hour, week),
    )
    per_hour = Decimal(int(total[0]) if total else 0) / (week - int(first[0]))
    return (per_hour * window_minutes / 60).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Count:
    """A rule's state now: matching requests in its window, and the usual number."""

    count: int
    usual: Decimal | None
    since: datetime


def window_counts(tx: Tx, rules: tuple[TriggerRule, ...], now: datetime) -> dict[UUID, Count]:
    """For each rule, the requests matching it filed within its window up to `now`, not linked
    to an incident nor about to be (those are explained already)."""
    if not rules:
        return {}
    longest = max(r.window_minutes for r in rules)
    rows = tx.all(
        "SELECT r.category_id, r.fields, r.text, r.filed_at FROM v_incident_requests r"
        " WHERE r.filed_at > %s AND r.filed_at <= %s AND r.incident_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM v_incident_todo d WHERE d.ticket_id = r.ticket_id)",
        (stamp(now - timedelta(minutes=longest)), stamp(now)),
    )
    parsed = [(r[0], orjson.loads(r[1]), r[2], r[3]) for r in rows]
    found = {}
    for rule in rules:
        since = now - timedelta(minutes=rule.window_minutes)
        start = stamp(since)
        count = sum(
            1 for c, f, text, at in parsed if at > start and rule.criteria.matches(c, f, text)
        )
        category = rule.criteria.category_id
        expected = (
            usual(tx, str(category), now, rule.window_minutes)
            if rule.rate_factor > 0 and category is not None
            else None
        )
        found[rule.id] = Count(count, expected, since)
    return found


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
