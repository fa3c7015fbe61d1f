"""`python -m scripts.bench_blobs`: attachments' throughput on each store, through a real server.

For each store (files with SQLite, chunked rows with PostgreSQL) one `suz serve` process; an
agent signed in with a cookie uploads a 10 MB file of random bytes (a new one each round, so
each is really stored) to a request (multipart, POST .../attachments) and downloads it again
(GET, streamed); MB/s per round, and the server's peak memory growth over the rounds (VmHWM,
reset first). Also the store alone in this process (`put`, then `chunks`), without HTTP.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from domain.desk import SYSTEM, Desk
from domain.settings import Settings
from projections.db import ViewDB
from scripts.bench_machine import DEFAULT_PG_URL, load, print_machine, table, temp_schema
from scripts.bench_web import PASSWORD, free_port, serving
from tests.world import World
from web.blobs import open_blob_store
from web.credentials import set_password_hash
from web.passwords import Passwords
from web.sessions import open_session_store

MB = 1024 * 1024


def prepare(settings: Settings) -> tuple[str, int]:
    """The cast (agent1 gets a password) and one request; its id and version."""
    desk = Desk(settings.store_env())
    try:
        world = World.build(desk)
        assert world.agent.id is not None
        hashed = Passwords(time_cost=1, memory_cost_kib=8192, parallelism=1).hash(PASSWORD)
        sessions = open_session_store(settings)
        set_password_hash(desk, sessions, SYSTEM, world.agent.id, hashed)
        sessions.close()
        filed = world.file("Большой журнал")
        return str(filed.id), filed.version
    finally:
        desk.close()


def peak(pid: int, reset: bool = False) -> int:
    if reset:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def rate(size: int, seconds: float) -> str:
    return f"{size / MB / seconds:,.0f}"


def over_http(port: int, pid: int, ticket: str, version: int, size: int, rounds: int
              ) -> dict[str, Any]:  # fmt: skip
    base = origin = f"http://127.0.0.1:{port}"
    r = httpx.post(f"{base}/api/v1/session", json={"login": "agent1", "password": PASSWORD})
    r.raise_for_status()
    headers = {"X-CSRF-Token": r.json()["csrf_token"], "Origin": origin}
    ups, downs = [], []
    rng = random.Random(7)
    with httpx.Client(base_url=base, cookies=r.cookies, headers=headers, timeout=120) as http:
        before = peak(pid, reset=True)
        for _ in range(rounds):
            content = rng.randbytes(size)
            start = time.perf_counter()
            done = http.post(f"/api/v1/tickets/{ticket}/attachments",
                             files={"file": ("log.bin", content, "application/octet-stream")},
                             data={"version": str(version)})  # fmt: skip
            ups.append(time.perf_counter() - start)
            assert done.status_code == 201, done.text
            answer = done.json()
            version, digest = answer["version"], hashlib.sha256()
            start = time.perf_counter()
            with http.stream("GET", f"/api/v1/tickets/{ticket}/attachments/{answer['sha256']}"
                                    f"?after={answer['position']}") as got:  # fmt: skip
                assert got.status_code == 200
                for chunk in got.iter_bytes(256 * 1024):
                    digest.update(chunk)
            downs.append(time.perf_counter() - start)
            assert digest.hexdigest() == answer["sha256"]
        grew = peak(pid) - before
    return {"up": ups, "down": downs, "grew": grew}


def in_process(settings: Settings, size: int, rounds: int) -> dict[str, Any]:
    views = ViewDB(settings)
    store = open_blob_store(settings, views)
    ups, downs = [], []
    rng = random.Random(11)
    try:
        for _ in range(rounds):
            stream = _Reader(rng.randbytes(size))
            start = time.perf_counter()
            sha, _ = store.put(stream, size)
            ups.append(time.perf_counter() - start)
            start = time.perf_counter()
            assert sum(len(c) for c in store.chunks(sha)) == size
            downs.append(time.perf_counter() - start)
    finally:
        views.close_all()
    return {"up": ups, "down": downs}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.view, self.at = memoryview(data), 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self.view) if size < 0 else self.at + size
        chunk = bytes(self.view[self.at : end])
        self.at += len(chunk)
        return chunk


@contextmanager
def a_store(backend: str, url: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SUZ_DATA_DIR": tmp}
        if backend == "sqlite":
            env.pop("SUZ_DATABASE_URL", None)
            yield Settings(data_dir=Path(tmp), database_url=None), env
            return
        with temp_schema(url, "bench_blobs") as schema:
            env.update(SUZ_DATABASE_URL=url, SUZ_DATABASE_SCHEMA=schema)
            os.environ["SUZ_DATABASE_SCHEMA"] = schema
            try:
                yield Settings(data_dir=Path(tmp), database_url=url), env
            finally:
                os.environ.pop("SUZ_DATABASE_SCHEMA", None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_blobs", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL",
                                                                 DEFAULT_PG_URL))  # fmt: skip
    parser.add_argument("--mb", type=int, default=10, help="file size, MB")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    size = args.mb * MB
    print(f"suz bench blobs: {args.mb} MB files, {args.rounds} rounds per store\n")
    print_machine(args.database_url)
    rows = []
    for backend in ("sqlite", "postgres"):
        with a_store(backend, args.database_url) as (settings, env):
            port = free_port()
            env["SUZ_ORIGINS"] = f"http://127.0.0.1:{port}"
            subprocess.run([sys.executable, "-m", "suz.cli", "migrate"], env=env, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
            ticket, version = prepare(settings)
            with serving(env, port, settings.data_dir, []) as server:
                http = over_http(port, server.pid, ticket, version, size, args.rounds)
            alone = in_process(settings, size, args.rounds)
        store = "files (SQLite)" if backend == "sqlite" else "PostgreSQL rows"
        for label, result, grew in (("HTTP", http, f"{http['grew'] / MB:,.1f}"),
                                    ("store alone", alone, "")):  # fmt: skip
            up, down = statistics.median(result["up"]), statistics.median(result["down"])
            rows.append([store, label, rate(size, up), f"{up * 1000:,.0f}", rate(size, down),
                         f"{down * 1000:,.0f}", grew])  # fmt: skip
    print(table(["store", "path", "upload MB/s", "upload ms", "download MB/s", "download ms",
                 "server peak +MB"], rows, left=2))  # fmt: skip
    print("\n(medians of the rounds; MB = MiB)")
    print(f"load avg at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
