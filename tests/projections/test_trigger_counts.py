"""The trigger counts are kept as requests are projected (projections/trigger_counts.py): a tick
reads no request row and issues the same few statements however many requests are in the
window; the counts kept equal the long way's (reading and matching every request of the window)
through rule changes, queueing, linking, unlinking, resolving and closing, at any instant."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.utils import get_topic

from domain.incidents import Criteria, MassIncident, TriggerRule, Triggers
from domain.ticket import Channel, Priority, Ticket
from processes.incidents import IncidentProcess
from projections.db import Row, Tx, ViewDB
from projections.incidents import IncidentsView, slot, todo
from projections.system import Projections
from projections.trigger_counts import kept_counts, scan_counts, stamp, window_counts
from tests.projections.test_incidents import Clock, file, requesters, settle
from tests.world import World


class CountingTx:
    """The view store's transaction, recording each statement and how many rows it returned."""

    def __init__(self, tx: Tx, log: list[tuple[str, int]]) -> None:
        self.tx, self.log, self.dialect = tx, log, tx.dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.tx.execute(sql, params)
        self.log.append((sql, 0))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.tx.executemany(sql, rows)
        self.log.append((sql, 0))

    def all(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        found = self.tx.all(sql, params, binary=binary)
        self.log.append((sql, len(found)))
        return found

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        found = self.tx.one(sql, params)
        self.log.append((sql, int(found is not None)))
        return found


class CountingReads:
    """The view store as the incident process reads it, every statement recorded."""

    def __init__(self, db: ViewDB) -> None:
        self.db, self.log = db, list[tuple[str, int]]()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.db.read() as tx:
            yield CountingTx(tx, self.log)

    def close(self) -> None:
        self.db.close()


def test_a_tick_reads_no_request_and_the_same_statements_for_20_or_80_in_the_window(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    rules = (
        TriggerRule(uuid4(), "Контракты", Criteria(world.contracts), 1000, 30),
        TriggerRule(uuid4(), "ЭЦП", Criteria(words=("подпис",)), 1000, 10),
        TriggerRule(uuid4(), "Чаще обычного", Criteria(world.contracts), 1000, 60, Decimal(3)),
    )
    desk.set_trigger_rules(world.admin, rules)
    people = requesters(world, 80)
    reads = CountingReads(projections.db)
    clock = Clock()
    process = IncidentProcess(desk, reads, now=clock)
    seen = []
    for few in (people[:20], people[20:]):
        for p in few:
            file(world, p)
        projections.catch_up()
        clock.now = datetime.now(UTC)
        reads.log.clear()
        assert process.tick() == 0
        seen.append(list(reads.log))
        with projections.db.read() as tx:
            kept, missing = kept_counts(tx, rules, clock.now)
            assert missing == () and kept == scan_counts(tx, rules, clock.now)
    assert [kept[r.id].count for r in rules] == [80, 80, 80]
    fewer, more = seen
    assert len(fewer) == len(more) == 3, "counts and usual rates, requests to link, to deliver"
    assert [rows for _, rows in fewer] == [rows for _, rows in more] == [3, 0, 0]
    assert not [sql for sql, _ in fewer + more if "v_incident_requests" in sql]


def test_a_changed_rule_counts_the_requests_already_in_its_window(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    people = requesters(world, 5)
    for i, p in enumerate(people):
        file(world, p, "Ошибка ЭЦП" if i < 3 else "Не грузится файл")
    rule = TriggerRule(uuid4(), "Контракты", Criteria(world.contracts), 100, 10)
    desk.set_trigger_rules(world.admin, (rule,))
    projections.catch_up()
    now = datetime.now(UTC)
    with projections.db.read() as tx:
        assert kept_counts(tx, (rule,), now) == (
            {rule.id: window_counts(tx, (rule,), now)[rule.id]},
            (),
        )
        assert window_counts(tx, (rule,), now)[rule.id].count == 5, "filed before the rule"

    words = TriggerRule(rule.id, "ЭЦП", Criteria(words=("эцп",)), 100, 10)
    desk.set_trigger_rules(world.admin, (words,))
    with projections.db.read() as tx:  # the view has not heard of the change yet
        assert kept_counts(tx, (words,), now)[1] == (words,)
        assert window_counts(tx, (words,), now)[words.id].count == 3, "counted the long way"
    projections.catch_up()
    with projections.db.read() as tx:
        kept, missing = kept_counts(tx, (words,), now)
        assert missing == () and kept[words.id].count == 3, "matched anew on the change"

    longer = TriggerRule(rule.id, "ЭЦП", Criteria(words=("эцп",)), 100, 24 * 60)
    desk.set_trigger_rules(world.admin, (longer,))
    projections.catch_up()
    with projections.db.read() as tx:
        kept, missing = kept_counts(tx, (longer,), datetime.now(UTC))
        assert missing == () and kept[longer.id].count == 3, "a longer window, covered"

    desk.set_trigger_rules(world.admin, ())
    projections.catch_up()
    with projections.db.read() as tx:
        for table in ("v_incident_rules", "v_incident_matches", "v_incident_counts"):
            assert tx.all(f"SELECT * FROM {table}") == [], f"{table}: the rule's counts went"


def test_queued_and_linked_requests_stop_counting_and_one_no_incident_takes_counts_again(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    rule = TriggerRule(uuid4(), "ЭЦП", Criteria(words=("эцп",)), 100, 60)
    desk.set_trigger_rules(world.admin, (rule,))
    people = requesters(world, 5)
    tickets = [file(world, p, f"Ошибка ЭЦП {i}") for i, p in enumerate(people[:4])]
    projections.catch_up()

    def counted() -> int:
        now = datetime.now(UTC)
        with projections.db.read() as tx:
            kept, missing = kept_counts(tx, (rule,), now)
            assert missing == () and kept == scan_counts(tx, (rule,), now)
            return kept[rule.id].count

    assert counted() == 4
    opened = desk.open_incident(
        world.developer,
        "Сбой ЭЦП",
        "Знаем, чиним.",
        Criteria(words=("эцп",)),
        datetime.now(UTC) - timedelta(hours=1),
    )
    projections.catch_up()
    with projections.db.read() as tx:
        assert sorted(todo(tx)[str(opened.id)]) == sorted(str(t) for t in tickets)
    assert counted() == 0, "queued for linking: explained already"
    desk.resolve(world.agent, tickets[0], "Решено отдельно")
    projections.catch_up()
    assert counted() == 1, "resolved before it was linked: it left the queue and counts again"

    settle(projections, IncidentProcess(desk, projections.db))
    incident = desk.incident(world.developer, opened.id)
    assert isinstance(incident, MassIncident) and set(incident.links) == set(tickets[1:])
    assert counted() == 1
    late = file(world, people[4], "Снова ЭЦП")
    projections.catch_up()
    assert counted() == 1, "filed while the incident is open: queued at once"
    settle(projections, IncidentProcess(desk, projections.db))
    desk.unlink_from_incident(world.agent, opened.id, late)
    projections.catch_up()
    assert counted() == 1, "taken out by hand: never counts again"
    desk.close_ticket(world.agent, tickets[0], "Подтверждено")
    projections.catch_up()
    assert counted() == 0, "closed"


# -- the counts kept against the long way, over random histories fed to the view --------------
CATEGORIES = (
    UUID("0a2b61f6-0d4e-4f51-9a3f-1f0b2d0c0001"),
    UUID("0a2b61f6-0d4e-4f51-9a3f-1f0b2d0c0002"),
)
WORDS = ("эцп", "подпись", "сбой")
RULE_IDS = tuple(uuid4() for _ in range(4))


@dataclass
class History:
    """Events made up for the view, and what they did, to pick sensible next events."""

    rng: random.Random
    now: datetime
    versions: dict[UUID, int] = field(default_factory=dict)
    requests: list[tuple[UUID, datetime]] = field(default_factory=list)
    closed: set[UUID] = field(default_factory=set)
    proposed: list[UUID] = field(default_factory=list)
    open: list[UUID] = field(default_factory=list)
    links: dict[UUID, set[UUID]] = field(default_factory=dict)
    rules: tuple[TriggerRule, ...] = ()

    def event(self, cls: type[Any], aggregate: type[Any] | None, **values: Any) -> Any:
        originator = values.pop("id", None) or uuid4()
        version = self.versions[originator] = self.versions.get(originator, 0) + 1
        extra = {"originator_topic": get_topic(aggregate)} if aggregate else {}
        at = values.pop("at", self.now)
        return cls(
            originator_id=originator,
            originator_version=version,
            timestamp=at,
            chain="",
            **extra,
            **values,
        )

    def filing(
        self, at: datetime, category: UUID, subject: str, description: str, fields: dict[str, str]
    ) -> Any:
        e = self.event(
            Ticket.Filed,
            Ticket,
            at=at,
            number=len(self.requests) + 1,
            channel=Channel.API,
            requester_id=None,
            contact=None,
            organisation_id=None,
            category_id=category,
            subject=subject,
            description=description,
            fields=fields,
            priority=Priority.NORMAL,
        )
        self.requests.append((e.originator_id, at))
        return e

    def criteria(self) -> Criteria:
        r = self.rng
        return r.choice(
            [
                Criteria(r.choice(CATEGORIES)),
                Criteria(words=(r.choice(WORDS),)),
                Criteria(field_key="law", field_value=r.choice(["44-FZ", "223-fz"])),
                Criteria(r.choice(CATEGORIES), words=tuple(r.sample(WORDS, 2))),
            ]
        )

    def next(self) -> Any:
        r, roll = self.rng, self.rng.random()
        pace = r.random()  # mostly seconds apart, sometimes minutes, now and then hours
        step = r.uniform(0, 3) if pace < 0.85 else r.uniform(30, 300) if pace < 0.96 else 9000
        self.now += timedelta(seconds=step)
        live = [t for t, _ in self.requests if t not in self.closed]
        if roll < 0.45 or not live:
            at = self.now - timedelta(seconds=r.uniform(0, 2)) if r.random() < 0.2 else self.now
            words = " ".join(r.sample(WORDS, r.randint(0, 2)))
            return self.filing(
                at,
                r.choice(CATEGORIES),
                f"Заявка {words}",
                "Ошибка" + (" ЭЦП" if r.random() < 0.2 else ""),
                {"law": r.choice(["44-FZ", "223-FZ", " 44-fz "])},
            )
        if roll < 0.53:
            pool = [
                TriggerRule(i, f"Правило {n}", self.criteria(), 1, r.choice([1, 2, 5, 17, 60]))
                for n, i in enumerate(r.sample(RULE_IDS, r.randint(0, 3)))
            ]
            kept = [
                TriggerRule(x.id, x.name, x.criteria, 1, r.choice([x.window_minutes, 3, 90]))
                for x in self.rules
                if r.random() < 0.5 and x.id not in {p.id for p in pool}
            ]
            rate = [
                TriggerRule(x.id, x.name, Criteria(CATEGORIES[0]), 1, x.window_minutes, Decimal(2))
                for x in pool[:1]
                if r.random() < 0.3
            ]
            self.rules = tuple(rate + pool[len(rate) :] + kept)
            return self.event(Triggers.RulesChanged, None, id=uuid4(), by=None, rules=self.rules)
        if roll < 0.58:
            since = self.now - timedelta(minutes=r.uniform(0, 120))
            e = self.event(
                MassIncident.Opened,
                MassIncident,
                by=uuid4(),
                title="Сбой",
                description="Чиним",
                criteria=self.criteria() if r.random() < 0.9 else Criteria(),
                since=since if r.random() < 0.9 else None,
            )
            self.open.append(e.originator_id)
            return e
        if roll < 0.61:
            e = self.event(
                MassIncident.Proposed,
                MassIncident,
                rule_id=uuid4(),
                rule_name="Правило",
                criteria=self.criteria(),
                since=self.now - timedelta(minutes=r.uniform(0, 60)),
                count=1,
                groups=(uuid4(),),
            )
            self.proposed.append(e.originator_id)
            return e
        if roll < 0.64 and self.proposed:
            incident = self.proposed.pop(r.randrange(len(self.proposed)))
            if r.random() < 0.3:
                return self.event(MassIncident.Dismissed, None, id=incident, by=uuid4(), reason="")
            self.open.append(incident)
            return self.event(
                MassIncident.Accepted,
                None,
                id=incident,
                by=uuid4(),
                title="Сбой",
                description="Чиним",
                criteria=self.criteria(),
            )
        if roll < 0.74 and self.open:
            incident = r.choice(self.open)
            tickets = tuple(r.sample(live, min(len(live), r.randint(1, 4))))
            self.links.setdefault(incident, set()).update(tickets)
            return self.event(MassIncident.Linked, None, id=incident, by=None, ticket_ids=tickets)
        if roll < 0.78 and any(self.links.values()):
            incident = r.choice([i for i, ts in self.links.items() if ts])
            ticket = r.choice(sorted(self.links[incident]))
            self.links[incident].discard(ticket)
            return self.event(
                MassIncident.Unlinked, None, id=incident, by=uuid4(), ticket_id=ticket
            )
        if roll < 0.80 and self.open:
            incident = self.open.pop(r.randrange(len(self.open)))
            return self.event(
                MassIncident.Resolved,
                None,
                id=incident,
                by=uuid4(),
                answer="",
                resolve_requests=False,
            )
        ticket = r.choice(live)
        kind = r.choice([Ticket.Resolved, Ticket.Resolved, Ticket.Reopened, Ticket.Closed])
        if kind is Ticket.Closed:
            self.closed.add(ticket)
            return self.event(kind, None, id=ticket, by=uuid4(), reason="")
        if kind is Ticket.Resolved:
            return self.event(kind, None, id=ticket, by=uuid4(), resolution="")
        return self.event(kind, None, id=ticket, by=uuid4(), reason="")

    def instants(self) -> list[datetime]:
        """When to compare: now and later, exactly at filings, exactly a window after them,
        on and just off whole seconds and minutes."""
        r, now = self.rng, self.now
        recent = [at for _, at in self.requests[-40:]]
        found = [now, now + timedelta(minutes=r.uniform(0, 90))]
        found += r.sample(recent, min(4, len(recent)))
        for rule in self.rules:
            for at in r.sample(recent, min(2, len(recent))):
                found.append(at + timedelta(minutes=rule.window_minutes))
        whole = now.replace(second=0, microsecond=0) + timedelta(minutes=r.randint(0, 5))
        found += [
            whole,
            whole - timedelta(microseconds=1),
            whole + timedelta(seconds=r.randint(1, 59)),
        ]
        return found


def assert_buckets_sum_the_matches(tx: Tx) -> None:
    """Per rule, the seconds and the minutes each add up to the matches kept."""
    matches = tx.all("SELECT rule_id, COUNT(*) FROM v_incident_matches GROUP BY rule_id")
    for span in (1, 60):
        buckets = tx.all(
            "SELECT rule_id, SUM(count) FROM v_incident_counts WHERE span = %s GROUP BY rule_id"
            " HAVING SUM(count) <> 0",
            (span,),
        )
        assert sorted((r, int(n)) for r, n in buckets) == sorted(matches), span


class Failed(Exception):
    """Raised inside a batch to roll it back."""


def test_the_counts_kept_equal_the_long_way_over_random_histories(
    projections: Projections,
) -> None:
    db, view = projections.db, IncidentsView()
    start = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    week = slot(start)[0]
    checked = kept_total = 0
    for seed in range(4):
        with db.tx() as tx:
            for table in view.tables:
                tx.execute(f"DELETE FROM {table}")
            tx.executemany(  # a usual rate for the rate rules: 40 an hour, three weeks
                "INSERT INTO v_incident_rates (category_id, week, hour, count)"
                " VALUES (%s, %s, %s, 40)",
                [(str(CATEGORIES[0]), w, h) for w in range(week - 3, week) for h in range(168)],
            )
        history = History(random.Random(seed), start)
        position, last_change = 0, start
        while position < 240:
            batch = [history.next() for _ in range(history.rng.randint(1, 25))]
            if history.rng.random() < 0.15:  # a batch that fails half way leaves nothing behind
                try:
                    with db.tx() as tx:
                        view.begin()
                        for e in batch[: len(batch) // 2 + 1]:
                            view.handle(tx, e, position)
                        raise Failed
                except Failed:
                    pass
            with db.tx() as tx:
                view.begin()
                for e in batch:
                    position += 1
                    view.handle(tx, e, position)
                    if isinstance(e, Triggers.RulesChanged):
                        last_change = e.timestamp
                view.flush(tx)
            with db.read() as tx:
                for now in history.instants():
                    kept, missing = kept_counts(tx, history.rules, now)
                    scanned = scan_counts(tx, history.rules, now)
                    assert kept == {k: v for k, v in scanned.items() if k in kept}, (seed, now)
                    assert window_counts(tx, history.rules, now) == scanned
                    if now >= max(history.now, last_change):
                        assert missing == (), "from the last change on, every rule is kept"
                    checked += len(scanned)
                    kept_total += sum(c.count for c in kept.values())
                assert_buckets_sum_the_matches(tx)
    assert checked > 500 and kept_total > 500, "the histories exercised the counts"


def test_old_counts_are_pruned_and_asking_back_then_still_answers_exactly(
    projections: Projections,
) -> None:
    db, view = projections.db, IncidentsView()
    history = History(random.Random(7), datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    rule = TriggerRule(RULE_IDS[0], "Контракты", Criteria(CATEGORIES[0]), 1, 5)
    history.rules = (rule,)
    first = history.event(Triggers.RulesChanged, None, id=uuid4(), by=None, rules=(rule,))
    with db.tx() as tx:
        view.begin()
        view.handle(tx, first, 1)
        view.flush(tx)
    early = history.now
    for _ in range(18):  # three hours of filings, a minute apart, in batches of ten
        with db.tx() as tx:
            view.begin()
            for _ in range(10):
                history.now += timedelta(minutes=1)
                e = history.filing(history.now, CATEGORIES[0], "Заявка", "", {})
                view.handle(tx, e, len(history.requests) + 1)
            view.flush(tx)
    with db.read() as tx:
        (since,) = tx.one("SELECT since FROM v_incident_rules") or (None,)
        oldest = tx.one("SELECT MIN(filed_at) FROM v_incident_matches")
        assert since is not None and since > stamp(early + timedelta(hours=2)), "moved on"
        assert oldest is not None and oldest[0] >= since
        then = early + timedelta(minutes=30)
        assert kept_counts(tx, (rule,), then)[1] == (rule,), "pruned: not kept that far back"
        assert window_counts(tx, (rule,), then) == scan_counts(tx, (rule,), then)
        assert window_counts(tx, (rule,), then)[rule.id].count == 5
        assert kept_counts(tx, (rule,), history.now)[0][rule.id].count == 5


def test_a_store_of_the_earlier_shape_is_rebuilt_with_its_counts(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    rule = TriggerRule(uuid4(), "Контракты", Criteria(world.contracts), 100, 10)
    desk.set_trigger_rules(world.admin, (rule,))
    for p in requesters(world, 3):
        file(world, p)
    projections.catch_up()
    with projections.db.tx() as tx:  # as shape 1 left it: no counted column, no counts
        for table in ("v_incident_requests", "v_incident_rules", "v_incident_matches"):
            tx.execute(f"DROP TABLE {table}")
        tx.execute("DROP TABLE v_incident_counts")
        tx.execute(
            "CREATE TABLE v_incident_requests (ticket_id TEXT PRIMARY KEY,"
            " category_id TEXT NOT NULL, filed_at TEXT NOT NULL, fields TEXT NOT NULL,"
            " text TEXT NOT NULL, active INTEGER NOT NULL, incident_id TEXT)"
        )
        tx.execute("UPDATE v_shapes SET shape = 1 WHERE view = 'incidents'")
    projections.migrate()
    projections.catch_up()
    now = datetime.now(UTC)
    with projections.db.read() as tx:
        kept, missing = kept_counts(tx, (rule,), now)
        assert missing == () and kept[rule.id].count == 3


def test_a_request_with_a_nul_counts_as_the_store_keeps_its_text(
    projections: Projections,
) -> None:
    """PostgreSQL text cannot hold NUL (the view stores U+FFFD there): a rule counts what the
    long way would read back, on either store."""
    db, view = projections.db, IncidentsView()
    history = History(random.Random(3), datetime.now(UTC) - timedelta(minutes=1))
    nul = TriggerRule(RULE_IDS[0], "NUL", Criteria(words=("\x00",)), 1, 5)
    replaced = TriggerRule(RULE_IDS[1], "U+FFFD", Criteria(words=("\ufffd",)), 1, 5)
    history.rules = (nul, replaced)
    with db.tx() as tx:
        view.begin()
        view.handle(tx, history.event(Triggers.RulesChanged, None, by=None, rules=history.rules), 1)
        view.handle(tx, history.filing(history.now, CATEGORIES[0], "Сбой\x00", "", {}), 2)
        view.flush(tx)
    with db.read() as tx:
        kept, missing = kept_counts(tx, history.rules, history.now)
        assert missing == () and kept == scan_counts(tx, history.rules, history.now)
        expected = (0, 1) if tx.dialect == "postgres" else (1, 0)
        assert (kept[nul.id].count, kept[replaced.id].count) == expected
