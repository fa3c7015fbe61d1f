"""The `core` benchmark's measurements: Desk commands against raw inserts, and long-ticket loads.

Writes: Desk commands run one after another, each its own transaction, interleaved in rounds
with raw inserts of the very rows the same command writes (same topics, same state bytes), so
drift in disk or server speed hits both sides alike. Loads: a ticket of 1,000 events read by a
fresh Desk whose aggregate cache is off, with snapshots and replayed without them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.sql import SQL, Identifier
from tqdm import tqdm

from domain.desk import Desk
from domain.settings import Settings
from domain.ticket import Ticket
from scripts.bench_profile import Breakdown, Split, profile_command, timed
from scripts.bench_raw import PostgresRaw, RawStore, Row, SqliteRaw
from tests.world import World

COMMANDS = ("note", "reply", "file_ticket")
NOTE = "Проверили подпись в ЕИС: сертификат действителен, ошибка воспроизводится. " * 2
REPLY = "Здравствуйте! Переподпишите документ и опубликуйте контракт повторно. " * 2
SNAPSHOT_EVERY = Desk.snapshotting_intervals[Ticket]


@dataclass(frozen=True)
class Options:
    iterations: int = 3000
    tickets: int = 100
    rounds: int = 30
    loads: int = 25
    load_events: int = 1000
    profile: str = "auto"  # auto (when below target), always, never
    profile_ops: int = 500
    target: float = 0.8
    overrides: dict[str, str] = field(default_factory=dict)


@dataclass
class Latencies:
    ns: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Operations per second of busy time."""
        return len(self.ns) / (sum(self.ns) / 1e9) if self.ns else 0.0

    @property
    def mean_us(self) -> float:
        return sum(self.ns) / len(self.ns) / 1e3 if self.ns else 0.0

    def ms(self, q: float) -> float:
        ordered = sorted(self.ns)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] / 1e6 if ordered else 0


@dataclass
class WriteResult:
    command: str
    desk: Latencies
    raw: Latencies
    rows: int  # rows per transaction
    payload: int  # state bytes per transaction
    split: Split = field(default_factory=Split)

    @property
    def ratio(self) -> float:
        return self.desk.rate / self.raw.rate if self.raw.rate else 0.0


@dataclass
class LoadResult:
    label: str
    snapshots: bool
    replayed: int
    lat: Latencies


@dataclass
class BackendResult:
    name: str
    writes: list[WriteResult]
    loads: list[LoadResult]
    profiles: list[Breakdown]


@dataclass
class Backend:
    name: str
    env: dict[str, str]  # the Desk's eventsourcing environment; its tables exist
    open_raw: Callable[[], RawStore]


@contextmanager
def sqlite_backend() -> Iterator[Backend]:
    """A temporary data directory; the raw table lives in a second file beside the store."""
    with tempfile.TemporaryDirectory(prefix="suz-bench-") as tmp:
        env = Settings(data_dir=Path(tmp) / "data", database_url=None).store_env(create_tables=True)
        yield Backend("SQLite", env, lambda: SqliteRaw(Path(tmp) / "raw.sqlite"))


@contextmanager
def postgres_backend(url: str) -> Iterator[Backend]:
    """A fresh schema in the database at `url`, dropped at the end."""
    schema = f"bench_{uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SQL("CREATE SCHEMA {0}").format(Identifier(schema)))
    try:
        with tempfile.TemporaryDirectory(prefix="suz-bench-") as tmp:
            env = Settings(data_dir=Path(tmp), database_url=url).store_env(create_tables=True)
            env["POSTGRES_SCHEMA"] = schema
            yield Backend("PostgreSQL", env, lambda: PostgresRaw(url, schema))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SQL("DROP SCHEMA {0} CASCADE").format(Identifier(schema)))


class Workload:
    """The Desk commands measured: a note or a reply on an existing ticket, filing a ticket."""

    def __init__(self, world: World, tickets: int) -> None:
        self.world = world
        self.tickets = [world.file().id for _ in range(tickets)]

    def run(self, command: str, i: int) -> None:
        w = self.world
        if command == "note":
            w.desk.note(w.agent, self.tickets[i % len(self.tickets)], NOTE)
        elif command == "reply":
            w.desk.reply(w.agent, self.tickets[i % len(self.tickets)], REPLY)
        elif command == "file_ticket":
            w.file()
        else:
            raise ValueError(f"unknown command {command!r}")


def written_rows(desk: Desk, act: Callable[[], object]) -> list[Row]:
    """The event rows `act` wrote, read back from the Desk's events table."""
    before = desk.recorder.max_notification_id() or 0
    act()
    after = desk.recorder.max_notification_id() or 0
    found = desk.recorder.select_notifications(before + 1, after - before)
    return [(UUID(str(n.originator_id)), n.originator_version, n.topic, n.state) for n in found]


