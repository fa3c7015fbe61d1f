"""How long the incident process's tick takes with 0, 3,600 and 36,000 requests in the triggers'
window (issue 15: it must not grow with the filing rate), and what projecting those filings
costs the incidents view. Prints figures; asserts nothing.

Five trigger rules (the longest window 30 minutes, one a rate rule); the requests are filed over
the 30 minutes before `now`, in two categories, some with words or a field value the rules
match, and projected into the incidents view in batches of 1,000 (as a runner or the pump
would). The tick is `IncidentProcess.tick` at that `now` (no rule fires: thresholds are high).
With the counts kept by the view (projections/trigger_counts.py) it also times the alternative
of counting the per-rule match table with its index instead of reading the buckets.

The same script runs against an older tree to compare, e.g.:
    git worktree add /tmp/suz-old <commit>
    cd /tmp/suz-old && PYTHONPATH=/tmp/suz-old /work/main/.venv/bin/python \\
        /work/main/scripts/bench_incident_trigger.py --label old
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.utils import get_topic

import projections.incidents as incidents_view
from domain.desk import SYSTEM, Desk
from domain.incidents import Criteria, TriggerRule
from domain.settings import Settings
from domain.ticket import Channel, Priority, Ticket
from processes.incidents import IncidentProcess
from processes.system import read_side
from projections.base import View
from projections.db import Tx, ViewDB
from projections.system import Projections
from scripts.bench_machine import DEFAULT_PG_URL, load, table, temp_schema
from tests.world import World

WINDOW = timedelta(minutes=30)
TICK_HEADERS = (
    "backend",
    "requests in window",
    "tick p50 ms",
    "tick mean ms",
    "tick CPU p50 ms",
    "window_counts p50 ms",
    "match-table count p50 ms",
    "filings projected/s",
    "sum of counts",
)
BATCH = 1000


@contextmanager
def store(backend: str, url: str) -> Iterator[tuple[Desk, Projections]]:
    with tempfile.TemporaryDirectory() as tmp, _schema(backend, url) as schema:
        if schema:
            os.environ["SUZ_DATABASE_SCHEMA"] = schema
        settings = Settings(data_dir=Path(tmp), database_url=url if schema else None)
        desk = Desk(settings.store_env(create_tables=True))
        projections = read_side(desk, settings)
        projections.migrate()
        try:
            yield desk, projections
        finally:
            projections.stop()
            projections.db.close_all()
            desk.close()


@contextmanager
def _schema(backend: str, url: str) -> Iterator[str | None]:
    if backend == "sqlite":
        yield None
        return
    with temp_schema(url, "bench_trigger") as schema:
        yield schema


def rules(world: World, other: UUID) -> tuple[TriggerRule, ...]:
    high = 100_000  # never fires: the tick only counts
    return (
        TriggerRule(uuid4(), "Контракты", Criteria(world.contracts), high, 30),
        TriggerRule(uuid4(), "ЭЦП", Criteria(words=("эцп", "подпись")), high, 10),
        TriggerRule(uuid4(), "44-ФЗ", Criteria(field_key="law", field_value="44-FZ"), high, 15),
        TriggerRule(uuid4(), "Подпись чаще обычного", Criteria(other), high, 30, Decimal(3)),
        TriggerRule(uuid4(), "Подпись и сбой", Criteria(other, words=("сбой",)), high, 5),
    )


def filings(categories: tuple[UUID, UUID], n: int, end: datetime, span: timedelta) -> list[Any]:
    """`n` requests filed evenly over `span` up to `end`, oldest first."""
    rng = random.Random(n)
    found = []
    for i in range(n):
        at = end - span * (n - i - 0.5) / n
        words = rng.choice(["", "", "ЭЦП", "сбой", "подпись не проходит"])
        found.append(
            Ticket.Filed(  # type: ignore[call-arg]
                originator_id=uuid4(),
                originator_version=1,
                timestamp=at,
                originator_topic=get_topic(Ticket),
                chain="",
                number=i + 1,
                channel=Channel.API,
                requester_id=None,
                contact=None,
                organisation_id=None,
                category_id=rng.choice(categories),
                subject=f"Контракт {i} не публикуется {words}",
                description="При публикации ошибка.",
                fields={"law": rng.choice(["44-FZ", "223-FZ"])},
                priority=Priority.NORMAL,
            )
        )
    return found


def project(db: ViewDB, view: View, events: list[Any], batch: int) -> tuple[float, float]:
    """Projects the events in batches as a runner does; (wall, CPU) seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(events), batch):
        with db.tx() as tx:
            view.begin()
            for position, e in enumerate(events[i : i + batch], start=i + 1):
                view.handle(tx, e, position)
            view.flush(tx)
    return time.perf_counter() - wall, time.process_time() - cpu


