"""`./scripts/bench analytics`: the analytics dashboard's queries and time travel on PostgreSQL.

1. Puts `--rows` synthetic fact rows (default 1,000,000 requests filed over one year, 2025) in the
   analytics view (`v_analytics`) of a throw-away schema, and their per-day rows
   (`v_analytics_days`) through the view's own write path (projections/analytics_days.py
   `apply`), then times what the dashboard runs for a period (projections/analytics_queries.py
   `report`: the per-day rows of the period and the exact figures) for one month and for the
   year, split by a few dimensions; a plain SQL GROUP BY count over the fact rows is timed beside
   it for comparison. Target: p95 < 100 ms. Each case's first run starts with an empty cache
   (cold: projections/analytics_cache.py); before each later run `--warm` requests change, as
   on a live desk (warm). `--keep` keeps the schema, `--schema NAME` reuses it (rows and all);
   `--year` files the requests over another year (default 2025).
   `--prime`: what a serving process reads after its start (projections/analytics_prime.py),
   timed for the year's last day with an empty cache, then each period's first read after it;
   and, when `--year` is this year, `suz serve` started with SUZ_ANALYTICS_PRIME=y and =n on
   the same schema: the time to /ready, the priming's own (from its log line), and the first
   GET of each primed page as the curator.
2. Serves the same schema with `suz serve` and times GET /analytics (the page, and its figures
   part that the live refresh fetches) as the curator, over HTTP.
3. Builds one ticket with `--events` events (notes saved 25 at a time) through the Desk and
   times web/history_api.py `history` (the aggregate replayed to a version + the timeline up to
   it) for random versions. Target: p95 < 50 ms.
Measured, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, astuple, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson
import psycopg
from tqdm import tqdm

from domain.desk import SYSTEM, Desk
from domain.settings import Settings
from domain.ticket import Ticket
from projections import analytics_days
from projections import analytics_queries as aq
from projections.analytics import COLUMNS, Fact, micros, stamp
from projections.analytics_cache import AnalyticsCache
from projections.analytics_prime import prime
from projections.db import ViewDB
from projections.system import Projections
from scripts.bench_machine import (
    DEFAULT_PG_URL,
    bench_desk,
    load,
    ms,
    pct,
    print_machine,
    table,
    verdict,
)
from scripts.bench_web import PASSWORD, free_port, serving
from tests.world import World
from web.credentials import set_password_hash
from web.history_api import history
from web.passwords import Passwords
from web.sessions import PostgresSessionStore

YEAR = 2025  # --year
SINCE: date | None = None  # --since: the first day requests are filed on (default: 1 January)
UNTIL: date | None = None  # --until: the last (default: 31 December)
BATCH = 50_000
BODY = "Проверили настройки подписи, сертификат действителен, публикация повторена."


def filing_days() -> tuple[date, date]:
    """The first and the last day the synthetic requests are filed on: the year, or --since and
    --until (two years, say, up to the servers' today, as a desk's store holds them)."""
    return SINCE or date(YEAR, 1, 1), UNTIL or date(YEAR, 12, 31)


def synthetic_rows(n: int, seed: int = 8) -> Iterator[tuple[Any, ...]]:
    """`n` fact rows spread evenly over the filing days (the year): 20 categories, 3 channels,
    300 organisations, 3 lines, 9 groups, 150 agents; 85% resolved, 60% of those rated, 5% with
    a breach."""
    rnd = random.Random(seed)
    categories = [str(uuid4()) for _ in range(20)]
    organisations = [str(uuid4()) for _ in range(300)]
    groups = [str(uuid4()) for _ in range(9)]
    agents = [str(uuid4()) for _ in range(150)]
    channels = ("cabinet", "public_form", "api")
    first, last = filing_days()
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    span = ((last - first).days + 1) * 86_400
    for i in range(n):
        at = start + timedelta(seconds=span * i / n + rnd.random())
        day = at.date()
        line = rnd.choices((1, 2, 3), (80, 15, 5))[0]
        resolved = rnd.random() < 0.85
        first = at + timedelta(minutes=rnd.randint(5, 600))
        done = first + timedelta(minutes=rnd.randint(10, 20_000)) if resolved else None
        transfers, escalations = int(rnd.random() < 0.1), int(line > 1)
        res_us = micros(stamp(at), stamp(done)) if done else None
        handle_us = res_us * rnd.randint(5, 60) // 100 if res_us is not None else None
        values: dict[str, Any] = {
            "ticket_id": str(uuid4()),
            "number": i + 1,
            "filed_at": stamp(at),
            "filed_day": day.isoformat(),
            "filed_week": (day - timedelta(days=day.weekday())).isoformat(),
            "filed_month": day.isoformat()[:7],
            "category_id": rnd.choice(categories),
            "channel": rnd.choice(channels),
            "organisation_id": rnd.choice(organisations),
            "status": ("resolved" if rnd.random() < 0.3 else "closed") if resolved else "open",
            "line": line,
            "group_id": groups[(line - 1) * 3 + rnd.randrange(3)],
            "assignee_id": rnd.choice(agents),
            "agent_id": (agent := rnd.choice(agents)),
            "first_response_at": stamp(first),
            "resolved_at": stamp(done) if done else None,
            "resolutions": int(resolved) + int(rnd.random() < 0.04),
            "transfers": transfers,
            "escalations": escalations,
            "info_requests": rnd.choices((0, 1, 2), (70, 25, 5))[0],
            "reopens": int(rnd.random() < 0.04),
            "rating": rnd.randint(1, 5) if resolved and rnd.random() < 0.6 else None,
            "line1": int(resolved and line == 1 and not transfers and i % 50),
            "fr_breach": int(rnd.random() < 0.03),
            "res_breach": int(rnd.random() < 0.05),
            "version": rnd.randint(4, 30),
            "fr_us": micros(stamp(at), stamp(first)),
            "res_us": res_us,
            "handle_us": handle_us,
            "held_us": handle_us or 0,
            "held_since": None,
            "waiting": 0,
            "held_by": orjson.dumps({agent: handle_us} if handle_us else {}).decode(),
            "incident": int(i % 50 == 0),  # one in 50 linked to a mass incident
            "earlier_ratings": (earlier := int(i % 40 == 0)),  # rated, reopened
            "earlier_sum": 2 * earlier,
        }
        yield tuple(values[c] for c in COLUMNS)


def insert_rows(url: str, schema: str, db: ViewDB, n: int) -> tuple[float, float]:
    """COPY the fact rows in batches of 50,000 (one transaction each), and write each batch's
    per-day rows as the view does; returns the seconds each part took."""
    copying = days = 0.0
    rows = synthetic_rows(n)
    with psycopg.connect(url, options=f"-c search_path={schema}") as conn:
        with tqdm(total=n, unit="row", desc="v_analytics", file=sys.stderr) as bar:
            left = n
            while left > 0:
                size = min(BATCH, left)
                batch = [next(rows) for _ in range(size)]
                started = time.perf_counter()
                with (
                    conn.cursor() as cur,
                    cur.copy(f"COPY v_analytics ({', '.join(COLUMNS)}) FROM STDIN") as copy,
                ):
                    for row in batch:
                        copy.write_row(row)
                conn.commit()
                copying += time.perf_counter() - started
                started = time.perf_counter()
                with db.tx() as tx:
                    analytics_days.apply(tx, [(None, Fact(*row)) for row in batch])
                days += time.perf_counter() - started
                left -= size
                bar.update(size)
        conn.execute("ANALYZE v_analytics")
        conn.execute("ANALYZE v_analytics_days")
        conn.commit()
    return copying, days


def backend_cpu(pid: int) -> float:
    """The CPU seconds (user + system) a PostgreSQL backend of this machine has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    took, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        took.append(time.perf_counter() - started)
    return took, result


