"""Paired benchmark: suz against django-helpdesk 2.6.1, one load generator, same PostgreSQL.

    .venv/bin/python scripts/peer/bench_pair.py --suz /path/to/a/suz/checkout --label before

Starts both servers itself and stops them at the end (also on Ctrl-C or an error):
- suz from the checkout given (`--suz`, default: this tree), run by `--python` (default: this
  tree's .venv) with PYTHONPATH=<checkout>, so the checkout's code is what runs (checked and
  printed before the run); `suz migrate`, `suz demo`, then `suz serve` on 127.0.0.1:8301 over its
  own database `suz_peer` (dropped and made again at each run unless `--keep-data`);
- django-helpdesk under gunicorn (2 sync workers) on 127.0.0.1:8101 over its database `peer_dh`,
  installed under /tmp/peer-dh by django-helpdesk/setup.sh (run here when missing; its database
  is made again at each run unless `--keep-data`).

Then, for each scenario and each number of clients, suz runs and then the peer (a warm-up that
is not counted, then `--duration` seconds timed), so that noise on a shared machine hits both:
- create: file a ticket (suz: a requester's API token, with urgency; peer: its DRF token API);
- reply: a reply on one of 200 tickets (suz: an agent's token with If-Match, a 409 re-read and
  retried, counted; peer: POST /api/followups/, 70 % public);
- staff_page: the staff HTML page of one ticket with 1,000 entries (session cookies);
- ticket_json (not in the default set): the same ticket as JSON;
- reply_live (not in the default set): reply, while 4 websockets of an agent's session on /live,
  subscribed to "activity", note when each reply's change arrives: from the reply's 2xx (its
  commit is before) and from its sending (suz only: the peer has no live channel);
- reply_reads (not in the default set): reply, while 2 more clients read the 1,000-entry ticket
  as JSON in a closed loop (the figures are the replies'; the reads' count and p99 are noted,
  and the CPU per reply includes the reads').

Per cell it records rps, p50/p95/p99, errors (5xx listed apart), the CPU seconds of each
server's processes and of the PostgreSQL backends of its database (pg_stat_activity.datname),
the most connections each database held (sampled every 0.25 s) and the load average. If suz's
database ever holds more than `--conn-limit` connections the run stops (PostgreSQL is shared).

Only 127.0.0.1 is contacted; every loop is bounded in time and in count.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import multiprocessing
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import websockets

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DH_DIR = HERE / "django-helpdesk"
PEER_ROOT = Path(os.environ.get("PEER_DH_ROOT", "/tmp/peer-dh"))
DH_STATE = PEER_ROOT / "bench-state.json"
DH_PIDFILE = PEER_ROOT / "run" / "gunicorn.pid"
DH_DB = "peer_dh"
PG = "postgresql://postgres@127.0.0.1:5432"
MONITOR_DB = "postgres"  # the harness's own connection: counted in neither system's database
WORK = Path("/tmp/suz-peer")
SUZ_HOST, SUZ_PORT, DH_PORT = "127.0.0.1", 8301, 8101
SUZ_BASE = f"http://{SUZ_HOST}:{SUZ_PORT}"
POOL, BIG = 200, 1000
SCENARIOS = ("create", "reply", "staff_page", "ticket_json", "reply_reads", "reply_live")
LIVE_SOCKETS = 4  # reply_live: websockets on /live (one session may open 8)
READERS = 2  # reply_reads: clients reading the 1,000-entry ticket as JSON beside the replies
WORDS = (
    "printer",
    "network",
    "invoice",
    "refund",
    "password",
    "reset",
    "laptop",
    "screen",
    "error",
    "login",
    "account",
    "billing",
    "vpn",
    "email",
    "server",
    "backup",
    "restore",
    "disk",
    "slow",
    "crash",
    "update",
    "license",
    "access",
    "denied",
    "timeout",
    "customer",
    "order",
    "delivery",
    "replacement",
    "warranty",
)

Fn = Callable[[httpx.Client, random.Random], tuple[bool, str]]


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def loadavg() -> tuple[float, float, float]:
    a, b, c = Path("/proc/loadavg").read_text().split()[:3]
    return float(a), float(b), float(c)


# -- the load generator (the peer's bench.py measurement core, unchanged in what it measures) ---
def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not values:
        return None
    k = math.ceil(p / 100 * len(values)) - 1
    return values[max(0, min(len(values) - 1, k))]


def ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 2)


def machine_ticks() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(parts), parts[3] + parts[4]


def run_load(
    make_client: Callable[[], httpx.Client],
    fn: Fn,
    clients: int,
    duration: float,
    max_requests: int,
    seed: int,
) -> dict[str, Any]:
    """`clients` threads, each with its own HTTP client, call `fn` in a closed loop until
    `duration` has passed or `max_requests` were started; rps counts successes over the wall
    time until the last request in flight returned."""
    pool = [make_client() for _ in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    left = [max_requests]
    lock = threading.Lock()
    go = threading.Event()
    deadline = [0.0]

    def take() -> bool:
        with lock:
            left[0] -= 1
            return left[0] >= 0

    def worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        go.wait()
        while time.perf_counter() < deadline[0] and take():
            t0 = time.perf_counter()
            try:
                ok, note = fn(pool[i], rng)
            except Exception as exc:  # timeouts, resets: counted as errors
                ok, note = False, f"{type(exc).__name__}: {exc}"[:200]
            lat = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(lat)
                else:
                    errors.append(note)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ticks0, idle0 = machine_ticks()
    cpu0 = time.process_time()
    start = time.perf_counter()
    deadline[0] = start + duration
    go.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    cpu1 = time.process_time()
    ticks1, idle1 = machine_ticks()
    for c in pool:
        c.close()
    lat = sorted(latencies)
    return {
        "clients": clients,
        "elapsed_s": round(elapsed, 3),
        "ok": len(lat),
        "errors": len(errors),
        "errors_5xx": sum(e.startswith("HTTP 5") for e in errors),
        "error_samples": sorted(set(errors))[:5],
        "rps": round(len(lat) / elapsed, 2) if elapsed else 0.0,
        "p50_ms": ms(percentile(lat, 50)),
        "p95_ms": ms(percentile(lat, 95)),
        "p99_ms": ms(percentile(lat, 99)),
        "max_ms": ms(lat[-1] if lat else None),
        "machine_busy_pct": round(100 * (1 - (idle1 - idle0) / max(1, ticks1 - ticks0)), 1),
        "client_cpu_s": round(cpu1 - cpu0, 2),
    }


# -- processes, CPU and PostgreSQL backends --------------------------------------------------
def children(pid: int) -> list[int]:
    out: list[int] = []
    with suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with suppress(OSError):
                for k in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                    out += [int(k), *children(int(k))]
    return out


def cpu_s(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


def rss_mb(pids: list[int]) -> float:
    kb = 0
    for p in pids:
        with suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb += int(line.split()[1])
    return round(kb / 1024, 1)


class Monitor:
    """One connection to PostgreSQL (database `postgres`) for counting and timing the backends
    of each system's database; a sampler thread keeps each database's highest count."""

    def __init__(self, dbs: dict[str, str]) -> None:
        self.dbs = dbs  # system -> database
        self.conn = psycopg.connect(
            f"{PG}/{MONITOR_DB}", autocommit=True, application_name="suz bench_pair monitor"
        )
        self.lock = threading.Lock()
        self.peak: dict[str, int] = {}
        self.total_peak = 0
        self.over: str | None = None
        self.stop = threading.Event()
        self.on_over: Callable[[str], None] = lambda why: None
        self.limit = 10**6
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def counts(self) -> tuple[dict[str, int], int]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT coalesce(datname, '-'), count(*) FROM pg_stat_activity GROUP BY 1"
            ).fetchall()
        by_db = {str(r[0]): int(r[1]) for r in rows}
        mine = {s: by_db.get(db, 0) for s, db in self.dbs.items()}
        return mine, sum(v for k, v in by_db.items() if k != "-")

    def _sample(self) -> None:
        while not self.stop.wait(0.25):
            try:
                mine, total = self.counts()
            except psycopg.Error:
                continue
            for s, n in mine.items():
                self.peak[s] = max(self.peak.get(s, 0), n)
            self.total_peak = max(self.total_peak, total)
            if mine.get("suz", 0) > self.limit and self.over is None:
                self.over = f"suz's database held {mine['suz']} connections (> {self.limit})"
                self.on_over(self.over)

    def reset_peaks(self) -> None:
        self.peak, self.total_peak = {}, 0

    def backends(self, system: str) -> list[int]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.dbs[system],)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.conn.close()


@dataclass
class Server:
    name: str
    pid: Callable[[], int | None]
    monitor: Monitor
    also: Callable[[], int | None] = lambda: None  # suz's `suz views` process, when apart

    def tree(self) -> list[int]:
        roots = [p for p in (self.pid(), self.also()) if p and Path(f"/proc/{p}").exists()]
        return [q for p in roots for q in (p, *children(p))]

    def snapshot(self) -> dict[str, dict[int, float]]:
        return {
            "server": {p: cpu_s(p) for p in self.tree()},
            "db": {p: cpu_s(p) for p in self.monitor.backends(self.name)},
        }

    @staticmethod
    def delta(a: dict[str, dict[int, float]], b: dict[str, dict[int, float]]) -> dict[str, float]:
        """CPU seconds between two snapshots (a backend born in between counts from zero; one
        that ended in between is lost: both pools keep their connections)."""
        return {k: round(sum(v - a[k].get(p, 0.0) for p, v in b[k].items()), 2) for k in b}


# -- starting and stopping the two servers --------------------------------------------------
def port_free(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.TransportError:
        return True
    return False


def admin_sql(*statements: str) -> None:
    with psycopg.connect(f"{PG}/{MONITOR_DB}", autocommit=True) as c:
        for s in statements:
            c.execute(s.encode())


@dataclass
class SuzProcess:
    checkout: Path
    python: Path
    db: str
    pools: tuple[int, int, int]  # SUZ_DB_POOL_SIZE, SUZ_STORE_POOL_SIZE, SUZ_STORE_MAX_OVERFLOW
    log: Path
    serve_args: tuple[str, ...] = ()  # more arguments of `suz serve` (--workers 2, --no-views)
    views_apart: bool = False  # `suz serve --no-views` beside a `suz views` process
    proc: subprocess.Popen[bytes] | None = None
    views_proc: subprocess.Popen[bytes] | None = None
    imported: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUZ_", "PG"))}
        env.update(
            PYTHONPATH=str(self.checkout),
            SUZ_MODE="demo",
            SUZ_DATA_DIR=str(WORK / "data"),
            SUZ_DATABASE_URL=f"{PG}/{self.db}",
            SUZ_DB_POOL_SIZE=str(self.pools[0]),
            SUZ_STORE_POOL_SIZE=str(self.pools[1]),
            SUZ_STORE_MAX_OVERFLOW=str(self.pools[2]),
        )
        return env

    def run(self, *args: str) -> str:
        r = subprocess.run(
            [str(self.python), *args],
            cwd=self.checkout,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        if r.returncode:
            raise SystemExit(f"suz {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r.stdout

    def check_imports(self) -> None:
        """Which files the checkout's python imports: they must be the checkout's."""
        out = self.run(
            "-c",
            "import json, suz.cli, suz.bootstrap, domain.desk, web.app,"
            " projections.runner as r; print(json.dumps({m.__name__: m.__file__ for m"
            " in (suz.cli, suz.bootstrap, domain.desk, web.app, r)}))",
        )
        self.imported = json.loads(out.strip().splitlines()[-1])
        outside = [
            f
            for f in self.imported.values()
            if not Path(f).resolve().is_relative_to(self.checkout.resolve())
        ]
        if outside:
            raise SystemExit(f"the checkout's code is not what is imported: {outside}")

    def fresh(self) -> None:
        admin_sql(
            f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)', f'CREATE DATABASE "{self.db}"'
        )
        subprocess.run(["rm", "-rf", str(WORK / "data")], check=True)

    def start(self) -> None:
        self.run("-m", "suz.cli", "migrate")
        # --small: the few requests of the tests, as before `suz demo` loaded a quarter by default
        self.run("-m", "suz.cli", "demo", "--if-empty", "--small")
        apart = ("--no-views",) if self.views_apart else ()
        if self.views_apart:
            with self.log.with_suffix(".views.log").open("wb") as out:
                self.views_proc = subprocess.Popen(
                    [str(self.python), "-m", "suz.cli", "views"],
                    cwd=self.checkout,
                    env=self.env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    str(self.python),
                    "-m",
                    "suz.cli",
                    "serve",
                    "--host",
                    SUZ_HOST,
                    "--port",
                    str(SUZ_PORT),
                    *self.serve_args,
                    *apart,
                ],
                cwd=self.checkout,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"suz serve exited ({self.proc.returncode}); see {self.log}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{SUZ_BASE}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise SystemExit(f"suz did not answer /health in 120 s; see {self.log}")

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def views_pid(self) -> int | None:
        p = self.views_proc
        return p.pid if p is not None and p.poll() is None else None

    def stop(self) -> None:
        for proc in (self.proc, self.views_proc):
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)  # only the processes this script started
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def dh_pid() -> int | None:
    try:
        return int(DH_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None


def dh_script(*args: str) -> None:
    subprocess.run(["bash", *args], check=True, cwd=DH_DIR, timeout=1800)


# -- suz's side -----------------------------------------------------------------------------
def field_value(spec: dict[str, Any]) -> Any:
    if spec.get("choices"):
        return spec["choices"][0]
    return {"number": 2026, "date": "2026-03-31", "text": "ООО Ромашка 7701234567"}.get(
        spec["type"], "77012345678901"
    )


def sign_in(login: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=SUZ_BASE, timeout=60, headers={"Origin": SUZ_BASE})
    r = c.post("/api/v1/session", json={"login": login, "password": f"suz-demo-{login}"})
    r.raise_for_status()
    return c, str(r.json()["csrf_token"])


def token(c: httpx.Client, csrf: str) -> str:
    r = c.post("/api/v1/me/tokens", json={"name": "bench_pair"}, headers={"X-CSRF-Token": csrf})
    r.raise_for_status()
    return str(r.json()["secret"])


def prepare_suz() -> dict[str, Any]:
    """agent1's token and session, ivanova's (a requester's) token, the categories a requester
    can file into that land in agent1's groups, 200 tickets and one with 1,000 entries."""
    agent, csrf = sign_in("agent1")
    me = agent.get("/api/v1/me").json()
    api = httpx.Client(
        base_url=SUZ_BASE, timeout=60, headers={"Authorization": f"Bearer {token(agent, csrf)}"}
    )
    requester, rcsrf = sign_in("ivanova")
    req = httpx.Client(
        base_url=SUZ_BASE,
        timeout=60,
        headers={"Authorization": f"Bearer {token(requester, rcsrf)}"},
    )
    cats = []
    for cat in api.get("/api/v1/categories").json():
        fields = {f["key"]: field_value(f) for f in cat["form"] if f["required"]}
        r = req.post(
            "/api/v1/tickets",
            json={
                "category": cat["id"],
                "subject": "probe",
                "description": "probe",
                "fields": fields,
            },
        )
        if r.status_code != 201:
            continue
        # ?after=: read-your-writes (the views follow the log a moment later)
        seen = api.get(f"/api/v1/tickets/{r.json()['id']}?after={r.json()['position']}")
        if seen.status_code == 200 and seen.json()["ticket"].get("group_id") in me["groups"]:
            cats.append({"id": cat["id"], "fields": fields})
    if not cats:
        raise SystemExit("suz: no category files into agent1's groups")
    rng = random.Random(1)
    pool, versions = [], {}
    for i in range(POOL):
        cat = cats[i % len(cats)]
        r = req.post(
            "/api/v1/tickets",
            json={
                "category": cat["id"],
                "subject": f"[pool] {i}",
                "description": text(rng, 60),
                "fields": cat["fields"],
            },
        )
        r.raise_for_status()
        pool.append(r.json()["id"])
        versions[r.json()["id"]] = r.json()["version"]
    r = req.post(
        "/api/v1/tickets",
        json={
            "category": cats[0]["id"],
            "subject": "[big] 1000",
            "description": text(rng, 60),
            "fields": cats[0]["fields"],
        },
    )
    r.raise_for_status()
    big, v = r.json()["id"], r.json()["version"]
    for i in range(BIG - 1):  # with the filing: 1,000 entries; 70 % replies, 30 % notes
        kind = "replies" if i % 10 < 7 else "notes"
        for _ in range(5):
            r = api.post(
                f"/api/v1/tickets/{big}/{kind}",
                json={"body": text(rng, 40)},
                headers={"If-Match": f'"{v}"'},
            )
            if r.status_code != 409:
                break
            v = r.json()["error"]["current_version"]  # a process touched it: the fresh version
        r.raise_for_status()
        v = r.json()["version"]
    after = r.json()["position"]
    entries = len(api.get(f"/api/v1/tickets/{big}?after={after}").json()["timeline"])
    state = {
        "token": api.headers["Authorization"].split()[1],
        "req_token": req.headers["Authorization"].split()[1],
        "session": agent.cookies["suz_session"],
        "groups": me["groups"],
        "categories": cats,
        "pool_ids": pool,
        "pool_versions": versions,
        "big_id": big,
        "big_entries": entries,
    }
    for c in (agent, api, requester, req):
        c.close()
    return state


class Suz:
    def __init__(self, state: dict[str, Any], timeout: float) -> None:
        self.s, self.timeout = state, timeout
        self.versions: dict[str, int] = dict(state["pool_versions"])
        self.vlock = threading.Lock()
        self.conflicts = 0
        self.sent: dict[int, tuple[float, float]] | None = None  # reply_live: position -> times

    def _client(self, secret: str) -> httpx.Client:
        return httpx.Client(
            base_url=SUZ_BASE,
            timeout=self.timeout,
            headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"},
        )

    def api_client(self) -> httpx.Client:
        return self._client(self.s["token"])

    def req_client(self) -> httpx.Client:
        return self._client(self.s["req_token"])

    def html_client(self) -> httpx.Client:
        c = httpx.Client(base_url=SUZ_BASE, timeout=self.timeout)
        c.cookies.set("suz_session", self.s["session"])
        return c

    def refresh_versions(self) -> None:
        with self.api_client() as c:
            for tid in self.s["pool_ids"]:
                r = c.get(f"/api/v1/tickets/{tid}")
                r.raise_for_status()
                self.versions[tid] = r.json()["ticket"]["version"]

    def create(self, c: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        cat = rng.choice(self.s["categories"])
        r = c.post(
            "/api/v1/tickets",
            json={
                "category": cat["id"],
                "subject": text(rng, 7),
                "description": text(rng, 60),
                "fields": cat["fields"],
                "urgency": rng.choice(["low", "normal", "high"]),
            },
        )
        return r.status_code == 201, f"HTTP {r.status_code} {r.text[:120]}"

    def reply(self, c: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        tid = rng.choice(self.s["pool_ids"])
        body = {"body": text(rng, 40)}
        for _ in range(4):
            with self.vlock:
                v = self.versions[tid]
            t0 = time.perf_counter()
            r = c.post(f"/api/v1/tickets/{tid}/replies", json=body, headers={"If-Match": f'"{v}"'})
            if r.status_code == 200:
                acked, answer = time.perf_counter(), r.json()
                with self.vlock:
                    self.versions[tid] = max(self.versions[tid], answer["version"])
                    if self.sent is not None:
                        self.sent[int(answer["position"])] = (t0, acked)
                return True, ""
            if r.status_code != 409:
                return False, f"HTTP {r.status_code} {r.text[:120]}"
            current = r.json().get("error", {}).get("current_version")
            with self.vlock:
                self.conflicts += 1
                if current is not None:
                    self.versions[tid] = max(self.versions[tid], int(current))
        return False, "HTTP 409 four times"

    def staff_page(self, c: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        r = c.get(f"/t/{self.s['big_id']}")
        return r.status_code == 200, f"HTTP {r.status_code}"

    def ticket_json(self, c: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        r = c.get(f"/api/v1/tickets/{self.s['big_id']}")
        return r.status_code == 200, f"HTTP {r.status_code}"


# -- django-helpdesk's side (as its bench.py does it) ----------------------------------------
def _listen(pipe: Any, session: str, n: int) -> None:
    """The child process of `Live`: opens the sockets, says "ready", records every change's
    arrival until told "stop", then sends {position: [arrival times]}."""
    arrived: dict[int, list[float]] = {}

    async def read(ws: Any) -> None:
        with suppress(websockets.ConnectionClosed, asyncio.CancelledError):
            async for message in ws:
                now = time.perf_counter()
                data = orjson.loads(message)
                if "position" in data:
                    arrived.setdefault(int(data["position"]), []).append(now)

    async def main() -> None:
        try:
            head = int(httpx.get(f"{SUZ_BASE}/health").json()["log_position"])
            conns = [
                await websockets.connect(
                    f"ws://{SUZ_HOST}:{SUZ_PORT}/live",
                    origin=SUZ_BASE,  # type: ignore[arg-type]
                    additional_headers={"Cookie": f"suz_session={session}"},
                )
                for _ in range(n)
            ]
            for ws in conns:
                await ws.send(orjson.dumps({"subscribe": ["activity"], "after": head}).decode())
                answer = orjson.loads(await ws.recv())
                if "subscribed" not in answer:
                    raise RuntimeError(f"not subscribed: {answer}")
        except Exception as exc:
            pipe.send(f"{type(exc).__name__}: {exc}")
            return
        readers = [asyncio.create_task(read(ws)) for ws in conns]
        pipe.send("ready")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipe.recv)  # "stop"
        for ws in conns:
            await ws.close()
        for task in readers:
            task.cancel()
        pipe.send(arrived)

    asyncio.run(main())


class Live:
    """`n` websockets of one session on suz's /live, subscribed to "activity" after the log's
    head, noting when each change arrives. They run in a process of their own: in this one the
    load's client threads would hold the interpreter and delay the reading by seconds (seen).
    `time.perf_counter` is the system's monotonic clock, the same in both processes."""

    def __init__(self, session: str, n: int) -> None:
        self.session, self.n = session, n
        self.arrived: dict[int, list[float]] = {}
        ctx = multiprocessing.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.process = ctx.Process(target=_listen, args=(child, session, n), daemon=True)

    def __enter__(self) -> Live:
        self.process.start()
        if not self.pipe.poll(60):
            raise SystemExit("reply_live: the websockets did not open in 60 s")
        said = self.pipe.recv()
        if said != "ready":
            raise SystemExit(f"reply_live: the websockets did not open: {said}")
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(2.0)  # the last replies' changes
        self.pipe.send("stop")
        if self.pipe.poll(30):
            self.arrived = self.pipe.recv()
        self.process.join(10)

    def delays(self, sent: dict[int, tuple[float, float]]) -> dict[str, Any]:
        """From each reply's 2xx, and from its sending, to each socket's arrival of it, ms."""
        acked = sorted(t - sent[p][1] for p, ts in self.arrived.items() if p in sent for t in ts)
        since = sorted(t - sent[p][0] for p, ts in self.arrived.items() if p in sent for t in ts)
        return {
            "sockets": self.n,
            "delivered": len(acked),
            "expected": len(sent) * self.n,
            "from_2xx_p50_ms": ms(percentile(acked, 50)),
            "from_2xx_p99_ms": ms(percentile(acked, 99)),
            "from_2xx_max_ms": ms(acked[-1] if acked else None),
            "from_send_p50_ms": ms(percentile(since, 50)),
            "from_send_p99_ms": ms(percentile(since, 99)),
        }


class Peer:
    def __init__(self, state: dict[str, Any], timeout: float) -> None:
        self.s, self.timeout = state, timeout
        self.base = str(state["base_url"])
        if not self.base.startswith("http://127.0.0.1:"):
            raise SystemExit("refusing a non-loopback peer")
        self.cookies: dict[str, str] | None = None

    def api_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            timeout=self.timeout,
            headers={"Authorization": f"Token {self.s['token']}", "Accept": "application/json"},
        )

    def html_client(self) -> httpx.Client:
        if self.cookies is None:  # one staff session through the real login form
            with httpx.Client(base_url=self.base, timeout=self.timeout) as c:
                c.get("/helpdesk/login/").raise_for_status()
                csrf = c.cookies["csrftoken"]
                r = c.post(
                    "/helpdesk/login/",
                    data={
                        "username": self.s["username"],
                        "password": self.s["password"],
                        "csrfmiddlewaretoken": csrf,
                        "next": "/helpdesk/",
                    },
                    headers={"Referer": self.base + "/helpdesk/login/"},
                )
                if r.status_code not in (200, 302) or "sessionid" not in c.cookies:
                    raise SystemExit(f"peer: staff login failed: HTTP {r.status_code}")
                self.cookies = {"sessionid": c.cookies["sessionid"], "csrftoken": csrf}
        c = httpx.Client(base_url=self.base, timeout=self.timeout)
        for k, v in self.cookies.items():
            c.cookies.set(k, v)
        return c

    def create(self, c: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        r = c.post(
            "/helpdesk/api/tickets/",
            json={
                "queue": rng.choice(self.s["queue_ids"]),
                "title": text(rng, 7),
                "description": text(rng, 60),
                "submitter_email": f"bench{rng.randint(1, 5000)}@example.com",
                "priority": rng.randint(1, 5),
            },
        )
        return r.status_code == 201, f"HTTP {r.status_code} {r.text[:120]}"

    def reply(self, c: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        r = c.post(
            "/helpdesk/api/followups/",
            json={
                "ticket": rng.choice(self.s["pool_ticket_ids"]),
                "comment": text(rng, 40),
                "public": rng.random() < 0.7,  # no "title": it would rename the ticket
            },
        )
        return r.status_code == 201, f"HTTP {r.status_code} {r.text[:120]}"

    def staff_page(self, c: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        r = c.get(f"/helpdesk/tickets/{self.s['big_ticket_id']}/")
        return r.status_code == 200, f"HTTP {r.status_code}"

    def ticket_json(self, c: httpx.Client, rng: random.Random) -> tuple[bool, str]:
        r = c.get(f"/helpdesk/api/tickets/{self.s['big_ticket_id']}/")
        return r.status_code == 200, f"HTTP {r.status_code}"


# -- the run --------------------------------------------------------------------------------
LABELS = {
    "create": "create a ticket",
    "reply": "reply on one of 200 tickets",
    "staff_page": "staff page of a 1,000-entry ticket",
    "ticket_json": "1,000-entry ticket as JSON",
    "reply_reads": "reply, 2 clients reading the 1,000-entry ticket",
    "reply_live": "reply, 4 websockets told of each",
}


class Out:
    """Prints to stdout and keeps every line for the results file."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)


def machine() -> dict[str, Any]:
    model = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    mem = Path("/proc/meminfo").read_text().split()[1]
    with psycopg.connect(f"{PG}/{MONITOR_DB}", autocommit=True) as c:
        pg = str(c.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        maxc = str(c.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "mem_gib": round(int(mem) / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg,
        "max_connections": maxc,
    }


def git(checkout: Path, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "?"


def fmt(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def per_request_ms(cpu: float, ok: int) -> float | None:
    return round(1000 * cpu / ok, 2) if ok else None


def tables(runs: list[dict[str, Any]], conc: list[int], scenarios: list[str]) -> list[str]:
    by = {(r["scenario"], r["clients"], r["system"]): r for r in runs}
    lines = [
        "| scenario | clients | suz rps | p50 ms | p99 ms | peer rps | p50 ms | p99 ms |"
        " suz / peer |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for sc in scenarios:
        for c in conc:
            a, b = by.get((sc, c, "suz")), by.get((sc, c, "peer"))
            if a is None and b is None:
                continue

            def cols(r: dict[str, Any] | None) -> str:
                if r is None:
                    return "– | – | –"
                err = f" ({r['errors']} err)" if r["errors"] else ""
                return f"{fmt(r['rps'])}{err} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])}"

            ratio = f"{a['rps'] / b['rps']:.2f}" if a and b and b["rps"] else "–"
            lines.append(f"| {LABELS[sc]} | {c} | {cols(a)} | {cols(b)} | {ratio} |")
    lines += [
        "",
        "CPU per successful request (ms: the server's processes / the PostgreSQL backends of its"
        " database), the most connections its database held during the cell, 409s re-tried"
        " (suz), and the load average (1 min) at the cell's start:",
        "",
        "| scenario | clients | suz srv ms | suz PG ms | suz conns | suz 409 | peer srv ms |"
        " peer PG ms | peer conns | load1 suz / peer |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for sc in scenarios:
        for c in conc:
            a, b = by.get((sc, c, "suz")), by.get((sc, c, "peer"))
            if a is None and b is None:
                continue

            def cpu(r: dict[str, Any] | None) -> str:
                if r is None:
                    return "– | – | –"
                return (
                    f"{fmt(per_request_ms(r['server_cpu_s'], r['ok']))} |"
                    f" {fmt(per_request_ms(r['db_cpu_s'], r['ok']))} | {r['conns_peak']}"
                )

            loads = " / ".join(f"{r['load1_start']:.2f}" for r in (a, b) if r)
            lines.append(
                f"| {LABELS[sc]} | {c} | {cpu(a)} | {a['conflicts_409'] if a else '–'} |"
                f" {cpu(b)} | {loads} |"
            )
    lines += [
        "",
        "Issue 15's layout (rps at " + " / ".join(map(str, conc)) + " clients):",
        "",
        "| scenario (rps) | clients | suz | django-helpdesk | suz / peer |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for sc in scenarios:
        rows = [(by.get((sc, c, "suz")), by.get((sc, c, "peer"))) for c in conc]
        if not any(a or b for a, b in rows):
            continue
        s = " / ".join(fmt(a["rps"]) if a else "–" for a, _ in rows)
        p = " / ".join(fmt(b["rps"]) if b else "–" for _, b in rows)
        q = " / ".join(
            f"{a['rps'] / b['rps']:.2f}" if a and b and b["rps"] else "–" for a, b in rows
        )
        lines.append(f"| {LABELS[sc]} | {' / '.join(map(str, conc))} | {s} | {p} | {q} |")
    return lines


@contextmanager
def servers(out: Out, suz: SuzProcess) -> Iterator[None]:
    """Stops both servers however the run ends (SIGTERM becomes SystemExit here)."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        suz.stop()
        if dh_pid() is not None:
            with suppress(subprocess.SubprocessError):
                dh_script("serve.sh", "stop")
        signal.signal(signal.SIGTERM, old)
        out(f"servers stopped at {now()}")


def cells(
    args: argparse.Namespace,
    out: Out,
    suz: SuzProcess,
    conc: list[int],
    scenarios: list[str],
    runs: list[dict[str, Any]],
    notes: list[str],
) -> None:
    """Sets both systems up, then runs every cell: scenario by scenario, clients by clients,
    suz then the peer."""
    t0 = time.monotonic()
    state_file = WORK / "suz-state.json"
    peer_failed: list[BaseException] = []

    def peer_setup() -> None:  # beside suz's set-up: the two take about as long
        if args.suz_only:
            return
        try:
            if not (PEER_ROOT / "venv" / "bin" / "python").exists():
                dh_script("setup.sh")
            elif not args.keep_data:
                dh_script("setup.sh", "--reset-db")
            dh_script("serve.sh", "start", "2")
        except BaseException as e:
            peer_failed.append(e)

    peer = threading.Thread(target=peer_setup)
    peer.start()
    try:
        if not args.keep_data:
            suz.fresh()
        suz.start()
        if args.keep_data and state_file.exists():
            state = json.loads(state_file.read_text())
        else:
            state = prepare_suz()
            state_file.write_text(json.dumps(state, indent=1))
    finally:
        peer.join()
    if peer_failed:
        raise SystemExit(f"the peer's set-up failed: {peer_failed[0]!r}")
    a = Suz(state, args.timeout)
    peer_state = {"base_url": "http://127.0.0.1:0"} if args.suz_only else None
    b = Peer(peer_state or json.loads(DH_STATE.read_text()), args.timeout)
    a.refresh_versions()
    out(
        f"set-up {time.monotonic() - t0:.0f} s: suz {len(state['pool_ids'])} pool tickets,"
        f" a ticket of {state['big_entries']} timeline entries, {len(state['categories'])}"
        " categories; "
        + (
            "peer not run (--suz-only)"
            if args.suz_only
            else f"peer {len(b.s['pool_ticket_ids'])} pool tickets, a ticket of"
            f" {b.s['big_ticket_followups']} follow-ups"
        )
    )
    monitor = Monitor({"suz": args.suz_db, "peer": DH_DB})
    monitor.limit = args.conn_limit
    monitor.on_over = lambda why: suz.stop()
    srv = {
        "suz": Server("suz", suz.pid, monitor, suz.views_pid),
        "peer": Server("peer", dh_pid, monitor),
    }
    spec: dict[str, dict[str, tuple[Callable[[], httpx.Client], Fn]]] = {
        "create": {"suz": (a.req_client, a.create), "peer": (b.api_client, b.create)},
        "reply": {"suz": (a.api_client, a.reply), "peer": (b.api_client, b.reply)},
        "staff_page": {"suz": (a.html_client, a.staff_page), "peer": (b.html_client, b.staff_page)},
        "ticket_json": {
            "suz": (a.api_client, a.ticket_json),
            "peer": (b.api_client, b.ticket_json),
        },
        "reply_reads": {"suz": (a.api_client, a.reply), "peer": (b.api_client, b.reply)},
        "reply_live": {"suz": (a.api_client, a.reply), "peer": (b.api_client, b.reply)},
    }
    out()
    try:
        for sc in scenarios:
            for c in conc:
                alone = args.suz_only or sc == "reply_live"  # the peer has no live channel
                for system in ("suz",) if alone else ("suz", "peer"):
                    if monitor.over:
                        raise SystemExit(f"stopped: {monitor.over}")
                    make, fn = spec[sc][system]
                    la0 = loadavg()[0]
                    if args.warmup > 0:
                        run_load(make, fn, c, args.warmup, args.max_requests, seed=99)
                    a.conflicts = 0
                    monitor.reset_peaks()
                    s0 = srv[system].snapshot()
                    reads: dict[str, Any] = {}
                    beside = None
                    if sc == "reply_reads":  # readers of the big ticket beside the timed replies
                        rmake, rfn = spec["ticket_json"][system]

                        beside = threading.Thread(
                            target=lambda m=rmake, f=rfn, into=reads: into.update(
                                run_load(m, f, READERS, args.duration, args.max_requests, seed=7)
                            ),
                            daemon=True,
                        )
                        beside.start()
                    if sc == "reply_live":
                        a.sent = {}
                        with Live(state["session"], LIVE_SOCKETS) as live:
                            r = run_load(make, fn, c, args.duration, args.max_requests, seed=c)
                        r["live"] = live.delays(a.sent)
                        a.sent = None
                    else:
                        r = run_load(make, fn, c, args.duration, args.max_requests, seed=c)
                    if beside is not None:
                        beside.join()
                        r["reads"] = {k: reads.get(k) for k in ("ok", "errors", "rps", "p99_ms")}
                    d = Server.delta(s0, srv[system].snapshot())
                    r.update(
                        scenario=sc,
                        system=system,
                        load1_start=la0,
                        load1_end=loadavg()[0],
                        server_cpu_s=d["server"],
                        db_cpu_s=d["db"],
                        conns_peak=monitor.peak.get(system, 0),
                        pg_total_peak=monitor.total_peak,
                        conflicts_409=a.conflicts if system == "suz" else 0,
                        server_rss_mb=rss_mb(srv[system].tree()),
                    )
                    runs.append(r)
                    out(
                        f"  {sc:<11} {system:<4} c={c:<3} {r['rps']:>8} rps  p50 {r['p50_ms']}"
                        f" p99 {r['p99_ms']} ms  ok={r['ok']} err={r['errors']}"
                        f" (5xx {r['errors_5xx']}) 409={r['conflicts_409']}  cpu"
                        f" srv={d['server']} s pg={d['db']} s  conns={r['conns_peak']}"
                        f" (all databases {r['pg_total_peak']})  rss={r['server_rss_mb']} MB"
                        f"  load {la0:.2f}->{r['load1_end']:.2f}"
                    )
                    if "reads" in r:
                        out(f"      beside: {READERS} readers, {r['reads']}")
                    if "live" in r:
                        out(f"      live: {r['live']}")
                    for e in r["error_samples"][:2]:
                        out(f"      error: {e}")
        held, _ = monitor.counts()
        notes.append(
            f"connections held after the last cell: suz {held['suz']}, peer"
            f" {held['peer']}; most seen in any cell: suz"
            f" {max((r['conns_peak'] for r in runs if r['system'] == 'suz'), default=0)},"
            f" all databases {max((r['pg_total_peak'] for r in runs), default=0)}"
        )
    finally:
        if monitor.over:
            notes.append(f"STOPPED: {monitor.over}")
        monitor.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--suz", type=Path, default=ROOT, help="the suz checkout to run (a path)")
    ap.add_argument(
        "--python",
        type=Path,
        default=ROOT / ".venv" / "bin" / "python",
        help="the python that runs it (its packages; the code is the checkout's)",
    )
    ap.add_argument("--label", default="run", help="names the results file")
    ap.add_argument("--duration", type=float, default=12.0, help="timed seconds per cell")
    ap.add_argument(
        "--warmup", type=float, default=2.0, help="untimed seconds before each cell (0: none)"
    )
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument(
        "--scenarios",
        default="create,reply,staff_page",
        help=f"comma-separated, of {', '.join(SCENARIOS)}",
    )
    ap.add_argument("--max-requests", type=int, default=50_000, help="cap per cell")
    ap.add_argument("--timeout", type=float, default=120.0, help="per request, s")
    ap.add_argument("--suz-db", default="suz_peer", help="suz's own database (dropped, made)")
    ap.add_argument(
        "--pools",
        default="10,5,5",
        help="SUZ_DB_POOL_SIZE,SUZ_STORE_POOL_SIZE,SUZ_STORE_MAX_OVERFLOW",
    )
    ap.add_argument(
        "--conn-limit",
        type=int,
        default=30,
        help="stop the run when suz's database holds more connections than this",
    )
    ap.add_argument(
        "--keep-data",
        action="store_true",
        help="reuse both databases and suz's fixtures of the last run",
    )
    ap.add_argument("--out", type=Path, help="results file (default results/<label>-<date>.txt)")
    ap.add_argument(
        "--serve-args",
        default="",
        help="more arguments of suz serve, e.g. '--workers 2' or '--no-views' (a diagnosis)",
    )
    ap.add_argument(
        "--views-apart",
        action="store_true",
        help="suz's views and processes in a `suz views` process beside `suz serve --no-views`",
    )
    ap.add_argument(
        "--suz-only",
        action="store_true",
        help="run suz's cells only (CPU per command, profiles): no peer set up or run",
    )
    args = ap.parse_args(argv)
    conc = [int(x) for x in args.concurrency.split(",")]
    scenarios = [s for s in args.scenarios.split(",") if s]
    if unknown := [s for s in scenarios if s not in SCENARIOS]:
        raise SystemExit(f"unknown scenario(s): {unknown}")
    p = [int(x) for x in args.pools.split(",")]
    if len(p) != 3:
        raise SystemExit("--pools takes three numbers")
    pools = (p[0], p[1], p[2])
    checkout = args.suz.resolve()
    for port in (SUZ_PORT, DH_PORT):
        if not port_free(port):
            raise SystemExit(f"127.0.0.1:{port} already answers: stop that server first")
    WORK.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H%M")
    txt = args.out or HERE / "results" / f"{args.label}-{stamp}.txt"
    txt.parent.mkdir(parents=True, exist_ok=True)
    out = Out()
    suz = SuzProcess(checkout, args.python, args.suz_db, pools, WORK / "suz-serve.log",
                     tuple(args.serve_args.split()), args.views_apart)  # fmt: skip
    t_all = time.monotonic()
    out(f"# bench_pair {args.label}: suz against django-helpdesk 2.6.1, started {now()}")
    out("command: " + " ".join([sys.executable, *sys.argv]))
    m = machine()
    out(
        f"machine: {m['cores']} cores ({m['cpu']}), {m['mem_gib']} GiB, Linux {m['kernel']},"
        f" PostgreSQL {m['postgresql']} (max_connections {m['max_connections']})"
    )
    out(f"load average at start: {' '.join(map(str, loadavg()))}")
    out(
        f"suz checkout: {checkout} at {git(checkout, 'rev-parse', '--short', 'HEAD')}"
        f" ({git(checkout, 'log', '-1', '--format=%cI %s')[:100]});"
        f" uncommitted changes: {'yes' if git(checkout, 'status', '--porcelain') else 'no'}"
    )
    suz.check_imports()
    out(
        f"suz runs with {args.python}, PYTHONPATH={checkout}; imports: "
        + ", ".join(f"{k}={v}" for k, v in suz.imported.items())
    )
    out(
        (
            "suz: `suz serve --no-views` and a `suz views` process (each its own pools)"
            if args.views_apart
            else "suz: one process (`suz serve`, views in it)"
        )
        + f", pools {args.pools} (at most {sum(pools) + 2} connections a process),"
        f" database {args.suz_db};"
        f" peer: gunicorn 2 sync workers, database {DH_DB}"
        + (f"; suz serve given {args.serve_args!r}" if args.serve_args else "")
    )
    out(
        f"cells: warm-up {args.warmup} s, then {args.duration} s timed; clients {conc};"
        f" scenarios {scenarios}"
    )
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        with servers(out, suz):
            cells(args, out, suz, conc, scenarios, runs, notes)
    finally:
        log = suz.log.read_text(errors="replace") if suz.log.exists() else ""
        http = [ln for ln in log.splitlines() if 'HTTP/1.1"' in ln]
        answers_5xx = sum(ln.rstrip().split('" ')[-1][:1] == "5" for ln in http)
        out()
        for note in notes:
            out(note)
        out(
            f"suz's log ({suz.log}): {len(http)} requests logged, {answers_5xx} answered 5xx,"
            f" {log.count('Traceback (most recent call last)')} tracebacks"
        )
        out(f"load average at end: {' '.join(map(str, loadavg()))}")
        out()
        for line in tables(runs, conc, scenarios):
            out(line)
        out()
        out(f"total {time.monotonic() - t_all:.0f} s, finished {now()}")
        txt.write_text("\n".join(out.lines) + "\n")
        txt.with_suffix(".json").write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "machine": m,
                    "suz_imports": suz.imported,
                    "notes": notes,
                    "runs": runs,
                },
                indent=1,
            )
        )
        print(f"results: {txt} (and .json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