class RawRows:
    """Rows like a template transaction's: new aggregates get fresh ids, existing ones (a pool
    as large as the Desk's ticket pool) get their next versions."""

    def __init__(self, template: list[Row], pool: int | None) -> None:
        self.template = template
        self.pool = [uuid4() for _ in range(pool or 0)]
        self.versions = dict.fromkeys(self.pool, 0)

    def next(self, i: int) -> list[Row]:
        if not self.pool:
            ids = {row[0]: uuid4() for row in self.template}
            return [(ids[o], v, topic, state) for o, v, topic, state in self.template]
        target = self.pool[i % len(self.pool)]
        rows: list[Row] = []
        for _, _, topic, state in self.template:
            self.versions[target] += 1
            rows.append((target, self.versions[target], topic, state))
        return rows


def measure_writes(
    workload: Workload, raw: RawStore, command: str, opts: Options, bar: tqdm[Any]
) -> WriteResult:
    desk = workload.world.desk
    warm = max(20, opts.iterations // 50)
    for i in range(warm):
        workload.run(command, i)
    template = written_rows(desk, lambda: workload.run(command, warm))
    rows = RawRows(template, None if command == "file_ticket" else len(workload.tickets))
    for i in range(warm):
        raw.insert(rows.next(i))
    result = WriteResult(
        command, Latencies(), Latencies(), len(template), sum(len(r[3]) for r in template)
    )
    chunk = -(-opts.iterations // opts.rounds)
    for start in range(0, opts.iterations, chunk):
        stop = min(opts.iterations, start + chunk)
        with timed(desk, result.split):
            for i in range(start, stop):
                t0 = time.perf_counter_ns()
                workload.run(command, i)
                result.desk.ns.append(time.perf_counter_ns() - t0)
                bar.update()
        for i in range(start, stop):
            batch = rows.next(i)
            t0 = time.perf_counter_ns()
            raw.insert(batch)
            result.raw.ns.append(time.perf_counter_ns() - t0)
            bar.update()
    return result


def grow(world: World, ticket_id: UUID, events: int, bar: tqdm[Any]) -> None:
    """Adds notes to the ticket until it holds `events` events."""
    version = world.desk.ticket(world.agent, ticket_id).version
    while version < events:
        version = world.desk.note(world.agent, ticket_id, NOTE).version
        bar.update()


def measure_loads(
    env: dict[str, str], world: World, ticket_id: UUID, snapshots: bool, loads: int
) -> LoadResult:
    """Median-able load times of the ticket by a fresh Desk with its aggregate cache off."""
    fresh_env = dict(env, AGGREGATE_CACHE_MAXSIZE="", CREATE_TABLE="n")
    if not snapshots:
        fresh_env["IS_SNAPSHOTTING_ENABLED"] = "n"
    desk = Desk(fresh_env)
    try:
        if desk.repository.cache is not None:
            raise RuntimeError("the aggregate cache should be off for the load benchmark")
        version = desk.ticket(world.agent, ticket_id).version  # opens the connection
        lat = Latencies()
        for _ in range(loads):
            t0 = time.perf_counter_ns()
            ticket = desk.ticket(world.agent, ticket_id)
            lat.ns.append(time.perf_counter_ns() - t0)
            if ticket.version != version:
                raise RuntimeError("the ticket changed while it was being loaded")
    finally:
        desk.close()
    replayed = version - (version // SNAPSHOT_EVERY) * SNAPSHOT_EVERY if snapshots else version
    how = f"snapshot + {replayed} replayed" if snapshots else f"all {version:,} replayed"
    return LoadResult(f"{version:,} events, {how}", snapshots, replayed, lat)


def to_profile(writes: list[WriteResult], opts: Options) -> list[str]:
    """Every command (always), or the furthest below target (auto), or none (never)."""
    if opts.profile == "always":
        return [w.command for w in writes]
    worst = min(writes, key=lambda w: w.ratio)
    return [worst.command] if opts.profile == "auto" and worst.ratio < opts.target else []


def run_backend(backend: Backend, opts: Options) -> BackendResult:
    env = dict(backend.env, **opts.overrides)
    desk, raw = Desk(env), backend.open_raw()
    # the ticket again with the most events a load replays after its last snapshot (1,049)
    worst_case = opts.load_events // SNAPSHOT_EVERY * SNAPSHOT_EVERY + SNAPSHOT_EVERY - 1
    total = 2 * opts.iterations * len(COMMANDS) + worst_case
    try:
        with tqdm(total=total, desc=f"{backend.name:<10}", unit="op", leave=False) as bar:
            world = World.build(desk)
            workload = Workload(world, opts.tickets)
            writes = [measure_writes(workload, raw, c, opts, bar) for c in COMMANDS]
            ticket_id = world.file().id
            grow(world, ticket_id, opts.load_events, bar)
            loads = [measure_loads(env, world, ticket_id, s, opts.loads) for s in (True, False)]
            grow(world, ticket_id, worst_case, bar)
            loads.insert(1, measure_loads(env, world, ticket_id, True, opts.loads))
            commands = to_profile(writes, opts)
            bar.total = total + opts.profile_ops * len(commands)
            bar.refresh()
            profiles = [
                profile_command(desk, partial(workload.run, c), c, opts.profile_ops, bar.update)
                for c in commands
            ]
    finally:
        raw.close()
        desk.close()
    return BackendResult(backend.name, writes, loads, profiles)