def touch(projections: Projections, n: int, rnd: random.Random) -> int:
    """A live desk between two reads: `n` requests change (an open one resolved, a resolved one
    reopened), all but one filed in the last 60 filing days and that one on any day, their fact
    rows and per-day rows written as the view writes them. Returns the per-day rows rewritten."""
    if n <= 0:
        return 0
    first, end = filing_days()
    days = [end - timedelta(days=rnd.randrange(60)) for _ in range(n - 1)]
    days.append(first + timedelta(days=rnd.randrange((end - first).days + 1)))
    with projections.db.tx() as tx:
        rows = [
            row
            for day in days
            for row in tx.all(
                f"SELECT {', '.join(COLUMNS)} FROM v_analytics WHERE filed_day = %s"
                " ORDER BY random() LIMIT 1",
                (day.isoformat(),),
            )
        ]
        changes = []
        for row in {row[0]: row for row in rows}.values():  # a request once
            f = Fact(*row)
            if f.resolved_at is None:
                done = datetime.fromisoformat(f.filed_at) + timedelta(hours=rnd.randint(1, 300))
                res_us = micros(f.filed_at, stamp(done))
                agent = f.agent_id or "agent"
                g = replace(f, status="resolved", resolved_at=stamp(done), res_us=res_us,
                            handle_us=res_us // 3, held_by=orjson.dumps({agent: res_us // 3}
                                                                        ).decode())  # fmt: skip
            else:
                g = replace(f, status="open", resolved_at=None, res_us=None, handle_us=None,
                            rating=None, reopens=f.reopens + 1)  # fmt: skip
            changes.append((f, g))
        sets = ", ".join(f"{c} = %s" for c in COLUMNS[1:])
        tx.executemany(f"UPDATE v_analytics SET {sets} WHERE ticket_id = %s",
                       [(*astuple(g)[1:], g.ticket_id) for _, g in changes])  # fmt: skip
        analytics_days.apply(tx, changes)
    return len(analytics_days.deltas(changes))


