"""`./scripts/bench web`: a real server (`suz serve`, one process) on PostgreSQL, under load.

1. HTTP command throughput and latency: notes (If-Match from the previous answer) on 256
   tickets, each client on its own tickets, over an API token, with 1, 16 and 64 concurrent
   clients (httpx.AsyncClient; the load generator shares the machine with the server).
2. Fan-out: 1,000 websockets on /live subscribed to "activity"; the time from sending a command
   to each socket receiving its change, over several commands.
3. Memory: the server's RSS (/proc) idle, then holding the 1,000 idle websockets.
Targets (issue 4): >= 1,000 commands/s; fan-out p99 < 250 ms; < 200 MB for 1,000 sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets
from tqdm import tqdm

from domain.desk import SYSTEM, Desk
from domain.settings import Settings
from scripts.bench_machine import (
    DEFAULT_PG_URL,
    load,
    ms,
    pct,
    print_machine,
    table,
    temp_schema,
    verdict,
)
from tests.world import World
from web.credentials import set_password_hash
from web.passwords import Passwords
from web.sessions import open_session_store

PASSWORD = "bench-password-not-secret"
TICKETS = 256
PER_SESSION = 8  # web.live.MAX_PER_SESSION


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(env: dict[str, str], port: int, tmp: Path, extra: list[str]) -> Iterator[Any]:
    """`suz serve` on the port (its output in tmp/server.log) once /health answers; stopped
    with SIGINT at the end."""
    cli = [sys.executable, "-m", "suz.cli", "serve", "--port", str(port), *extra]
    with open(tmp / "server.log", "wb") as log:
        server = subprocess.Popen(cli, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            yield server
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def prepare(settings: Settings) -> tuple[list[str], list[int]]:
    """The cast (agent1 gets a password) and TICKETS tickets; their ids and versions."""
    desk = Desk(settings.store_env())
    try:
        world = World.build(desk)
        hashed = Passwords(time_cost=1, memory_cost_kib=8192, parallelism=1).hash(PASSWORD)
        assert world.agent.id is not None
        sessions = open_session_store(settings)  # made by `suz migrate` above
        set_password_hash(desk, sessions, SYSTEM, world.agent.id, hashed)
        sessions.close()
        filed = [world.file(f"Заявка {i}") for i in tqdm(range(TICKETS), desc="filing",
                                                          file=sys.stderr)]  # fmt: skip
        return [str(f.id) for f in filed], [f.version for f in filed]
    finally:
        desk.close()


async def sign_in(http: httpx.AsyncClient) -> tuple[str, str]:
    """A new session: (cookie token, CSRF token)."""
    r = await http.post("/api/v1/session", json={"login": "agent1", "password": PASSWORD})
    r.raise_for_status()
    return r.cookies["suz_session"], r.json()["csrf_token"]


async def api_token(http: httpx.AsyncClient, origin: str) -> str:
    cookie, csrf = await sign_in(http)
    r = await http.post("/api/v1/me/tokens", json={"name": "bench"},
                        headers={"X-CSRF-Token": csrf, "Origin": origin,
                                 "Cookie": f"suz_session={cookie}"})  # fmt: skip
    r.raise_for_status()
    secret: str = r.json()["secret"]
    http.cookies.clear()
    return secret


async def note(http: httpx.AsyncClient, ids: list[str], versions: list[int], i: int) -> int:
    """One note on ticket i with If-Match; keeps its version; returns the log position."""
    r = await http.post(f"/api/v1/tickets/{ids[i]}/notes", json={"body": "Нагрузочная заметка"},
                        headers={"If-Match": f'"{versions[i]}"'})  # fmt: skip
    if r.status_code == 409:
        versions[i] = int(r.json()["error"]["current_version"])
        raise RuntimeError("conflict")
    r.raise_for_status()
    data = r.json()
    versions[i] = int(data["version"])
    return int(data["position"])


async def throughput(http: httpx.AsyncClient, ids: list[str], versions: list[int],
                     clients: int, seconds: float) -> list[str]:  # fmt: skip
    took: list[float] = []
    errors = [0]
    deadline = time.perf_counter() + seconds

    async def client(k: int) -> None:
        mine = list(range(k, TICKETS, clients))
        n = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await note(http, ids, versions, mine[n % len(mine)])
                took.append(time.perf_counter() - started)
            except (RuntimeError, httpx.HTTPError):
                errors[0] += 1
            n += 1

    began = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    rate = len(took) / (time.perf_counter() - began)
    return [str(clients), f"{len(took):,}", f"{rate:,.0f}", ms(pct(took, 50)),
            ms(pct(took, 99)), str(errors[0]), verdict(rate >= 1000)]  # fmt: skip


class Sockets:
    """n websockets on /live, subscribed to one topic, noting when each change arrives."""

    def __init__(self) -> None:
        self.conns: list[Any] = []
        self.arrived: dict[int, list[float]] = {}
        self.readers: list[asyncio.Task[None]] = []

    async def open(self, url: str, origin: str, cookies: list[str], n: int, after: int) -> None:
        async def one(k: int) -> None:
            cookie = {"Cookie": f"suz_session={cookies[k // PER_SESSION]}"}
            ws = await websockets.connect(url, origin=origin, additional_headers=cookie)  # type: ignore[arg-type]
            await ws.send(orjson.dumps({"subscribe": ["activity"], "after": after}).decode())
            answer = orjson.loads(await ws.recv())
            assert "subscribed" in answer, answer
            self.conns.append(ws)
            self.readers.append(asyncio.create_task(self.read(ws)))

        with tqdm(total=n, desc="websockets", file=sys.stderr) as bar:
            for lo in range(0, n, 50):
                await asyncio.gather(*(one(k) for k in range(lo, min(lo + 50, n))))
                bar.update(min(50, n - lo))

    async def read(self, ws: Any) -> None:
        try:
            async for message in ws:
                now = time.perf_counter()
                data = orjson.loads(message)
                if "position" in data:
                    self.arrived.setdefault(int(data["position"]), []).append(now)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.conns), return_exceptions=True)
        for task in self.readers:
            task.cancel()


async def drive(port: int, pid: int, ids: list[str], versions: list[int],
                args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    base, origin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        secret = await api_token(http, origin)
        http.headers["Authorization"] = f"Bearer {secret}"
        for i in range(20):  # warm-up
            await note(http, ids, versions, i)
        rows = []
        for clients in tqdm(args.clients, desc="throughput", file=sys.stderr):
            rows.append(await throughput(http, ids, versions, clients, args.seconds))
        await asyncio.sleep(3)
        idle_rss = rss_mb(pid)
        if not args.sockets:
            return {"rows": rows, "idle": idle_rss}
        del http.headers["Authorization"]
        cookies = [(await sign_in(http))[0] for _ in range(-(-args.sockets // PER_SESSION))]
        http.cookies.clear()
        http.headers["Authorization"] = f"Bearer {secret}"
        head = int((await http.get("/health")).json()["log_position"])
        sockets = Sockets()
        await sockets.open(f"ws://127.0.0.1:{port}/live", origin, cookies, args.sockets, head)
        await asyncio.sleep(5)
        held_rss = rss_mb(pid)
        sent: dict[int, float] = {}
        for k in tqdm(range(args.fanout), desc="fan-out", file=sys.stderr):
            started = time.perf_counter()
            sent[await note(http, ids, versions, k % TICKETS)] = started
            await asyncio.sleep(1.0)
        await asyncio.sleep(3)
        await sockets.close()
    delays = [t - sent[p] for p, times in sockets.arrived.items() if p in sent for t in times]
    last = [max(sockets.arrived.get(p, [float("inf")])) - s for p, s in sent.items()]
    return {"rows": rows, "idle": idle_rss, "held": held_rss, "delays": delays, "last": last,
            "expected": len(sent) * args.sockets}  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench web", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL",
                                                                 DEFAULT_PG_URL))  # fmt: skip
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=10.0, help="per concurrency level")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--fanout", type=int, default=20, help="commands fanned out")
    parser.add_argument(
        "--no-views",
        action="store_true",
        help="diagnosis: serve without view runners (throughput only)",
    )
    args = parser.parse_args(argv)
    args.sockets = 0 if args.no_views else args.sockets
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65_536)), hard))
    url = args.database_url
    print("suz bench web: one `suz serve` process on PostgreSQL\n")
    print_machine(url)
    with temp_schema(url, "bench_web") as schema, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "SUZ_DATABASE_URL": url, "SUZ_DATABASE_SCHEMA": schema,
               "SUZ_DATA_DIR": tmp, "SUZ_ORIGINS": f"http://127.0.0.1:{port}"}  # fmt: skip
        cli = [sys.executable, "-m", "suz.cli"]
        subprocess.run([*cli, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        os.environ["SUZ_DATABASE_SCHEMA"] = schema
        ids, versions = prepare(Settings(data_dir=Path(tmp), database_url=url))
        with serving(env, port, Path(tmp), ["--no-views"] * args.no_views) as server:
            result = asyncio.run(drive(port, server.pid, ids, versions, args))
    views = " (server with --no-views: no view runner in any process)" if args.no_views else ""
    print(f"\nHTTP commands (POST .../notes with If-Match, API token){views}, ms")
    print(table(["clients", "commands", "commands/s", "p50", "p99", "errors", ">= 1,000/s"],
                result["rows"]))  # fmt: skip
    if not args.sockets:
        print("\n(no views: no websockets measured)")
        return 0
    d, last = result["delays"], result["last"]
    print(f"\nFan-out to {args.sockets:,} websockets on 'activity', from sending the command, ms")
    print(table(["deliveries", "of expected", "p50", "p99", "max", "all sockets told (p50)",
                 "p99 < 250"], [[f"{len(d):,}", f"{result['expected']:,}", ms(pct(d, 50)),
                                 ms(pct(d, 99)), ms(max(d, default=0)), ms(pct(last, 50)),
                                 verdict(pct(d, 99) < 0.250)]]))  # fmt: skip
    extra = result["held"] - result["idle"]
    print(f"\nServer RSS: idle {result['idle']:,.0f} MB, holding {args.sockets:,} idle websockets"
          f" {result['held']:,.0f} MB (+{extra:,.0f} MB, {extra * 1024 / args.sockets:,.0f} KiB"
          f" each): {verdict(extra < 200)} (< 200 MB)")  # fmt: skip
    print(f"\nload avg at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