def match_table_counts(tx: Tx, kept: tuple[TriggerRule, ...], now: datetime) -> int:
    """The alternative: every rule's window counted on the match table's index, one query."""
    stamp = incidents_view.stamp
    parts, params = [], []
    for r in kept:
        parts.append(
            "SELECT COUNT(*) FROM v_incident_matches WHERE rule_id = %s"
            " AND filed_at > %s AND filed_at <= %s"
        )
        params += [str(r.id), stamp(now - timedelta(minutes=r.window_minutes)), stamp(now)]
    return sum(int(n) for (n,) in tx.all(" UNION ALL ".join(parts), params))


def timed(run: Any, times: int) -> tuple[float, float, float]:
    """Median and mean wall milliseconds, median CPU milliseconds."""
    spent, cpu = [], []
    for _ in range(times):
        began, used = time.perf_counter(), time.process_time()
        run()
        spent.append(time.perf_counter() - began)
        cpu.append(time.process_time() - used)
    ms = 1e3
    return statistics.median(spent) * ms, statistics.mean(spent) * ms, statistics.median(cpu) * ms


@contextmanager
def incidents(
    backend: str, url: str
) -> Iterator[tuple[Desk, ViewDB, View, tuple[TriggerRule, ...], tuple[UUID, UUID]]]:
    """A desk with the five rules set, and its incidents view caught up."""
    with store(backend, url) as (desk, projections):
        world = World.build(desk)
        other = desk.define_category(SYSTEM, "Подпись", "Signing", (), world.line1).id
        kept = rules(world, other)
        desk.set_trigger_rules(world.admin, kept)
        runner = projections.runner("incidents")
        runner.catch_up()
        yield desk, projections.db, runner.view, kept, (world.contracts, other)


def tick_row(backend: str, url: str, n: int, ticks: int) -> list[str]:
    """The tick with `n` requests filed over the 30 minutes before now."""
    with incidents(backend, url) as (desk, db, view, kept, categories):
        now = datetime.now(UTC)
        events = filings(categories, n, now, WINDOW)
        wall, _ = project(db, view, events, BATCH)
        process = IncidentProcess(desk, db, now=lambda: now)
        process.tick()  # warm: the rules' aggregate cached, plans made
        tick = timed(process.tick, ticks)
        with db.read() as tx:
            counts = incidents_view.window_counts(tx, kept, now)
            counted = timed(lambda: incidents_view.window_counts(tx, kept, now), ticks)[0]
            alt = "-"
            if "v_incident_matches" in view.tables:
                match_table_counts(tx, kept, now)
                alt = f"{timed(lambda: match_table_counts(tx, kept, now), ticks)[0]:.2f}"
        total = sum(c.count for c in counts.values())
        figures = [f"{x:.2f}" for x in (*tick, counted)]
        return [backend, f"{n:,}", *figures, alt, f"{n / wall:,.0f}" if n else "-", f"{total:,}"]


def filing_row(backend: str, url: str, n: int, rate: int, batch: int) -> list[str]:
    """Projecting `n` filings arriving at `rate` a second, `batch` to a transaction."""
    with incidents(backend, url) as (_, db, view, _, categories):
        events = filings(categories, n, datetime.now(UTC), timedelta(seconds=n / rate))
        wall, cpu = project(db, view, events, batch)
        return [
            backend,
            f"{n:,} at {rate}/s",
            str(batch),
            f"{wall / n * 1e6:.0f}",
            f"{cpu / n * 1e6:.0f}",
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--url", default=DEFAULT_PG_URL)
    parser.add_argument("--sizes", default="0,3600,36000")
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--filings", type=int, default=10_000)
    parser.add_argument("--batches", default="1,100", help="filings per batch ('' skips)")
    parser.add_argument("--label", default="this tree")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    print(f"{args.label}: {Path(incidents_view.__file__).resolve().parent.parent}")
    print(f"load avg {load()}")
    sizes = [int(n) for n in args.sizes.split(",") if n]
    ticks = [tick_row(b, args.url, n, args.ticks) for b in backends for n in sizes]
    if ticks:
        print()
        print(table(TICK_HEADERS, ticks))
    batches = [int(k) for k in args.batches.split(",") if k]
    writes = [filing_row(b, args.url, args.filings, 500, k) for b in backends for k in batches]
    if writes:
        print()
        print(
            table(("backend", "filings", "per batch", "us per filing", "CPU us per filing"), writes)
        )


if __name__ == "__main__":
    main()