def dashboard_rows(projections: Projections, runs_month: int, runs_year: int,
                   before: ModuleType | None, warm: int) -> list[list[str]]:  # fmt: skip
    """Times `report` for each case: its first run with the process's row cache empty (cold),
    then `runs` more with `warm` requests changed before each (not timed); with `before`
    (another version of analytics_queries), its runs alternate with this one's, so both meet
    the same load and the same rows. CPU: this process's and the PostgreSQL backend's (from
    /proc), per warm run."""
    month = (date(YEAR, 6, 1), date(YEAR, 6, 30))
    year = (date(YEAR, 1, 1), date(YEAR, 12, 31))
    part = (date(YEAR, 6, 1), date(YEAR, 6, 20))
    cases = [
        ("June", month, dim, runs_month) for dim in ("day", "category", "agent", "organisation")
    ]
    cases += [("June 1-20", part, dim, runs_month) for dim in ("day", "agent", "organisation")]
    cases += [("the year", year, dim, runs_year) for dim in ("month", "category", "organisation")]
    now = datetime(YEAR + 1, 1, 15, tzinfo=UTC)
    versions = [("", aq)] + ([(" (before)", before)] if before else [])
    rnd = random.Random(18)
    out = []
    with projections.db.read() as tx:
        row = tx.one("SELECT pg_backend_pid()")
        assert row is not None
        pid = int(row[0])
        for name, (a, b), dim, runs in tqdm(cases, desc="dashboard", file=sys.stderr):
            cache = AnalyticsCache(Settings.from_env().analytics_cache_mb * 2**20)  # empty: cold
            took: dict[str, list[float]] = {label: [] for label, _ in versions}
            cpu = dict.fromkeys(took, 0.0)
            server = dict.fromkeys(took, 0.0)
            reports, rewritten = {}, 0
            for run in range(runs + 1):
                if run:
                    rewritten += touch(projections, warm, rnd)
                for label, module in versions:
                    given = {"cache": cache} if module is aq else {}
                    started, cpu0, pg0 = time.perf_counter(), time.process_time(), backend_cpu(pid)
                    reports[label] = module.report(tx, a, b, dim, now, **given)
                    took[label].append(time.perf_counter() - started)
                    if run:
                        cpu[label] += time.process_time() - cpu0
                        server[label] += backend_cpu(pid) - pg0
                if before:
                    same = asdict(reports[""]) == asdict(reports[" (before)"])
                    assert same, (name, dim)  # the same figures
            for label, _ in versions:
                first, t = took[label][0], took[label][1:]
                out.append([f"report: {name} by {dim}{label}", f"{reports[label].total.filed:,}",
                            f"{len(reports[label].rows):,}", ms(first), str(runs),
                            f"{rewritten / runs:,.0f}", ms(pct(t, 50)),
                            ms(pct(t, 95)), ms(cpu[label] / runs), ms(server[label] / runs),
                            verdict(pct(t, 95) < 0.1)])  # fmt: skip
        for name, (a, b), runs in (("June", month, runs_month), ("the year", year, runs_year)):
            sql = ("SELECT category_id, COUNT(*), COUNT(resolved_at), AVG(rating)"
                   " FROM v_analytics WHERE filed_day >= %s AND filed_day <= %s"
                   " GROUP BY category_id")  # fmt: skip
            params = (a.isoformat(), b.isoformat())
            cpu0, pg0 = time.process_time(), backend_cpu(pid)
            t, got = timed(partial(tx.all, sql, params), runs)
            client, pg = (time.process_time() - cpu0) / runs, (backend_cpu(pid) - pg0) / runs
            filed = sum(int(r[1]) for r in got)
            out.append([f"SQL GROUP BY category: {name} (comparison)", f"{filed:,}",
                        f"{len(got):,}", "", str(runs), "", ms(pct(t, 50)), ms(pct(t, 95)),
                        ms(client), ms(pg), verdict(pct(t, 95) < 0.1)])  # fmt: skip
    return out


