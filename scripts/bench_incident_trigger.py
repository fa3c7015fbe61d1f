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
from projections.db import Tx
from projections.incident_process import IncidentProcess
from projections.system import Projections
from scripts.bench_machine import DEFAULT_PG_URL, load, temp_schema
from tests.world import World

WINDOW = timedelta(minutes=30)
BATCH = 1000


@contextmanager
def store(backend: str, url: str) -> Iterator[tuple[Desk, Projections]]:
    with tempfile.TemporaryDirectory() as tmp, _schema(backend, url) as schema:
        if schema:
            os.environ["SUZ_DATABASE_SCHEMA"] = schema
        settings = Settings(data_dir=Path(tmp), database_url=url if schema else None)
        desk = Desk(settings.store_env(create_tables=True))
        projections = Projections(desk, settings)
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


def filings(categories: tuple[UUID, UUID], n: int, now: datetime) -> Iterator[Any]:
    rng = random.Random(n)
    for i in range(n):
        at = now - WINDOW * (i + 0.5) / max(n, 1)
        words = rng.choice(["", "", "ЭЦП", "сбой", "подпись не проходит"])
        yield Ticket.Filed(  # type: ignore[call-arg]
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


def timed(run: Any, times: int) -> tuple[float, float]:
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        run()
        spent.append(time.perf_counter() - began)
    return statistics.median(spent) * 1e3, statistics.mean(spent) * 1e3


def bench(backend: str, url: str, n: int, ticks: int) -> list[str]:
    with store(backend, url) as (desk, projections):
        world = World.build(desk)
        other = desk.define_category(SYSTEM, "Подпись", "Signing", (), world.line1).id
        kept = rules(world, other)
        desk.set_trigger_rules(world.admin, kept)
        runner = projections.runner("incidents")
        runner.catch_up()
        view, db = runner.view, projections.db
        now = datetime.now(UTC)
        events = list(filings((world.contracts, other), n, now))
        began = time.perf_counter()
        for i in range(0, len(events), BATCH):
            with db.tx() as tx:
                view.begin()
                for position, e in enumerate(events[i : i + BATCH], start=i + 1):
                    view.handle(tx, e, position)
                view.flush(tx)
        projected = time.perf_counter() - began
        process = IncidentProcess(desk, db, now=lambda: now)
        process.tick()  # warm: the rules' aggregate cached, plans made
        tick = timed(process.tick, ticks)
        with db.read() as tx:
            counts = incidents_view.window_counts(tx, kept, now)
            counted, _ = timed(lambda: incidents_view.window_counts(tx, kept, now), ticks)
            alt = "-"
            if "v_incident_matches" in getattr(view, "tables", ()):
                match_table_counts(tx, kept, now)
                median, _ = timed(lambda: match_table_counts(tx, kept, now), ticks)
                alt = f"{median:.2f}"
        rate = f"{n / projected:,.0f}" if n else "-"
        total = sum(c.count for c in counts.values())
        row = [f"{tick[0]:.2f}", f"{tick[1]:.2f}", f"{counted:.2f}", alt, rate, f"{total:,}"]
        return [f"{n:,}", *row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--url", default=DEFAULT_PG_URL)
    parser.add_argument("--sizes", default="0,3600,36000")
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--label", default="this tree")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    print(f"{args.label}: {Path(incidents_view.__file__).resolve().parent.parent}")
    print(f"load avg {load()}")
    headers = (
        "backend",
        "requests in window",
        "tick p50 ms",
        "tick mean ms",
        "window_counts p50 ms",
        "match-table count ms",
        "filings projected/s",
        "sum of counts",
    )
    print(" | ".join(headers))
    for backend in backends:
        for n in (int(s) for s in args.sizes.split(",")):
            row = bench(backend, args.url, n, args.ticks)
            print(" | ".join([backend, *row]), flush=True)


if __name__ == "__main__":
    main()
