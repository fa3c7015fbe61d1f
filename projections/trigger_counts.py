"""The trigger counts: for every trigger rule, how many of the requests it matches still count,
kept by the incidents view as it projects them, so that the incident process reads every rule's
count in one indexed query whose cost does not grow with the filing rate.

A request counts while it is filed, not closed, not linked to an incident (nor taken out of one)
and not queued for linking (`v_incident_requests.counted`). Its matching is decided once: when it
is filed, when it counts again (its queue entry dropped), and when the rules change (each new or
changed rule is matched against the counting requests of its window once).

- `v_incident_rules`: the rules the counts are kept for (the Triggers aggregate's, as projected),
  their criteria as JSON, and `since`: every counting request filed at or after it is matched.
- `v_incident_matches`: one row per rule and counting request it matches, by filing time: for
  the rules now and the requests from each rule's `since`, exactly (so a request that stops
  counting finds its rows by matching it again, without an index by ticket).
- `v_incident_counts`: the same summed per rule and second (`span` 1) and per rule and minute
  (`span` 60); `bucket` is where it starts, in seconds since 1970 (UTC).

A window (start, now] is then: the whole minutes inside it, the whole seconds at its two ends,
plus the matches filed in `now`'s second up to `now`, less those filed in `start`'s second up to
`start`. That is at most W + 120 bucket rows and two seconds' index entries per rule of window W
minutes, and no request row. A rule the view does not hold as asked (it lags behind a change, or
pruned what the window needs) is counted by scanning the window as before: always exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from domain.incidents import MAX_RULES, Criteria, TriggerRule
from domain.transcoder import from_plain, to_plain
from projections.db import Tx

ZONE = ZoneInfo("Europe/Moscow")
FIRST_MONDAY = date(1970, 1, 5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MARGIN = timedelta(minutes=10)  # kept beyond a window: a tick whose clock is a little behind
PRUNE_STEP = timedelta(minutes=10)  # how far the kept counts move on at a time
CHUNK = 500  # ids per IN (...) list

TABLES = ("v_incident_rules", "v_incident_matches", "v_incident_counts")


def ddl(dialect: str) -> list[str]:
    """The counts' tables; on SQLite the two written per match keep their rows in their
    primary key's tree (WITHOUT ROWID: one tree fewer to write per row)."""
    clustered = " WITHOUT ROWID" if dialect == "sqlite" else ""
    return [
        "CREATE TABLE IF NOT EXISTS v_incident_rules (rule_id TEXT PRIMARY KEY,"
        " criteria TEXT NOT NULL, window_minutes INTEGER NOT NULL, since TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS v_incident_matches (rule_id TEXT NOT NULL,"
        " filed_at TEXT NOT NULL, ticket_id TEXT NOT NULL,"
        f" PRIMARY KEY (rule_id, filed_at, ticket_id)){clustered}",
        "CREATE TABLE IF NOT EXISTS v_incident_counts (rule_id TEXT NOT NULL,"
        " span INTEGER NOT NULL, bucket BIGINT NOT NULL, count BIGINT NOT NULL,"
        f" PRIMARY KEY (rule_id, span, bucket)){clustered}",
    ]