def looks(today: date) -> list[tuple[str, date, date | None, str]]:
    """What a person opens on the analytics page (name, from, to or None for today, split by):
    the page's default (this month by day), then the year to date (`from` alone: what the
    primer reads), the whole calendar year to 31 December, the quarter so far (also by day:
    the period link from this month's page) and last year, each by month, category and
    organisation. Defined here, not taken from the primer, so that an earlier primer is
    measured on the same looks."""
    year = today.replace(month=1, day=1)
    quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    last = year.replace(year=today.year - 1)
    out: list[tuple[str, date, date | None, str]] = [("this month", today.replace(day=1), None,
                                                      "day")]  # fmt: skip
    for name, start, end in (("the year to date", year, None),
                             ("the calendar year", year, year.replace(month=12, day=31)),
                             ("the quarter so far", quarter, None),
                             ("last year", last, last.replace(month=12, day=31))):  # fmt: skip
        dims = ("day", "month") if name == "the quarter so far" else ("month",)
        out += [(name, start, end, dim) for dim in (*dims, "category", "organisation")]
    return out


def primed_rows(projections: Projections, runs: int, warm: int) -> list[list[str]]:
    """The primer's reads (projections/analytics_prime.py `prime`) for the last filing day into
    an empty cache, each timed; then each look's first read (`looks`: primed or not; nothing
    changed since: a person within moments of the priming); then, `warm` requests changed,
    each one's first read after the change (its changed groups' rows fetched), and `runs` more
    with `warm` changed before each."""
    today = filing_days()[1]
    cache = AnalyticsCache(Settings.from_env().analytics_cache_mb * 2**20)
    took = prime(projections.db, today, cache)
    kept = cache.size / 2**20
    now = datetime(today.year, today.month, today.day, 18, tzinfo=UTC)
    rnd = random.Random(19)
    seen = looks(today)
    with projections.db.read() as tx:
        reads = [partial(aq.report, tx, a, b or today, dim, now, cache=cache)
                 for _, a, b, dim in seen]  # fmt: skip
        first = [timed(read, 1)[0][0] for read in reads]
        after_looks = cache.size / 2**20
        touch(projections, warm, rnd)
        changed = [timed(read, 1)[0][0] for read in reads]
        later: list[list[float]] = [[] for _ in reads]
        for _ in range(runs):
            touch(projections, warm, rnd)
            for i, read in enumerate(reads):
                later[i] += timed(read, 1)[0]
    primed = dict(took)
    out = [[f"priming: {what}", ms(s), "", "", "", "", "", ""] for what, s in took]
    out.append([f"(the priming, all {len(took)}: {kept:,.0f} MB kept)",
                ms(sum(s for _, s in took)), "", "", "", "", "", ""])  # fmt: skip
    for i, (name, a, b, dim) in enumerate(seen):
        what = f"{a}..{b or today} by {dim}"
        worst = max(first[i], changed[i], pct(later[i], 95))
        p50, p95 = ms(pct(later[i], 50)), ms(pct(later[i], 95))
        out.append([f"{name} by {dim} ({what})", "primed" if what in primed else "not primed",
                    ms(first[i]), ms(changed[i]), str(runs), p50, p95,
                    verdict(worst < 0.1)])  # fmt: skip
    out.append([f"(after every look's first read: {after_looks:,.0f} MB kept)", "", "", "", "",
                "", "", ""])  # fmt: skip
    return out


