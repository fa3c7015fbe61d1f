"""Real suz server processes for the end-to-end tests: start, wait for /health, stop.

Each server is `python -m suz.cli serve` on a free port, configured through the environment
(SUZ_DATA_DIR, SUZ_DATABASE_URL, SUZ_DATABASE_SCHEMA, SUZ_ORIGINS); its output goes to a log file
that a failed start-up shows.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from domain.settings import Settings
from tests.web.desk_site import LOGINS, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "http://desk.test"  # the desk's origin as SUZ_ORIGINS tells the servers
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(settings: Settings, origins: str = ORIGIN) -> dict[str, str]:
    """The environment of a server (or `suz migrate`) using the store of `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUZ_")}
    env["SUZ_DATA_DIR"] = str(settings.data_dir)
    env["SUZ_ORIGINS"] = origins
    env["SUZ_MODE"] = "demo"  # keys generated into the data folder (docs/audit.md)
    env["PYTHONUNBUFFERED"] = "1"
    if settings.database_url:
        env["SUZ_DATABASE_URL"] = settings.database_url
    if settings.schema:
        env["SUZ_DATABASE_SCHEMA"] = settings.schema
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 60.0) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "suz.cli", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"suz {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Server:
    """One `suz serve` process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/live"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"suz serve exited ({self.process.returncode}):\n"
                                     f"{self.output()}")  # fmt: skip
            try:
                r = httpx.get(f"{self.url}/health", timeout=2.0)
                if r.status_code == 200:
                    data: dict[str, Any] = r.json()
                    return data
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"suz serve did not answer /health in {timeout} s:\n{self.output()}")

    def stop(self) -> int:
        """Asks the server to stop (SIGTERM), killing it if it lingers; its exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
                raise AssertionError(f"suz serve ignored SIGTERM:\n{self.output()}") from None
        return self.process.returncode


@contextmanager
def serve(env: dict[str, str], log_dir: Path, *args: str) -> Iterator[Server]:
    """A running `suz serve` process (healthy on entry), stopped on exit.

    The free port is found by binding port 0 and closing it, so another process (a test worker
    beside this one, any outgoing connection) may take it before the server binds it: a server
    that exits saying its address is in use is started again on another port (3 tries)."""
    for attempt in range(3):
        port = free_port()
        log = log_dir / f"serve-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "suz.cli", "serve", "--port", str(port), *args],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        server = Server(process, port, log)
        try:
            server.wait_healthy()
            break
        except AssertionError:
            server.stop()
            if attempt == 2 or "address already in use" not in server.output():
                raise
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Agent:
    """A signed-in browser session against a real server: its cookie and CSRF token."""

    base: str
    origin: str
    cookie: str
    csrf: str

    @classmethod
    def sign_in(cls, base: str, who: str, origin: str = ORIGIN) -> Agent:
        r = httpx.post(f"{base}/api/v1/session",
                       json={"login": LOGINS[who], "password": PASSWORD}, timeout=10.0)  # fmt: skip
        assert r.status_code == 200, r.text
        return cls(base, origin, r.cookies["suz_session"], r.json()["csrf_token"])

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            cookies={"suz_session": self.cookie},
            headers={"X-CSRF-Token": self.csrf, "Origin": self.origin},
            timeout=10.0,
        )

    def ws_headers(self) -> dict[str, str]:
        return {"Cookie": f"suz_session={self.cookie}", "Origin": self.origin}


def filing(world_contracts: object, subject: str = "Контракт не публикуется") -> dict[str, Any]:
    return {
        "category": str(world_contracts),
        "subject": subject,
        "description": "При публикации ошибка подписи.",
        "fields": {"contract_number": "1234567890123456789"},
    }