def stamp(moment: datetime) -> str:
    """UTC, fixed width: stored times compare correctly as text on both stores."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def slot(moment: datetime) -> tuple[int, int]:
    """(week number, hour of the week) in Moscow time; weeks start on Monday."""
    local = moment.astimezone(ZONE)
    monday = local.date() - timedelta(days=local.weekday())
    return (monday - FIRST_MONDAY).days // 7, local.weekday() * 24 + local.hour


def to_json(value: Any) -> str:
    return orjson.dumps(to_plain(value)).decode()


def criteria_of(text: str) -> Criteria:
    found = from_plain(orjson.loads(text))
    return found if isinstance(found, Criteria) else Criteria()


def second_of(moment: datetime) -> int:
    """Whole seconds since 1970 (UTC), rounded down: the second bucket it falls in."""
    return (moment - EPOCH) // timedelta(seconds=1)


def at_second(second: int) -> str:
    return stamp(EPOCH + timedelta(seconds=second))


def minute_floor(moment: datetime) -> datetime:
    return EPOCH + timedelta(minutes=(moment - EPOCH) // timedelta(minutes=1))


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _insert(tx: Tx, head: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
    """Inserts the rows with one statement per CHUNK of them (a batch of one filing costs one
    round trip per table, not an executemany's set-up)."""
    for i in range(0, len(rows), CHUNK):
        part = rows[i : i + CHUNK]
        row = "(" + ", ".join(["%s"] * len(part[0])) + ")"
        values = ", ".join([row] * len(part))
        tx.execute(f"{head} VALUES {values}{tail}", [x for r in part for x in r])


class Request(NamedTuple):
    """What a rule's criteria match, and when it was filed (stamped, and its second)."""

    ticket_id: str
    category_id: str
    fields: dict[str, Any]
    text: str
    filed_at: str
    second: int

    @classmethod
    def load(cls, row: Sequence[Any]) -> Request:
        """From (ticket_id, category_id, fields, text, filed_at) of v_incident_requests."""
        at = str(row[4])
        fields = orjson.loads(row[2])
        return cls(
            str(row[0]), str(row[1]), fields, str(row[3]), at, second_of(datetime.fromisoformat(at))
        )


class Matcher:
    """`Criteria.matches` with its values made ready once (the category as text, the value
    and the words casefolded), and the request's text casefolded once for all rules."""

    def __init__(self, c: Criteria) -> None:
        self.category = str(c.category_id) if c.category_id is not None else None
        self.key, self.value = c.field_key, c.field_value.casefold()
        self.words = tuple(w.casefold() for w in c.words)

    def __call__(self, r: Request, folded: list[str]) -> bool:
        if self.category is not None and self.category != r.category_id:
            return False
        if self.key:
            value = r.fields.get(self.key)
            if value is None or str(value).strip().casefold() != self.value:
                return False
        if self.words:
            if not folded:
                folded.append(r.text.casefold())
            if not any(w in folded[0] for w in self.words):
                return False
        return True


@dataclass(frozen=True)
class Kept:
    """A rule as the view keeps its counts: criteria (ready to match and as stored) and
    coverage."""

    matches: Matcher
    text: str
    window: int
    since: str

    @property
    def prune_at(self) -> datetime:
        """From a filing this late on, the counts move on (see `TriggerCounts._prune`)."""
        return (
            datetime.fromisoformat(self.since)
            + timedelta(minutes=self.window)
            + MARGIN
            + PRUNE_STEP
        )


class TriggerCounts:
    """The incidents view's counting part. A batch's new matches and bucket changes are kept
    in memory and written at its end (`flush`): one statement for the matches, one row per
    bucket touched, however many requests the batch filed."""

    def __init__(self) -> None:
        self._matchers: dict[str, Matcher] = {}  # by criteria as stored: parsed once
        self.begin()

    def begin(self) -> None:
        self._rules: dict[str, Kept] | None = None  # read once per batch
        self._deltas: dict[tuple[str, int], int] = {}  # (rule, second) -> change
        self._pending: dict[str, list[tuple[str, str]]] = {}  # ticket -> (rule, filed at)
        self._latest: datetime | None = None  # the latest filing of the batch
        self._prune_at = EPOCH  # the earliest of the rules' prune_at

    def rules(self, tx: Tx) -> dict[str, Kept]:
        if self._rules is None:
            rows = tx.all("SELECT rule_id, criteria, window_minutes, since FROM v_incident_rules")
            self._rules = {
                str(r[0]): Kept(self._matcher(str(r[1])), str(r[1]), int(r[2]), str(r[3]))
                for r in rows
            }
            self._prune_at = min((k.prune_at for k in self._rules.values()), default=EPOCH)
        return self._rules

    def _matcher(self, text: str) -> Matcher:
        found = self._matchers.get(text)
        if found is None:
            if len(self._matchers) > 4 * MAX_RULES:
                self._matchers.clear()
            found = self._matchers[text] = Matcher(criteria_of(text))
        return found

    def filed(self, tx: Tx, request: Request, at: datetime) -> None:
        """A request filed that counts from the start (the view stored it with counted = 1)."""
        self._latest = at if self._latest is None else max(self._latest, at)
        rules = self.rules(tx)
        if rules:
            self._add([request], rules)

    def recount(self, tx: Tx, tickets: Sequence[str]) -> None:
        """These requests may count again (their queue entry went): those that do are matched."""
        for chunk in _chunks(tickets):
            marks = ", ".join(["%s"] * len(chunk))
            rows = tx.all(
                "SELECT r.ticket_id, r.category_id, r.fields, r.text, r.filed_at"
                f" FROM v_incident_requests r WHERE r.ticket_id IN ({marks}) AND r.counted = 0"
                " AND r.incident_id IS NULL AND NOT EXISTS"
                " (SELECT 1 FROM v_incident_todo d WHERE d.ticket_id = r.ticket_id)",
                chunk,
            )
            if not rows:
                continue
            requests = [Request.load(r) for r in rows]
            self._add(requests, self.rules(tx))
            tx.executemany(
                "UPDATE v_incident_requests SET counted = 1 WHERE ticket_id = %s",
                [(r.ticket_id,) for r in requests],
            )

    def uncount(
        self,
        tx: Tx,
        tickets: Sequence[str],
        *,
        flag: bool = True,
        filed: Mapping[str, str] | None = None,
    ) -> None:
        """These requests no longer count (linked, queued for linking, taken out, closed;
        `flag` False: their rows go next, no need to mark them). `filed`: when some of them
        were filed as stored ("" if not stored), known already: one filed before every rule's
        `since` has no match row (matches are kept from `since` on), so it is not read."""
        for ticket in tickets:  # matched in this batch: not written yet
            for rule_id, filed_at in self._pending.pop(ticket, ()):
                self._bump(rule_id, second_of(datetime.fromisoformat(filed_at)), -1)
        rules = self.rules(tx)
        oldest = min((k.since for k in rules.values()), default=None)
        if filed and oldest is not None and not flag:
            tickets = [t for t in tickets if t not in filed or filed[t] >= oldest]
        for chunk in _chunks(tickets):
            marks = ", ".join(["%s"] * len(chunk))
            if oldest is not None:  # its matches are those of the rules now, from their since
                rows = tx.all(
                    "SELECT ticket_id, category_id, fields, text, filed_at"
                    f" FROM v_incident_requests WHERE ticket_id IN ({marks}) AND counted = 1"
                    " AND filed_at >= %s",
                    (*chunk, oldest),
                )
                self._delete(tx, [m for r in rows for m in self._matching(Request.load(r), rules)])
            if flag:
                tx.execute(
                    f"UPDATE v_incident_requests SET counted = 0 WHERE ticket_id IN ({marks})"
                    " AND counted = 1",
                    chunk,
                )

    def rules_changed(self, tx: Tx, rules: tuple[TriggerRule, ...], at: datetime) -> None:
        """Keeps the counts of rules whose criteria stayed (and whose window is still covered);
        drops those of removed rules; matches each new or changed rule against the counting
        requests of its window (and a margin) once."""
        kept = self.rules(tx)
        wanted = {str(r.id): r for r in rules}
        for rule_id in [k for k in kept if k not in wanted]:
            self._drop(tx, rule_id)
        redo: dict[str, Kept] = {}
        for rule_id, rule in wanted.items():
            text, window = to_json(rule.criteria), rule.window_minutes
            old = kept.get(rule_id)
            needed = stamp(at - timedelta(minutes=window))
            if old is not None and old.text == text and old.since <= needed:
                if old.window != window:
                    tx.execute(
                        "UPDATE v_incident_rules SET window_minutes = %s WHERE rule_id = %s",
                        (window, rule_id),
                    )
                    kept[rule_id] = replace(old, window=window)
                continue
            if old is not None:
                self._drop(tx, rule_id)
            since = stamp(minute_floor(at - timedelta(minutes=window) - MARGIN))
            tx.execute(
                "INSERT INTO v_incident_rules (rule_id, criteria, window_minutes, since)"
                " VALUES (%s, %s, %s, %s)",
                (rule_id, text, window, since),
            )
            kept[rule_id] = redo[rule_id] = Kept(self._matcher(text), text, window, since)
        if redo:
            rows = tx.all(
                "SELECT ticket_id, category_id, fields, text, filed_at FROM v_incident_requests"
                " WHERE counted = 1 AND filed_at >= %s",
                (min(k.since for k in redo.values()),),
            )
            requests = [Request.load(r) for r in rows]
            self._add(requests, redo)
        self._prune_at = min((k.prune_at for k in kept.values()), default=EPOCH)

    def flush(self, tx: Tx) -> None:
        matches = [(r, at, t) for t, found in self._pending.items() for r, at in found]
        _insert(tx, "INSERT INTO v_incident_matches (rule_id, filed_at, ticket_id)", matches)
        self._pending = {}
        minutes: dict[tuple[str, int], int] = {}
        for (rule_id, second), d in self._deltas.items():
            key = (rule_id, second - second % 60)
            minutes[key] = minutes.get(key, 0) + d
        rows = [(r, 1, second, d) for (r, second), d in self._deltas.items() if d]
        rows += [(r, 60, minute, d) for (r, minute), d in minutes.items() if d]
        _insert(
            tx,
            "INSERT INTO v_incident_counts (rule_id, span, bucket, count)",
            rows,
            " ON CONFLICT (rule_id, span, bucket)"
            " DO UPDATE SET count = v_incident_counts.count + excluded.count",
        )
        self._deltas = {}
        if self._latest is not None and self._rules:
            self._prune(tx, self._latest)

    # -- inside ---------------------------------------------------------------------------------
    def _add(self, requests: Sequence[Request], rules: dict[str, Kept]) -> None:
        d = self._deltas
        for r in requests:
            for rule_id, filed_at, ticket_id in self._matching(r, rules):
                self._pending.setdefault(ticket_id, []).append((rule_id, filed_at))
                d[rule_id, r.second] = d.get((rule_id, r.second), 0) + 1

    @staticmethod
    def _matching(r: Request, rules: dict[str, Kept]) -> Iterator[tuple[str, str, str]]:
        """(rule, filed at, ticket) of each rule the request matches: the match rows it has
        while it counts."""
        folded: list[str] = []
        for rule_id, kept in rules.items():
            if r.filed_at >= kept.since and kept.matches(r, folded):
                yield rule_id, r.filed_at, r.ticket_id

    def _delete(self, tx: Tx, matches: Sequence[tuple[str, str, str]]) -> None:
        """Deletes these match rows, and counts down what was there."""
        for i in range(0, len(matches), CHUNK):
            part = matches[i : i + CHUNK]
            values = ", ".join(["(%s, %s, %s)"] * len(part))
            for rule_id, filed_at in tx.all(
                "DELETE FROM v_incident_matches WHERE (rule_id, filed_at, ticket_id)"
                f" IN (VALUES {values}) RETURNING rule_id, filed_at",
                [x for m in part for x in m],
            ):
                self._bump(str(rule_id), second_of(datetime.fromisoformat(filed_at)), -1)

    def _bump(self, rule_id: str, second: int, by: int) -> None:
        self._deltas[rule_id, second] = self._deltas.get((rule_id, second), 0) + by

    def _drop(self, tx: Tx, rule_id: str) -> None:
        for table in TABLES:
            tx.execute(f"DELETE FROM {table} WHERE rule_id = %s", (rule_id,))
        self._deltas = {k: d for k, d in self._deltas.items() if k[0] != rule_id}
        for found in self._pending.values():
            found[:] = [m for m in found if m[0] != rule_id]
        if self._rules is not None:
            self._rules.pop(rule_id, None)

    def _prune(self, tx: Tx, latest: datetime) -> None:
        """Forgets what no window will ask for again: matches and buckets from before each
        rule's window and margin, moved on PRUNE_STEP at a time."""
        assert self._rules is not None
        if latest < self._prune_at:
            return
        for rule_id, kept in list(self._rules.items()):
            if latest < kept.prune_at:  # moved on less than a step
                continue
            horizon = minute_floor(latest - timedelta(minutes=kept.window) - MARGIN)
            since = stamp(horizon)
            tx.execute(
                "DELETE FROM v_incident_matches WHERE rule_id = %s AND filed_at < %s",
                (rule_id, since),
            )
            tx.execute(
                "DELETE FROM v_incident_counts WHERE rule_id = %s AND bucket < %s",
                (rule_id, second_of(horizon)),
            )
            tx.execute(
                "UPDATE v_incident_rules SET since = %s WHERE rule_id = %s", (since, rule_id)
            )
            self._rules[rule_id] = replace(kept, since=since)
        self._prune_at = min(k.prune_at for k in self._rules.values())


# -- queries ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Count:
    """A rule's state now: matching requests in its window, and the usual number."""

    count: int
    usual: Decimal | None
    since: datetime


def _usual(first: Any, total: Any, week: int, window_minutes: int) -> Decimal | None:
    if first is None or int(first) >= week:
        return None
    per_hour = Decimal(int(total or 0)) / (week - int(first))
    return (per_hour * window_minutes / 60).quantize(Decimal("0.01"))


def usual(tx: Tx, category_id: str, now: datetime, window_minutes: int) -> Decimal | None:
    """The usual number of the category's requests in a window of that length at this hour of
    the week: the mean over the previous weeks (None before a full week of history)."""
    week, hour = slot(now)
    first = tx.one("SELECT MIN(week) FROM v_incident_rates WHERE category_id = %s", (category_id,))
    total = tx.one(
        "SELECT COALESCE(SUM(count), 0) FROM v_incident_rates WHERE category_id = %s"
        " AND hour = %s AND week < %s",
        (category_id, hour, week),
    )
    return _usual(first[0] if first else None, total[0] if total else 0, week, window_minutes)


def _rate_category(rule: TriggerRule) -> str | None:
    category = rule.criteria.category_id
    return str(category) if rule.rate_factor > 0 and category is not None else None


_BOUNDS = (
    "k, rule_id, m_lo, m_hi, a_lo, a_hi, z_lo, z_hi, p_lo, p_hi, q_lo, q_hi, category, week, hour"
)
_BUCKETS = (
    "(SELECT COALESCE(SUM(c.count), 0) FROM v_incident_counts c WHERE c.rule_id = b.rule_id"
    " AND c.span = {span} AND c.bucket >= b.{lo} AND c.bucket < b.{hi})"
)
_MATCHES = (
    "(SELECT COUNT(*) FROM v_incident_matches x WHERE x.rule_id = b.rule_id"
    " AND x.filed_at >= b.{lo} AND x.filed_at <= b.{hi})"
)
COUNTS_SQL = (
    "SELECT b.k, r.criteria, r.since, "
    + ", ".join(
        [
            _BUCKETS.format(span=60, lo="m_lo", hi="m_hi"),
            _BUCKETS.format(span=1, lo="a_lo", hi="a_hi"),
            _BUCKETS.format(span=1, lo="z_lo", hi="z_hi"),
            _MATCHES.format(lo="p_lo", hi="p_hi"),
            _MATCHES.format(lo="q_lo", hi="q_hi"),
            "(SELECT MIN(t.week) FROM v_incident_rates t WHERE t.category_id = b.category)",
            "(SELECT COALESCE(SUM(t.count), 0) FROM v_incident_rates t"
            " WHERE t.category_id = b.category AND t.hour = b.hour AND t.week < b.week)",
        ]
    )
    + " FROM b LEFT JOIN v_incident_rules r ON r.rule_id = b.rule_id ORDER BY b.k"
)


def window_counts(tx: Tx, rules: tuple[TriggerRule, ...], now: datetime) -> dict[UUID, Count]:
    """For each rule, the requests matching it filed within its window up to `now` (after
    `now - window`, up to `now` included), not linked to an incident nor about to be (those are
    explained already). One query for every rule the view keeps counts for as asked; the rest
    (rare: a rule changed moments ago) counted the long way."""
    found, missing = kept_counts(tx, rules, now)
    if missing:
        found.update(scan_counts(tx, missing, now))
    return {rule.id: found[rule.id] for rule in rules}


def kept_counts(
    tx: Tx, rules: tuple[TriggerRule, ...], now: datetime
) -> tuple[dict[UUID, Count], tuple[TriggerRule, ...]]:
    """The counts and usual rates of the rules the view keeps as asked (same criteria, window
    covered), in one query; and the rules it does not."""
    if not rules:
        return {}, ()
    week, hour = slot(now)
    params: list[Any] = []
    for k, rule in enumerate(rules):
        start = now - timedelta(minutes=rule.window_minutes)
        lo, hi = second_of(start), second_of(now)
        m_lo, m_hi = -(-lo // 60) * 60, hi // 60 * 60  # the whole minutes in [lo, hi)
        if m_lo > m_hi:  # no whole minute: seconds only
            m_lo = m_hi = hi
        params += [k, str(rule.id), m_lo, m_hi, lo, m_lo, m_hi, hi]
        params += [at_second(hi), stamp(now), at_second(lo), stamp(start)]
        params += [_rate_category(rule), week, hour]
    row = "(" + ", ".join(["%s"] * 15) + ")"
    sql = f"WITH b ({_BOUNDS}) AS (VALUES {', '.join([row] * len(rules))}) {COUNTS_SQL}"
    found: dict[UUID, Count] = {}
    missing: list[TriggerRule] = []
    for k, criteria, since, minutes, first, last, upto, before, low, total in tx.all(sql, params):
        rule = rules[int(k)]
        start = now - timedelta(minutes=rule.window_minutes)
        if criteria != to_json(rule.criteria) or since is None or since > stamp(start):
            missing.append(rule)
            continue
        count = int(minutes) + int(first) + int(last) + int(upto) - int(before)
        expected = _usual(low, total, week, rule.window_minutes) if _rate_category(rule) else None
        found[rule.id] = Count(count, expected, start)
    return found, tuple(missing)


def scan_counts(tx: Tx, rules: tuple[TriggerRule, ...], now: datetime) -> dict[UUID, Count]:
    """`window_counts` the long way: reads and matches every request of the longest window.
    For rules the view does not keep counts for as asked, and as the reference in tests."""
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
        category = _rate_category(rule)
        expected = usual(tx, category, now, rule.window_minutes) if category else None
        found[rule.id] = Count(count, expected, since)
    return found