def primed_serving_rows(url: str, schema: str, tmp: Path, desk: Desk, curator: UUID,
                        starts: int) -> list[list[str]]:  # fmt: skip
    """`suz serve` on the same schema with SUZ_ANALYTICS_PRIME=y, then =n: seconds to /ready
    (200), to the primer's log line and what it says, then the first and the second GET of each
    of `looks` (the year to date first, the page's default last) as the curator: the page (and
    the year to date by organisation with every row, `rows=all`), and (other servers) the same
    report as JSON (/api/v1/analytics: no HTML); each setting started `starts` times (at least
    3, alternating), the time to /ready of every start summed up at the end (/health is polled
    every 0.2 s before it, /ready every 0.05 s). The load average (1 min) is taken as each
    server is ready."""
    hashed = Passwords(time_cost=1, memory_cost_kib=8192, parallelism=1).hash(PASSWORD)
    env = {**os.environ, "SUZ_DATABASE_URL": url, "SUZ_DATABASE_SCHEMA": schema,
           "SUZ_DATA_DIR": str(tmp)}  # fmt: skip
    migrate = [sys.executable, "-m", "suz.cli", "migrate"]
    subprocess.run(migrate, env=env, check=True, stdout=subprocess.DEVNULL)  # sessions, seals
    sessions = PostgresSessionStore(url, schema)
    set_password_hash(desk, sessions, SYSTEM, curator, hashed)
    sessions.close()
    today = datetime.now(UTC).date()
    seen = looks(today)
    # the year first: its first GET is also the first page (or JSON) the process makes at all
    named = [(f"{name} by {dim}", f"?from={a.isoformat()}" + (f"&to={b.isoformat()}" if b else "")
              + f"&by={dim}") for name, a, b, dim in seen[1:] + seen[:1]]  # fmt: skip
    out: list[list[str]] = []
    readies: dict[str, list[float]] = {"y": [], "n": []}
    primes: list[float] = []
    # each setting: one start GETting the pages, one the JSON, `starts` - 2 more only timed
    plan = [(p, y) for p in ("/analytics", "/api/v1/analytics", "") for y in "yn"]
    plan += [("", y) for _ in range(max(0, starts - 3)) for y in "yn"]
    for prefix, prime_on in plan:
        port = free_port()
        env.update(SUZ_ORIGINS=f"http://127.0.0.1:{port}", SUZ_ANALYTICS_PRIME=prime_on)
        log = tmp / "server.log"
        started = time.perf_counter()
        with (
            serving(env, port, tmp, []),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http,
        ):
            deadline = started + 300
            while http.get("/ready").status_code != 200:
                assert time.perf_counter() < deadline, "not ready in 300 s"
                time.sleep(0.05)
            ready = time.perf_counter() - started
            readies[prime_on].append(ready)
            load1 = f"{os.getloadavg()[0]:.1f}"
            primed, said = "", ""
            if prime_on == "y":
                while "analytics-primer: read" not in log.read_text(errors="replace"):
                    assert time.perf_counter() < deadline, "not primed in 300 s"
                    time.sleep(0.05)
                primes.append(time.perf_counter() - started)
                primed = f"{primes[-1]:.2f}"
                line = next(x for x in log.read_text(errors="replace").splitlines()
                            if "analytics-primer: read" in x)  # fmt: skip
                said = line.split("analytics-primer: read ", 1)[1].split(" (")[0]
                print(f"  primer: {line.split('analytics-primer: ', 1)[1]}", file=sys.stderr)
            if not prefix:
                continue
            signed = http.post("/api/v1/session", json={"login": "curator", "password": PASSWORD})
            signed.raise_for_status()
            queries = list(named)
            if prefix == "/analytics":  # every row of the biggest table, on demand
                queries.insert(3, ("the year to date by organisation, every row",
                                   named[2][1] + "&rows=all"))  # fmt: skip
            for what, query in queries:
                took, size = [], 0
                for _ in range(2):
                    begun = time.perf_counter()
                    r = http.get(prefix + query)
                    took.append(time.perf_counter() - begun)
                    assert r.status_code == 200, (prefix, query, r.text[:200])
                    size = len(r.content)
                out.append([f"PRIME={prime_on} {prefix}: {what}", load1, f"{ready:.2f}", primed,
                            said, f"{size // 1024:,}", ms(took[0]), ms(took[1]),
                            verdict(took[0] < 0.1)])  # fmt: skip
    for prime_on, times in readies.items():
        ts = sorted(times)
        primed = f"{sorted(primes)[len(primes) // 2]:.2f} (median)" if prime_on == "y" else ""
        out.append([f"SUZ_ANALYTICS_PRIME={prime_on}: {len(ts)} starts, s to /ready median"
                    f" {ts[len(ts) // 2]:.2f} (min {ts[0]:.2f}, max {ts[-1]:.2f})", "", "",
                    primed, "", "", "", "", ""])  # fmt: skip
    return out


