"""What the brakes add to a sign-in and to a public form post: in memory (SQLite's single
process) against PostgreSQL's shared tables (web/shared_throttle.py), in a fresh schema.

Per operation, the calls a request makes: a failed sign-in (`retry_after` + `failed`), a
successful one (`retry_after` + `succeeded`), a public form post (`hit`), a /live socket
(`acquire` + `release`). Each from 1 and from 4 threads (distinct keys: no two threads count
one key, as different visitors do), for a few seconds; p50 and p99 of one operation in µs.

    .venv/bin/python -m scripts.bench_throttle [--seconds 2] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from domain.settings import Settings
from projections.db import ViewDB
from scripts.bench_machine import DEFAULT_PG_URL, pct, print_machine, table
from web.shared_throttle import DDL, SharedRateLimiter, SharedSignInThrottle, SharedSocketLimit
from web.throttle import LocalSocketLimit, RateLimiter, SignInThrottle, SocketLimit, Throttle

Operation = Callable[[int, int], None]  # (thread, iteration)


def operations(throttle: Throttle, limiter: RateLimiter | SharedRateLimiter,
               sockets: SocketLimit) -> dict[str, Operation]:  # fmt: skip
    def failed(t: int, i: int) -> None:
        login, address = f"user{t}-{i % 500}", f"10.{t}.{i % 250}.1"
        throttle.retry_after(login, address)
        throttle.failed(login, address)

    def succeeded(t: int, i: int) -> None:
        login, address = f"user{t}-{i % 500}", f"10.{t}.{i % 250}.2"
        throttle.retry_after(login, address)
        throttle.succeeded(login, address)

    def hit(t: int, i: int) -> None:
        limiter.hit(f"10.{t}.{i % 250}.{i % 200}")

    def socket(t: int, i: int) -> None:
        async def once() -> None:
            place = await sockets.acquire(f"session-{t}-{i % 100}")
            assert place is not None
            await sockets.release(place)

        asyncio.run(once())

    return {"failed sign-in": failed, "successful sign-in": succeeded,
            "public form post": hit, "/live socket open + close": socket}  # fmt: skip


def measure(op: Operation, threads: int, seconds: float) -> list[float]:
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop = time.monotonic() + seconds

    def run(t: int) -> None:
        i = 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            op(t, i)
            latencies[t].append(time.perf_counter() - started)
            i += 1

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return [x for per in latencies for x in per]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--url", default=os.environ.get("SUZ_BENCH_DATABASE_URL", DEFAULT_PG_URL))
    args = parser.parse_args()
    print_machine(args.url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    os.environ["SUZ_DATABASE_SCHEMA"] = schema
    db = ViewDB(Settings(data_dir=Path("/tmp/suz-bench-throttle"), database_url=args.url))
    try:
        with db.tx() as tx:
            for statement in DDL:
                tx.execute(statement)
        homes = {
            "memory": operations(SignInThrottle(), RateLimiter(10**9, 3600.0),
                                 LocalSocketLimit(8)),
            "PostgreSQL": operations(SharedSignInThrottle(db),
                                     SharedRateLimiter(db, "bench", 10**9, 3600.0),
                                     SharedSocketLimit(db, 8)),
        }  # fmt: skip
        rows = []
        for name in homes["memory"]:
            for threads in (1, 4):
                row = [name, str(threads)]
                for home in homes.values():
                    got = measure(home[name], threads, args.seconds)
                    row += [f"{pct(got, 50) * 1e6:.0f} / {pct(got, 99) * 1e6:.0f}",
                            f"{len(got) / args.seconds:.0f}"]  # fmt: skip
                rows.append(row)
        print(table(["operation", "threads", "memory p50/p99 µs", "ops/s",
                     "PostgreSQL p50/p99 µs", "ops/s"], rows, left=1))  # fmt: skip
    finally:
        db.close_all()
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
