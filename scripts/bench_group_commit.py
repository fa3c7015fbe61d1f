"""Group commit (issue 15): Desk replies from 1, 4 and 16 threads on PostgreSQL, group commit
off and on with several windows, interleaved run by run so drift hits every mode alike.

Each thread answers its own share of the tickets (no two threads touch one ticket: no
conflicts), unversioned, through `Desk.reply`, for a few seconds. Printed per threads and mode:
commands/s, p50 and p99 of one command, and transactions (inner `insert_events` calls) per
command. `--views` also runs the views' pump and processes in the same process, as a server does.

    .venv/bin/python -m scripts.bench_group_commit [--seconds 4] [--rounds 2] [--views]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from uuid import UUID

from domain.desk import Desk
from domain.group_commit import GroupCommitter, install
from scripts.bench_machine import DEFAULT_PG_URL, bench_desk, load, pct, print_machine, table
from tests.world import World

REPLY = "Здравствуйте! Переподпишите документ и опубликуйте контракт повторно."
OFF = -1.0  # the mode without group commit


@dataclass
class Figures:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    writes: int = 0  # transactions, counted by the committer
    batched: int = 0  # commands that went through the committer

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def mode_name(window: float) -> str:
    return "off" if window == OFF else f"on, window {window:g} us"


def set_mode(desk: Desk, window: float) -> GroupCommitter | None:
    if window == OFF:
        desk.events.recorder = desk.recorder  # the store writes straight to the recorder again
        return None
    return install(desk, window_us=window)


def run(desk: Desk, world: World, tickets: list[UUID], threads: int, seconds: float,
        into: Figures) -> None:  # fmt: skip
    """`threads` agents answer their own tickets for `seconds`; adds what they did to `into`."""
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]
    lock = threading.Lock()

    def agent(k: int) -> None:
        own = tickets[k::threads]
        took: list[float] = []
        errors = 0
        start.wait()
        i = 0
        while (t0 := time.perf_counter()) < stop_at[0]:
            try:
                desk.reply(world.agent, own[i % len(own)], REPLY)
            except Exception as error:  # counted and shown: a bench must not stop on one
                errors += 1
                if errors == 1:
                    print(f"  error: {type(error).__name__}: {error}", file=sys.stderr)
            took.append(time.perf_counter() - t0)
            i += 1
        with lock:
            into.latencies.extend(took)
            into.errors += errors

    workers = [threading.Thread(target=agent, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for worker in workers:
        worker.join()
    into.seconds += time.perf_counter() - began


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_group_commit", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per threads and mode")
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--threads", default="1,4,16")
    parser.add_argument("--windows", default="0,200,500", help="microseconds, group commit on")
    parser.add_argument("--views", action="store_true", help="run the views in this process")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.threads.split(",")]
    modes = [OFF, *(float(w) for w in args.windows.split(","))]
    print("suz bench group commit: Desk replies from threads, PostgreSQL\n")
    print_machine(args.database_url)
    results: dict[tuple[int, float], Figures] = {}
    with bench_desk(args.database_url, "bench_gc") as b:
        desk = b.desk
        world = World.build(desk)
        tickets = [world.file(f"Запрос {i}").id for i in range(args.tickets)]
        if args.views:
            b.projections.start()
        for threads in counts:
            run(desk, world, tickets, threads, 1.0, Figures())  # warm the cache and the pool
            for _ in range(args.rounds):
                for window in modes:
                    committer = set_mode(desk, window)
                    figures = results.setdefault((threads, window), Figures())
                    before = (committer.writes, committer.commands) if committer else (0, 0)
                    run(desk, world, tickets, threads, args.seconds, figures)
                    if committer:
                        figures.writes += committer.writes - before[0]
                        figures.batched += committer.commands - before[1]
                    print(f"  {threads:>2} threads, {mode_name(window)}: done", file=sys.stderr)
        set_mode(desk, OFF)
    rows = []
    for (threads, window), f in results.items():
        per_command = f.writes / f.batched if f.batched else 1.0
        rows.append([
            str(threads), mode_name(window), f"{f.rate:,.0f}",
            f"{pct(f.latencies, 50) * 1e3:.2f}", f"{pct(f.latencies, 99) * 1e3:.2f}",
            f"{per_command:.2f}", str(len(f.latencies)), str(f.errors),
        ])  # fmt: skip
    print(f"views running in this process: {'yes' if args.views else 'no'}; "
          f"{args.rounds} runs of {args.seconds:g} s per row, interleaved\n")  # fmt: skip
    headers = ["threads", "group commit", "commands/s", "p50 ms", "p99 ms", "tx/command",
               "commands", "errors"]  # fmt: skip
    print(table(headers, rows, left=2))
    print(f"\nload avg at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
