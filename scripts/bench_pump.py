"""`python -m scripts.bench_pump`: what keeping the views up to date costs a command, pump vs
runners.

A desk on PostgreSQL (a throw-away schema); a stream of replies and notes on 50
tickets. After each command the views are brought to the log's head either by the projection
pump (one batch for all views, one transaction) or by one runner per view (the design before
it: a transaction, a log read and a tracking row per view). Printed per command: the view side's
wall time, its waits for PostgreSQL (psycopg's `Connection.wait`: a round trip is at least one;
under load each costs a turn of the scheduler, so they set the live feed's delay) and its
PostgreSQL transactions (pg_stat_database.xact_commit, this database; other sessions' work is
included, so run it on a quiet database). Then every view rebuilt from the log at once, both
ways (events/s).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg

from domain.desk import Desk
from projections.system import Projections
from scripts.bench_machine import DEFAULT_PG_URL, bench_desk, print_machine, table
from tests.world import World

BODY = "Проверьте сертификат подписи и повторите отправку; если не поможет, пришлите журнал."


def commits(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def write(world: World, tickets: list[UUID], i: int) -> None:
    t = tickets[i % len(tickets)]
    if i % 3:
        world.desk.note(world.agent, t, f"Заметка {i}: {BODY}")
    else:
        world.desk.reply(world.agent, t, f"Ответ {i}: {BODY}")


def by_pump(p: Projections) -> None:
    p.pump.catch_up()


def by_runners(p: Projections) -> None:
    for r in p.runners:
        r.catch_up()


class Waits:
    """Counts psycopg's waits for the server while `counting` (all connections of this process)."""

    def __init__(self) -> None:
        self.counting, self.n = False, 0
        original = psycopg.Connection.wait

        def wait(conn: Any, *args: Any, **kwargs: Any) -> Any:
            if self.counting:
                self.n += 1
            return original(conn, *args, **kwargs)

        psycopg.Connection.wait = wait  # type: ignore[method-assign,assignment]


WAITS = Waits()


def per_command(
    world: World,
    p: Projections,
    tickets: list[UUID],
    n: int,
    how: Callable[[Projections], None],
    url: str | None,
) -> tuple[float, float, float]:
    """(ms of view work, waits for PostgreSQL, PostgreSQL commits), each per command."""
    spent, before, waits = 0.0, commits(url) if url else 0, WAITS.n
    for i in range(n):
        write(world, tickets, i)
        started = time.perf_counter()
        WAITS.counting = True
        how(p)
        WAITS.counting = False
        spent += time.perf_counter() - started
    after = commits(url) if url else 0
    return spent / n * 1000, (WAITS.n - waits) / n, (after - before) / n


def rebuild_rate(desk: Desk, p: Projections, how: Callable[[Projections], None]) -> float:
    """Events/s replaying the whole log into every view (emptied first)."""
    with p.db.tx() as tx:
        for view in p.views:
            for table_name in view.tables:
                tx.execute(f"DELETE FROM {table_name}")
        tx.execute("UPDATE v_tracking SET position = 0")
    started = time.perf_counter()
    how(p)
    return (desk.recorder.max_notification_id() or 0) / (time.perf_counter() - started)


def run(world: World, p: Projections, url: str | None, n: int) -> list[list[str]]:
    tickets = [world.file(subject=f"Заявка {i}").id for i in range(50)]
    p.catch_up()
    rows = []
    for name, how in (("runners", by_runners), ("pump", by_pump), ("runners", by_runners),
                      ("pump", by_pump)):  # fmt: skip
        ms, waits, tx = per_command(world, p, tickets, n, how, url)
        rows.append([name, f"{ms:.2f}", f"{waits:.1f}", f"{tx:.1f}" if url else "-"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL",
                                                                 DEFAULT_PG_URL))  # fmt: skip
    parser.add_argument("--commands", type=int, default=300)
    args = parser.parse_args()
    print_machine(args.database_url)
    with bench_desk(args.database_url, "bench_pump") as b:
        world = World.build(b.desk)
        rows = run(world, b.projections, args.database_url, args.commands)
        print(f"PostgreSQL, {args.commands} commands each, views brought to the head after each:")
        heads = ["views kept by", "view ms / command", "PG waits / command", "PG commits / command"]
        print(table(heads, rows))
        head = b.desk.recorder.max_notification_id() or 0
        rates = [[name, f"{rebuild_rate(b.desk, b.projections, how):,.0f}"]
                 for name, how in (("runners", by_runners), ("pump", by_pump))]  # fmt: skip
        print(f"\nEvery view rebuilt from the log ({head:,} events), batches of 1,000:")
        print(table(["views kept by", "events/s"], rates))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