def load_module(path: str) -> ModuleType:
    """Another version of projections/analytics_queries.py (e.g. `git show
    HEAD~1:projections/analytics_queries.py > /tmp/before.py`), imported under its own name."""
    spec = importlib.util.spec_from_file_location("analytics_queries_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def page_rows(url: str, schema: str, tmp: Path, desk: Desk, world: World,
              runs: int) -> list[list[str]]:  # fmt: skip
    """GET /analytics as the curator from a real `suz serve` over the same schema: the whole
    page (figures, charts, the knowledge-base section, rendering) and its live-refresh part."""
    assert world.curator.id is not None
    hashed = Passwords(time_cost=1, memory_cost_kib=8192, parallelism=1).hash(PASSWORD)
    port = free_port()
    env = {**os.environ, "SUZ_DATABASE_URL": url, "SUZ_DATABASE_SCHEMA": schema,
           "SUZ_DATA_DIR": str(tmp), "SUZ_ORIGINS": f"http://127.0.0.1:{port}"}  # fmt: skip
    migrate = [sys.executable, "-m", "suz.cli", "migrate"]
    subprocess.run(migrate, env=env, check=True, stdout=subprocess.DEVNULL)  # sessions, seals
    sessions = PostgresSessionStore(url, schema)  # the hash goes to its credentials table
    set_password_hash(desk, sessions, SYSTEM, world.curator.id, hashed)
    sessions.close()
    june, part = "from=2025-06-01&to=2025-06-30", "from=2025-06-01&to=2025-06-20"
    cases = [(f"/analytics?{june}&by=day", runs), (f"/analytics?{june}&by=organisation", runs),
             (f"/analytics?{part}&by=day&part=figures", runs),
             (f"/analytics?{part}&by=organisation&part=figures", runs),
             ("/analytics?from=2025-01-01&to=2025-12-31&by=month", 3)]  # fmt: skip
    out = []
    with (
        serving(env, port, tmp, []),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http,
    ):
        signed = http.post("/api/v1/session", json={"login": "curator", "password": PASSWORD})
        signed.raise_for_status()
        for path, n in tqdm(cases, desc="pages", file=sys.stderr):
            assert http.get(path).status_code == 200, path  # warm: templates, connections
            took = []
            for _ in range(n):
                started = time.perf_counter()
                r = http.get(path)
                took.append(time.perf_counter() - started)
                assert r.status_code == 200 and "<table" in r.text, path
            p95 = pct(took, 95)
            out.append([f"GET {path}", f"{len(r.content) // 1024:,} KiB", str(n),
                        ms(pct(took, 50)), ms(p95), verdict(p95 < 0.1)])  # fmt: skip
    return out


