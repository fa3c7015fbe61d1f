"""The command side of a write on PostgreSQL, counted: transactions, reads of the event table
and CPU per filing and per reply, with no HTTP and no views.

    python -m scripts.bench_write_path [--commands 1000] [--threads 1 16] [--tickets 200]

A database of its own (`suz_write_path`, made and dropped here), so PostgreSQL's own statistics
count only this process's work: `pg_stat_database`'s commits and rollbacks (transactions, each a
round trip or more), the index scans of the event table (`pg_stat_user_indexes`; a fast-forward
read is one, a combined read of two aggregates two, an insert's unique check none), and the CPU of
this process and of the database's backends (/proc). For each number of threads: `--commands`
filings (the tests' World: a requester files into the contracts category, routing rules set),
then `--commands` replies spread over `--tickets` tickets, each thread on its own tickets (no
conflicts), every reply carrying the version it saw last, like the paired benchmark's clients.
Run it from a checkout (PYTHONPATH=<checkout>) to compare two trees on the same server; counts
are exact, CPU and wall time move with the machine's load (printed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

ADMIN = os.environ.get("SUZ_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "suz_write_path"


def stats(conn: psycopg.Connection) -> tuple[int, int, float]:
    """(transactions, index scans of the event table, CPU seconds of the database's backends)."""
    xacts = conn.execute(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (DB,)
    ).fetchone()
    with psycopg.connect(ADMIN.rsplit("/", 1)[0] + "/" + DB, autocommit=True) as own:
        scans = own.execute(
            "SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE relname LIKE %s",
            ("%events%",),
        ).fetchone()
    pids = [r[0] for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB,)).fetchall()]  # fmt: skip
    return int(xacts[0] if xacts else 0), int(scans[0] if scans else 0), _cpu(pids)


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run(threads: int, work: Callable[[int, int], None], count: int) -> float:
    """`count` calls of work(thread, i) spread over `threads` threads; the wall time."""
    per = count // threads

    def loop(t: int) -> None:
        for i in range(per):
            work(t, i)

    pool = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for p in pool:
        p.start()
    for p in pool:
        p.join()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commands", type=int, default=1000)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--tickets", type=int, default=200)
    args = ap.parse_args()
    admin = psycopg.connect(ADMIN, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{DB}"')
    url = ADMIN.rsplit("/", 1)[0] + "/" + DB
    os.environ.setdefault("SUZ_MODE", "demo")
    from uuid import uuid4

    from domain.desk import Desk
    from domain.routing import Rule
    from domain.settings import Settings
    from tests.world import World

    try:
        settings = Settings(data_dir=Path(tempfile.mkdtemp()) / "data", database_url=url)
        Desk(settings.store_env(create_tables=True)).close()
        desk = Desk(settings.store_env())
        world = World.build(desk)
        desk.set_routing_rules(world.admin, (Rule(uuid4(), "Контракты", world.line1,
                                                  category_id=world.contracts),))  # fmt: skip
        tickets = [world.file(f"Запрос {i}") for i in range(args.tickets)]
        version = {t.id: desk.reply(world.agent, t.id, "Первый").version for t in tickets}
        ids = [t.id for t in tickets]
        print(f"load average {os.getloadavg()[0]:.2f}; {args.commands} commands a row")
        for threads in args.threads:
            mine = {t: ids[t::threads] for t in range(threads)}

            def file(t: int, i: int) -> None:
                world.file(f"Запрос {t}-{i}")

            def reply(t: int, i: int, mine: dict[int, list[Any]] = mine) -> None:
                ticket = mine[t][i % len(mine[t])]
                written = desk.reply(world.agent, ticket, f"Ответ {t}-{i}",
                                     expected_version=version[ticket])  # fmt: skip
                version[ticket] = written.version

            for name, work in (("filing", file), ("reply", reply)):
                time.sleep(11)  # an idle backend sends its statistics within 10 s
                x0, s0, pg0 = stats(admin)
                cpu0 = time.process_time()
                wall = run(threads, work, args.commands)
                cpu = time.process_time() - cpu0
                time.sleep(11)
                x1, s1, pg1 = stats(admin)
                n = args.commands
                print(
                    f"{name:<6} threads {threads:>2}: {n / wall:6.0f}/s, per command: "
                    f"transactions {(x1 - x0) / n:.2f}, event-table index scans "
                    f"{(s1 - s0) / n:.2f}, CPU this process {1e3 * cpu / n:.2f} ms + PostgreSQL "
                    f"{1e3 * (pg1 - pg0) / n:.2f} ms (load average {os.getloadavg()[0]:.2f})"
                )
        desk.close()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
