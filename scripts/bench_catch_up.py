"""`python -m scripts.bench_catch_up`: the views' catch-up of an existing store (issue 15).

Run it against a store the demo wrote (`SUZ_MODE=demo suz demo --requests 5000`), with the same
SUZ_DATA_DIR / SUZ_DATABASE_URL / SUZ_DATABASE_SCHEMA as the server would have. It empties the
views and replays the log into them:
- `pump`: every view at once through the projection pump (what a first start does); the time
  each view spent on its share of the batches is printed beside it;
- `each`: each view alone (`Runner.rebuild`, what `suz rebuild VIEW` does).
Printed: events read, wall seconds, events/s, the process's CPU seconds (load-independent) and
the load average. `--profile FILE` writes a cProfile of the pump's catch-up.

It rewrites the store's views (they are the log's to rebuild): use a store made for measuring.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from domain.desk import Desk
from domain.settings import Settings
from projections import pump as pump_module
from projections.system import Projections
from scripts.bench_machine import table


def reset(p: Projections) -> None:
    """Empties the views. PostgreSQL: TRUNCATE, so that each run starts from the same tables (a
    DELETE leaves every row dead: after a dozen runs v_feed held 3.3 million dead rows, 477 MB,
    and each run was slower than the one before)."""
    tables = [name for view in p.views for name in view.tables]
    with p.db.tx() as tx:
        if tx.dialect == "postgres":
            tx.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for name in tables:
                tx.execute(f"DELETE FROM {name}")
        tx.execute("UPDATE v_tracking SET position = 0")


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall s, CPU s of this process) of `run`."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["pump", "each", "both"], default="both")
    parser.add_argument("--views", nargs="*", help="only these views (default: all)")
    parser.add_argument("--profile", help="write a cProfile of the pump's catch-up here")
    parser.add_argument("--target", type=float, help="seconds a catch-up batch aims at")
    parser.add_argument("--most", type=int, help="the most events a batch reads")
    args = parser.parse_args()
    settings = Settings.from_env()
    desk = Desk(settings.store_env())
    p = Projections(desk, settings)
    if args.views:
        p = Projections(desk, settings, [v for v in p.views if v.name in args.views])
    p.migrate()
    for sizing in [p.pump.sizing, *(r.sizing for r in p.runners)]:
        sizing.target = args.target or sizing.target
        sizing.most = args.most or sizing.most
    head = desk.recorder.max_notification_id() or 0
    store = f"PostgreSQL ({settings.schema})" if settings.uses_postgres else "SQLite"
    print(
        f"{store}: {head:,} events in the log; batch {p.pump.batch} near the head, up to"
        f" {p.pump.sizing.most:,} while behind (aiming at {p.pump.sizing.target} s a batch)"
    )
    rows: list[list[str]] = []
    if args.mode in ("pump", "both"):
        spent: dict[str, tuple[float, float]] = {}
        originals = pump_module._prefetch, pump_module._apply

        def timing(part: Callable[..., Any]) -> Callable[..., Any]:
            def timed_part(runner: Any, *a: Any) -> Any:
                wall, cpu = time.perf_counter(), time.thread_time()
                result = part(runner, *a)
                name = runner.view.name
                was = spent.get(name, (0.0, 0.0))
                spent[name] = (was[0] + time.perf_counter() - wall,
                               was[1] + time.thread_time() - cpu)  # fmt: skip
                return result

            return timed_part

        # a view's share: its reads (`_prefetch`) and its handling (`_apply`)
        pump_module._prefetch = timing(originals[0])
        pump_module._apply = timing(originals[1])
        reset(p)
        before = load()
        if args.profile:
            profiler = cProfile.Profile()
            wall, cpu = timed(lambda: profiler.runcall(p.pump.catch_up))
            profiler.dump_stats(args.profile)
        else:
            wall, cpu = timed(p.pump.catch_up)
        pump_module._prefetch, pump_module._apply = originals  # type: ignore[assignment]
        rows.append(["all views (pump)", f"{wall:.1f}", f"{head / wall:,.0f}", f"{cpu:.1f}",
                     f"{before} -> {load()}"])  # fmt: skip
        for name, (s, c) in sorted(spent.items(), key=lambda x: -x[1][0]):
            rows.append([f"  {name} (its share)", f"{s:.1f}", f"{head / s:,.0f}", f"{c:.1f}", ""])
    if args.mode in ("each", "both"):
        for runner in p.runners:
            before = load()
            wall, cpu = timed(runner.rebuild)
            rows.append([f"{runner.view.name} alone", f"{wall:.1f}", f"{head / wall:,.0f}",
                         f"{cpu:.1f}", f"{before} -> {load()}"])  # fmt: skip
    print(table(["views", "wall s", "events/s (log)", "CPU s", "load"], rows))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
