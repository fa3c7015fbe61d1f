"""Benchmarks of suz, measured on this machine: `./scripts/bench core` (see docs/performance.md).

`core` measures, on SQLite (a temporary data directory) and PostgreSQL (a fresh schema, dropped
at the end): the rate and latency of Desk commands run one after another, next to raw inserts
of the same rows with the event store's own statements; and the time a fresh Desk, its
aggregate cache off, takes to load a ticket of 1,000 events with and without snapshots.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version

import psycopg

from scripts.bench_core import (
    BackendResult,
    Options,
    WriteResult,
    postgres_backend,
    run_backend,
    sqlite_backend,
)
from scripts.bench_machine import DEFAULT_PG_URL, cpu_model, table
from scripts.bench_machine import load as load_average

LOAD_TARGET_MS = 2.0


def memory() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def postgres_info(url: str) -> str:
    with psycopg.connect(url, connect_timeout=3) as conn:
        settings = [
            str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
        ]
        where = f"{conn.info.host}:{conn.info.port}"
    return (
        f"{settings[0]} at {where} (synchronous_commit={settings[1]}, "
        f"fsync={settings[2]}, shared_buffers={settings[3]})"
    )


def machine(pg: str) -> list[tuple[str, str]]:
    synchronous = sqlite3.connect(":memory:").execute("PRAGMA synchronous").fetchone()[0]
    libs = ", ".join(f"{p} {version(p)}" for p in ("eventsourcing", "psycopg", "orjson"))
    return [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} logical CPUs"),
        ("memory", memory()),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("PostgreSQL", pg),
        ("SQLite", f"{sqlite3.sqlite_version} (WAL journal, synchronous={synchronous})"),
        ("libraries", libs),
        ("load avg", load_average()),
    ]


SPLIT_HEAD = ["backend", "command", "Desk", "cache read", "INSERT tx", "snapshots", "other"]
SPLIT_HEAD += ["raw tx", "INSERT - raw"]


def split_row(backend: str, w: WriteResult) -> list[str]:
    n = len(w.desk.ns) * 1e3
    read, insert, snapshots = w.split.read / n, w.split.insert / n, w.split.snapshots / n
    other = w.desk.mean_us - read - insert - snapshots
    cells = [w.desk.mean_us, read, insert, snapshots, other, w.raw.mean_us]
    return [backend, w.command, *(f"{c:,.0f}" for c in cells), f"{insert - w.raw.mean_us:+,.0f}"]


def report(results: list[BackendResult], opts: Options) -> str:
    out: list[str] = []
    writes = [
        [
            r.name,
            w.command,
            str(w.rows),
            f"{w.payload:,}",
            f"{w.desk.rate:,.0f}",
            f"{w.desk.ms(0.5):.2f}",
            f"{w.desk.ms(0.99):.2f}",
            f"{w.raw.rate:,.0f}",
            f"{w.raw.ms(0.5):.2f}",
            f"{w.raw.ms(0.99):.2f}",
            f"{w.ratio:.0%}",
            f"{w.raw.ms(0.5) / w.desk.ms(0.5):.0%}",
            "yes" if w.ratio >= opts.target else "NO",
        ]
        for r in results
        for w in r.writes
    ]
    head = ["backend", "command", "rows/tx", "state B/tx", "Desk cmd/s", "p50 ms", "p99 ms"]
    head += ["raw tx/s", "p50 ms", "p99 ms", "Desk/raw", "at p50", f">={opts.target:.0%}"]
    out += [
        f"Writes: {opts.iterations:,} sequential commands per row, each its own transaction, "
        f"on {opts.tickets} existing tickets; raw = the same rows inserted with the recorder's "
        f"statements (no library), interleaved with the Desk in {opts.rounds} rounds",
        table(head, writes, left=2),
        "",
    ]
    out += [
        "Where the Desk's time goes: mean µs per command, timed without a profiler",
        table(SPLIT_HEAD, [split_row(r.name, w) for r in results for w in r.writes], left=2),
        "  cache read: Repository.get (cache hit + fast-forward SELECT + deepcopy); INSERT tx: "
        "the library's insert_events; other: command logic, hash chain, encoding, save",
        "",
    ]
    loads = [
        [
            r.name,
            ld.label,
            f"{ld.lat.ms(0.5):.2f}",
            f"{ld.lat.ms(0):.2f}",
            f"{ld.lat.ms(0.9):.2f}",
            ("yes" if ld.lat.ms(0.5) < LOAD_TARGET_MS else "NO") if ld.snapshots else "-",
        ]
        for r in results
        for ld in r.loads
    ]
    out += [
        f"Loads: one ticket read by a fresh Desk with the aggregate cache off "
        f"(snapshot every 50 events); {opts.loads} loads each",
        table(["backend", "ticket", "median ms", "min ms", "p90 ms", "<2 ms"], loads, left=2),
    ]
    for r in results:
        for b in r.profiles:
            out += [
                "",
                f"Where a {r.name} `{b.command}` goes: {b.total_us:,.0f} µs per command under "
                f"cProfile ({b.ops} commands; the profiler inflates Python steps)",
            ]
            out += [
                f"  {'  ' * depth}{label:<{62 - 2 * depth}} {us:8,.0f} µs {us / b.total_us:5.0%}"
                for depth, label, us in b.parts
            ]
    return "\n".join(out)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./scripts/bench", description=__doc__)
    sub = parser.add_subparsers(dest="benchmark", required=True)
    core = sub.add_parser("core", help="Desk write rate vs raw inserts; long-ticket loads")
    core.add_argument("-n", "--iterations", type=int, default=Options.iterations)
    core.add_argument("--tickets", type=int, default=Options.tickets)
    core.add_argument("--rounds", type=int, default=Options.rounds)
    core.add_argument("--loads", type=int, default=Options.loads)
    core.add_argument("--load-events", type=int, default=Options.load_events)
    core.add_argument("--backend", choices=("all", "sqlite", "postgres"), default="all")
    core.add_argument(
        "--pg-url",
        default=os.environ.get("SUZ_TEST_DATABASE_URL", DEFAULT_PG_URL),
        help="server to use (a temporary schema is created and dropped); "
        "default $SUZ_TEST_DATABASE_URL or " + DEFAULT_PG_URL,
    )
    core.add_argument("--profile", choices=("auto", "always", "never"), default="auto")
    core.add_argument("--profile-ops", type=int, default=Options.profile_ops)
    core.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="eventsourcing setting for the Desk, e.g. AGGREGATE_CACHE_FASTFORWARD=n",
    )
    args = parser.parse_args(argv)
    counts = (args.iterations, args.rounds, args.loads, args.tickets, args.profile_ops)
    if min(counts) < 1:
        parser.error("counts must be positive")
    if any("=" not in s for s in args.set):
        parser.error("--set takes KEY=VALUE")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    opts = Options(
        iterations=args.iterations,
        tickets=args.tickets,
        rounds=args.rounds,
        loads=args.loads,
        load_events=args.load_events,
        profile=args.profile,
        profile_ops=min(args.profile_ops, args.iterations),
        overrides=dict(s.split("=", 1) for s in args.set),
    )
    pg: str | None = None
    if args.backend != "sqlite":
        try:
            pg = postgres_info(args.pg_url)
        except psycopg.OperationalError as e:
            if args.backend == "postgres":
                print(f"bench: PostgreSQL is unreachable at {args.pg_url}: {e}", file=sys.stderr)
                return 1
            print(f"bench: skipping PostgreSQL, unreachable at {args.pg_url}", file=sys.stderr)
    print("suz core benchmark", time.strftime("%Y-%m-%d %H:%M"))
    info = machine(pg or "not measured")
    print("\n".join(f"  {name:<11}{value}" for name, value in info))
    if opts.overrides:
        print("  settings  ", ", ".join(f"{k}={v}" for k, v in opts.overrides.items()))
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        print("  WARNING    the machine is busy: the figures will be noisy; rerun when idle")
    print(flush=True)
    started = time.perf_counter()
    results: list[BackendResult] = []
    try:
        if args.backend != "postgres":
            with sqlite_backend() as backend:
                results.append(run_backend(backend, opts))
        if pg is not None:
            with postgres_backend(args.pg_url) as backend:
                results.append(run_backend(backend, opts))
    except KeyboardInterrupt:
        print("bench: interrupted; the temporary store and schema were removed", file=sys.stderr)
        return 130
    print(report(results, opts))
    print(f"\n(measured in {time.perf_counter() - started:.0f} s; load average {load_average()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