def long_ticket(desk: Desk, world: World, events: int) -> UUID:
    """One request with `events` events: notes and a reply every fifth, saved 25 at a time."""
    ticket_id = world.file("Контракт с длинной историей").id
    agent = world.agent.id
    assert agent is not None
    with tqdm(total=events, unit="event", desc="ticket", file=sys.stderr) as bar:
        ticket: Ticket = desk.repository.get(ticket_id)
        bar.update(ticket.version)
        while ticket.version < events:
            for k in range(min(25, events - ticket.version)):
                if k % 5 == 4:
                    ticket.reply(agent, f"Ответ {k}: {BODY}")
                else:
                    ticket.add_note(agent, f"Заметка {k}: {BODY}")
            desk.save(ticket)
            bar.update(25)
            ticket = desk.repository.get(ticket_id)
    return ticket_id


def time_travel_rows(desk: Desk, world: World, ticket_id: UUID, runs: int) -> list[list[str]]:
    latest = desk.repository.get(ticket_id).version
    rnd = random.Random(1)
    out = []
    for who, actor in (("auditor (staff view)", world.auditor), ("requester", world.requester)):
        # a requester's history ends at his last entry (a note after it is not his to see)
        mine = history(desk, actor, ticket_id).latest
        versions = [rnd.randint(1, mine) for _ in range(runs)]
        took = []
        for v in tqdm(versions, desc=f"history {who}", file=sys.stderr):
            started = time.perf_counter()
            h = history(desk, actor, ticket_id, version=v)
            took.append(time.perf_counter() - started)
            # a requester travels through his own entries' versions only (issue 13): the version
            # asked is shown as the last of them at or before it
            assert h.version == max(m for m, _ in h.moments if m <= v), (who, v, h.version)
        out.append([f"history(version=random) as {who}", f"{latest:,}", str(runs),
                    ms(pct(took, 50)), ms(pct(took, 95)), ms(max(took)),
                    verdict(pct(took, 95) < 0.05)])  # fmt: skip
    took, _ = timed(lambda: desk.repository.get(ticket_id, version=rnd.randint(1, latest)), runs)
    out.append(["(the aggregate replay alone: repository.get(version))", f"{latest:,}",
                str(runs), ms(pct(took, 50)), ms(pct(took, 95)), ms(max(took)), ""])  # fmt: skip
    return out


