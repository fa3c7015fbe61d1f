"""Replies one after another on PostgreSQL, and the reads of the event table each one costs.

    python -m scripts.bench_cached_copy [--replies 2000] [--tickets 20]

A fresh schema (dropped at the end), the tests' World, `--tickets` tickets each loaded once,
then `--replies` replies through `Desk.reply` with the version last written (as a client that
read it). Prints the rate, the wall time and this process's CPU per reply, and the scans of each
index of the event table per reply (PostgreSQL's statistics, so no guess): the fast-forward
SELECT of a cached ticket is one scan of the (originator_id, originator_version) key per
command; domain/cached_copy.py takes it away (what remains is the snapshot every 50 events).
Run it from a checkout (PYTHONPATH=<checkout>) to compare two trees on the same server.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

PG = os.environ.get("SUZ_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def index_scans(schema: str) -> dict[str, int]:
    with psycopg.connect(PG, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes "
            "WHERE schemaname = %s AND relname LIKE %s",
            (schema, "%events%"),
        ).fetchall()
    return {str(name): int(scans) for name, scans in rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replies", type=int, default=2000)
    ap.add_argument("--tickets", type=int, default=20)
    args = ap.parse_args()
    schema = "bench_copy_" + uuid.uuid4().hex[:8]
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    os.environ["SUZ_DATABASE_SCHEMA"] = schema
    os.environ.setdefault("SUZ_MODE", "demo")
    from domain.desk import Desk  # after the schema is set: Settings reads it
    from domain.settings import Settings
    from tests.world import World

    try:
        settings = Settings(data_dir=Path(tempfile.mkdtemp()) / "data", database_url=PG)
        Desk(settings.store_env(create_tables=True)).close()
        desk = Desk(settings.store_env())
        world = World.build(desk)
        tickets = [world.file().id for _ in range(args.tickets)]
        version = {t: desk.reply(world.agent, t, "first").version for t in tickets}
        time.sleep(1.0)  # the statistics are sent when a backend's transaction ends
        before = index_scans(schema)
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(args.replies):
            t = tickets[i % len(tickets)]
            version[t] = desk.reply(
                world.agent, t, f"reply {i}", expected_version=version[t]
            ).version
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        time.sleep(1.5)
        after = index_scans(schema)
        n = args.replies
        scans = ", ".join(f"{k} {(after[k] - before.get(k, 0)) / n:.3f}" for k in sorted(after))
        print(f"{n} replies in {wall:.2f} s: {n / wall:.0f}/s, {1e6 * wall / n:.0f} us each,"
              f" this process's CPU {1e6 * cpu / n:.0f} us each; index scans per reply: {scans}"
              f" (load average {os.getloadavg()[0]:.2f})")  # fmt: skip
        desk.close()
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
