"""`./scripts/bench sla`: the SLA view and process on PostgreSQL.

1. Files `--tickets` requests under an SLA policy and gives each a life (information requested
   and provided, a reply, resolution for some), then rebuilds the SLA view alone: events handled
   per second, and open requests per second of events (target: 1,000 open tickets' events/s).
2. Puts `--clocks` open clocks (synthetic rows, 1% of them due) in the SLA view and times the
   process's check (`due_soon`: the indexed range scan of what is due) and one whole tick.
Targets (issue 7): keeps up with 1,000 open tickets per second of events; 100,000 open clocks
checked in under a second. Measured, not asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from tqdm import tqdm

from domain.desk import Desk
from domain.sla_setup import DEFAULT_CALENDARS, Policy
from processes.sla_timer import SlaTimer
from projections.sla import COLUMNS, due_soon, stamp
from projections.system import Projections
from scripts.bench_machine import (
    DEFAULT_PG_URL,
    bench_desk,
    ms,
    pct,
    print_machine,
    table,
    verdict,
)
from tests.world import World


def life(desk: Desk, world: World, tickets: int) -> int:
    """Files the requests and plays their lives; returns the events written."""
    agent, requester = world.agent, world.requester
    for i in tqdm(range(tickets), unit="request", desc="filing", file=sys.stderr):
        t = world.file(f"Контракт {i} не публикуется").id
        desk.request_information(agent, t, ("signed_on",), (), "Уточните дату")
        desk.provide_information(requester, t, {"signed_on": "2026-11-20"}, ())
        desk.reply(agent, t, "Проверяем")
        if i % 3 == 0:
            desk.resolve(agent, t, "Готово")
    return desk.recorder.max_notification_id() or 0


def rebuild_sla(projections: Projections, head: int) -> tuple[int, float]:
    runner = projections.runner("sla")
    handled = 0
    with tqdm(total=head, unit="event", desc="rebuild sla", file=sys.stderr) as bar:

        def progress(n: int) -> None:
            nonlocal handled
            handled += n
            bar.update(n)

        started = time.perf_counter()
        runner.rebuild(progress)
        return handled, time.perf_counter() - started


def synthetic_clocks(projections: Projections, n: int, policy: str) -> datetime:
    """`n` open clocks, 1% of them due now; returns 'now'."""
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        due = (
            now - timedelta(minutes=1)
            if i % 100 == 0
            else now + timedelta(hours=random.randint(1, 500))
        )
        values: dict[str, Any] = dict.fromkeys(COLUMNS)
        values.update(
            ticket_id=str(uuid4()),
            category_id=str(uuid4()),
            priority="normal",
            status="open",
            line=1,
            filed_at=stamp(now),
            intervals="[]",
            policy_id=policy,
            policy_name="bench",
            fired="[]",
            next_alarm=stamp(due),
            next_kind="resolution_breach",
            version=1,
        )
        rows.append(tuple(values[c] for c in COLUMNS))
    with projections.db.tx() as tx:
        for start in tqdm(range(0, n, 5000), unit="x5000 clocks", desc="clocks", file=sys.stderr):
            tx.executemany(
                f"INSERT INTO v_sla ({', '.join(COLUMNS)}) VALUES"
                f" ({', '.join(['%s'] * len(COLUMNS))})",
                rows[start : start + 5000],
            )
    return now


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench sla", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--clocks", type=int, default=100_000)
    args = parser.parse_args(argv)
    url = args.database_url
    print("suz bench sla: the SLA view and process on PostgreSQL\n")
    print_machine(url)
    with bench_desk(url, "bench_sla") as b:
        desk, projections = b.desk, b.projections
        world = World.build(desk)
        policy = Policy(uuid4(), "bench", 60, 480, category_id=world.contracts)
        desk.set_sla(world.admin, DEFAULT_CALENDARS, (policy,), 5)
        head = life(desk, world, args.tickets)
        handled, took = rebuild_sla(projections, head)
        projections.catch_up()
        with projections.db.read() as tx:
            open_rows = int(tx.one("SELECT COUNT(*) FROM v_sla")[0])  # type: ignore[index]
        later = datetime.now(UTC) + timedelta(days=30)  # every open deadline has passed
        timer = SlaTimer(desk, projections.db, now=lambda: later)
        started = time.perf_counter()
        raised = timer.tick()
        tick = time.perf_counter() - started
        now = synthetic_clocks(projections, args.clocks, str(policy.id))
        with projections.db.read() as tx:
            total = int(tx.one("SELECT COUNT(*) FROM v_sla")[0])  # type: ignore[index]
            checks = []
            for _ in range(50):
                started = time.perf_counter()
                found = due_soon(tx, now, limit=2000)
                checks.append(time.perf_counter() - started)
    rate = handled / took
    per_ticket = handled / args.tickets
    print("\nSLA view rebuild (the SLA view alone; it reads only its events)")
    print(
        table(
            [
                "requests",
                "events handled",
                "s",
                "events/s",
                "requests' lives/s",
                "open at end",
                ">= 1,000 events/s",
            ],
            [
                [
                    f"{args.tickets:,}",
                    f"{handled:,}",
                    f"{took:,.1f}",
                    f"{rate:,.0f}",
                    f"{rate / per_ticket:,.0f}",
                    f"{open_rows:,}",
                    verdict(rate >= 1000),
                ]
            ],
        )
    )
    print(f"\nChecking open clocks ({total:,} rows in v_sla; {len(found):,} due)")
    print(
        table(
            ["what", "p50", "p95", "max", "< 1 s"],
            [
                [
                    "due_soon (indexed scan of what is due)",
                    ms(pct(checks, 50)),
                    ms(pct(checks, 95)),
                    ms(max(checks)),
                    verdict(pct(checks, 95) < 1.0),
                ],
            ],
        )
    )
    print(
        f"\nOne tick with every real request overdue: {raised:,} alarms and escalations"
        f" written in {tick:,.2f} s ({raised / tick:,.0f} commands/s)"
    )
    print(
        "\n(a request's life here is",
        f"{per_ticket:.1f} events; 1,000 open requests per second"
        " of events means 1,000 such changes/s; see docs/performance.md)",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