def main(argv: list[str]) -> int:
    global YEAR, SINCE, UNTIL
    parser = argparse.ArgumentParser(prog="bench analytics", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10, help="timed runs per month query")
    parser.add_argument("--year-runs", type=int, default=3, help="timed runs per year query")
    parser.add_argument("--before", help="another analytics_queries.py to time beside this one")
    parser.add_argument("--dashboard-only", action="store_true",
                        help="skip time travel and the page over HTTP")  # fmt: skip
    parser.add_argument("--warm", type=int, default=5,
                        help="requests changed between two timed runs (0: none)")  # fmt: skip
    parser.add_argument("--schema", help="this schema, its rows kept from an earlier --keep run"
                        " (rows written only if it has none; with --dashboard-only)")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the schema at the end (for --schema)")  # fmt: skip
    parser.add_argument("--year", type=int, default=YEAR, help="the year the requests are filed in")
    parser.add_argument(
        "--since",
        type=date.fromisoformat,
        help="the first day requests are filed on (default: the year's first)",
    )
    parser.add_argument(
        "--until",
        type=date.fromisoformat,
        help="the last day requests are filed on (default: the year's last)",
    )
    parser.add_argument("--no-dashboard", action="store_true",
                        help="skip the month and year queries' table (with --prime)")  # fmt: skip
    parser.add_argument("--prime", action="store_true",
                        help="time the primer's reads and the first reads after them")  # fmt: skip
    parser.add_argument("--prime-starts", type=int, default=3,
                        help="with --prime: server starts per setting (at least 3)")  # fmt: skip
    args = parser.parse_args(argv)
    YEAR, SINCE, UNTIL = args.year, args.since, args.until
    url = args.database_url
    print("suz bench analytics: dashboard queries and time travel on PostgreSQL\n")
    print_machine(url)
    with bench_desk(url, "bench_analytics", args.schema, args.keep) as b:
        schema, tmp, desk, projections = b.schema, b.tmp, b.desk, b.projections
        print(f"schema: {schema}{' (kept)' if args.keep else ''}")
        with projections.db.read() as tx:
            written = tx.one("SELECT count(*) FROM v_analytics")
        copying = per_day = 0.0
        if written is None or not written[0]:
            copying, per_day = insert_rows(url, schema, projections.db, args.rows)
        with projections.db.read() as tx:
            written = tx.one("SELECT count(*) FROM v_analytics")
        requests = int(written[0]) if written else 0
        gc.collect()  # as the server does after start-up (web/app.py)
        gc.freeze()
        print(f"load avg after writing: {load()} ({requests:,} requests)", flush=True)
        before = load_module(args.before) if args.before else None
        dashboard: list[list[str]] = []
        if not args.no_dashboard:
            dashboard = dashboard_rows(projections, args.runs, args.year_runs, before, args.warm)
            print(f"load avg after the dashboard: {load()}")
        # printed now: a later part failing (a timeout on a loaded machine) keeps these figures
        how = (f"fact rows COPYed in {copying:,.1f} s; per-day rows written by the view's"
               f" apply in {per_day:,.1f} s" if copying else "rows of an earlier run")  # fmt: skip
        first, last = filing_days()
        print(
            f"\nDashboard queries over {requests:,} synthetic requests filed {first}..{last}"
            f" ({how})"
        )
        print(f"warm runs: {args.warm} requests changed before each (untimed); 'rows rewritten'"
              " is the per-day rows they changed, per run; CPU per warm run")  # fmt: skip
        heads = ["query", "requests read", "rows shown", "cold ms", "warm runs", "rows rewritten",
                 "p50 ms", "p95 ms", "CPU ms/run", "PG CPU ms/run", "p95 < 100 ms"]  # fmt: skip
        if dashboard:
            print(table(heads, dashboard), flush=True)
        if args.prime:
            primed = primed_rows(projections, args.year_runs, args.warm)
            last = filing_days()[1]
            print(f"\nPrimed (projections/analytics_prime.py) for {last}, an empty cache; then"
                  " each look's first read (nothing changed), its first read after"
                  f" {args.warm} requests changed, and {args.year_runs} more with {args.warm}"
                  f" changed before each; load avg {load()}")  # fmt: skip
            heads = ["read", "priming ms / primed", "1st read ms", "1st after changes ms", "runs",
                     "p50 ms", "p95 ms", "all < 100 ms"]  # fmt: skip
            print(table(heads, primed), flush=True)
            if datetime.now(UTC).year == YEAR:
                found = desk.account_by_login("curator")  # a kept schema has its people
                curator = found.id if found is not None else World.build(desk).curator.id
                assert curator is not None
                serving_rows = primed_serving_rows(url, schema, tmp, desk, curator,
                                                   args.prime_starts)  # fmt: skip
                print("\n`suz serve` started on the same schema with and without priming;"
                      " seconds from the start; load average (1 min) when ready")  # fmt: skip
                heads = [
                    "server: request",
                    "load",
                    "s to /ready",
                    "s to primed",
                    "the primer's log",
                    "KiB",
                    "1st GET ms",
                    "2nd GET ms",
                    "1st < 100 ms",
                ]
                print(table(heads, serving_rows), flush=True)
            else:
                print(f"(the server part wants --year {datetime.now(UTC).year}: a server primes"
                      " this year's periods)")  # fmt: skip
        travel: list[list[str]] = []
        pages: list[list[str]] = []
        if not args.dashboard_only:
            world = World.build(desk)
            ticket_id = long_ticket(desk, world, args.events)
            travel = time_travel_rows(desk, world, ticket_id, args.runs * 2)
            pages = page_rows(url, schema, tmp, desk, world, args.runs)
    if pages:
        print("\nThe page over HTTP: `suz serve` on the same schema, GET as the curator")
        print(table(["request", "size", "runs", "p50 ms", "p95 ms", "p95 < 100 ms"], pages))
    if travel:
        print(f"\nTime travel: one ticket with {args.events:,} events")
        heads = ["what", "events", "runs", "p50 ms", "p95 ms", "max ms", "p95 < 50 ms"]
        print(table(heads, travel))
    print(f"\nload avg at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
