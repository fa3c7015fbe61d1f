"""Two stateless web hosts and one views process on one PostgreSQL schema (docs/deployment.md).

Each web "host" is `suz serve --no-views` with a data folder of its own; `suz views` runs the
views and the process managers. The keys come from files named by SUZ_CHAIN_KEY_FILE and
SUZ_SIGNING_KEY_FILE (as docker secrets are given), the same for every process; nothing else is
shared but the database. So:

- a reply written through host A reaches a websocket held on host B;
- failed sign-ins on A count on B (B locks the (login, address) pair A's failures locked), while
  the account's owner at another address still signs in on B;
- a host killed (SIGKILL) right after acknowledging writes loses none of them: B serves them all.

Every wait polls for its condition (with a generous bound), none sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import ClientConnection, connect

from domain.settings import Settings
from tests.conftest import PG_URL, postgres_or_skip
from tests.e2e.server import ROOT, Agent, Server, filing, run_cli, serve, server_env
from tests.web.desk_site import LOGINS, PASSWORD, migrate
from tests.world import World

pytestmark = pytest.mark.postgres
PATIENCE = 60.0  # seconds any one awaited thing may take on a loaded machine before failing


@dataclass
class Deployment:
    world: World
    a: Server
    b: Server
    env: Callable[[str], dict[str, str]]  # the environment of a process with this data folder
    logs: Path


def keys(folder: Path) -> tuple[Path, Path]:
    """A chain key and a signing key in `folder` (outside every data folder), as an operator
    would make them."""
    folder.mkdir(mode=0o700)
    chain, signing = folder / "chain_key", folder / "signing_key.pem"
    chain.write_text(secrets.token_hex(32) + "\n")
    signing.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return chain, signing


@contextmanager
def schema() -> Iterator[str]:
    postgres_or_skip()
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


@contextmanager
def views_process(env: dict[str, str], log: Path) -> Iterator[None]:
    """`suz views`, running (its start logged) until the block ends (SIGTERM)."""
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "suz.cli", "views"], env=env, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + PATIENCE
        while b"suz views: started" not in log.read_bytes():
            assert process.poll() is None, f"suz views exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"suz views did not start:\n{log.read_text()}"
            time.sleep(0.1)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("two_hosts")
    chain, signing = keys(root / "secrets")
    with schema() as name, ExitStack() as running:

        def env(data: str) -> dict[str, str]:
            settings = Settings(data_dir=root / data, database_url=PG_URL)
            e = server_env(settings)
            e["SUZ_DATABASE_SCHEMA"] = name
            e["SUZ_CHAIN_KEY_FILE"], e["SUZ_SIGNING_KEY_FILE"] = str(chain), str(signing)
            return e

        assert "store ready (PostgreSQL)" in run_cli(env("migrate"), "migrate")
        cast = Settings(root / "cast", PG_URL, chain_key=chain, signing_key=signing)
        world = with_schema(name, lambda: migrate(cast))  # the cast, with their passwords
        running.enter_context(views_process(env("views"), root / "views.log"))
        a = running.enter_context(serve(env("host-a"), root, "--no-views"))
        b = running.enter_context(serve(env("host-b"), root, "--no-views"))
        yield Deployment(world, a, b, env, root)


def with_schema(name: str, make: Callable[[], World]) -> World:
    """`make()` with SUZ_DATABASE_SCHEMA set in this process (Settings reads it from there)."""
    os.environ["SUZ_DATABASE_SCHEMA"] = name
    try:
        return make()
    finally:
        os.environ.pop("SUZ_DATABASE_SCHEMA", None)


# -- a reply written through A reaches a websocket held on B -----------------------------------
async def open_live(server: Server, agent: Agent, topics: list[str]) -> ClientConnection:
    ws = await connect(server.ws_url, additional_headers=agent.ws_headers(), open_timeout=PATIENCE,
                       close_timeout=5)  # fmt: skip
    await ws.send(orjson.dumps({"subscribe": topics, "after": 0}).decode())
    ack = orjson.loads(await asyncio.wait_for(ws.recv(), PATIENCE))
    assert ack == {"subscribed": topics, "after": 0}, ack
    return ws


async def first(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async with asyncio.timeout(PATIENCE):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if wanted(message):
                return message


def test_a_reply_written_through_host_a_reaches_a_websocket_held_on_host_b(
    deployment: Deployment,
) -> None:
    a, b, world = deployment.a, deployment.b, deployment.world
    requester = Agent.sign_in(b.url, "requester")  # signed in on B, watching there
    with requester.client() as client:
        r = client.post("/api/v1/tickets", json=filing(world.contracts))
        assert r.status_code == 201, r.text
        ticket = r.json()
    agent = Agent.sign_in(a.url, "agent")  # the session is the database's: either host knows it

    async def crossing() -> None:
        on_b = await open_live(b, requester, [f"ticket:{ticket['id']}"])
        try:
            await first(on_b, lambda m: m.get("event") == "Filed")  # the socket is live
            with agent.client() as client:
                r = client.post(f"/api/v1/tickets/{ticket['id']}/replies",
                                json={"body": "Смотрим, ответим сегодня."},
                                headers={"If-Match": f'"{ticket["version"]}"'})  # fmt: skip
                assert r.status_code == 200, r.text
                replied = r.json()
            change = await first(on_b, lambda m: m.get("position") == replied["position"])
            assert change == {"position": replied["position"], "ticket": ticket["id"],
                              "event": "Replied", "version": replied["version"]}  # fmt: skip
        finally:
            await on_b.close()

    asyncio.run(crossing())


# -- a sign-in throttle hit on A counts on B --------------------------------------------------
def sign_in(server: Server, password: str, address: str = "127.0.0.1") -> httpx.Response:
    """A sign-in to the administrator's account from `address` (a loopback address of ours)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=PATIENCE) as client:
        return client.post(f"{server.url}/api/v1/session",
                           json={"login": LOGINS["admin"], "password": password})  # fmt: skip


def test_failed_sign_ins_on_host_a_lock_the_same_pair_on_host_b(deployment: Deployment) -> None:
    a, b = deployment.a, deployment.b
    # The pair (admin, 127.0.0.1) has 5 free failures, then waits 1, 2, 4, 8 s: guess on A until
    # A tells a wait of 8 s or more (asking again while it refuses: a refused attempt is not
    # counted), so that B is asked well within that wait however slow the machine is.
    failures, told = 0, 0
    deadline = time.monotonic() + 4 * PATIENCE
    while told < 8:
        assert time.monotonic() < deadline, f"{failures} failures, the last wait told {told} s"
        r = sign_in(a, f"a wrong guess {failures}")
        if r.status_code == 401:
            failures += 1
        else:
            assert r.status_code == 429, r.text
            told = int(r.headers["retry-after"])  # the wait, rounded up
            time.sleep(0.2)  # polling: A is asked again until its wait is over
    assert failures >= 8
    r = sign_in(b, PASSWORD)  # the right password, from the locked address, on the other host
    assert r.status_code == 429, r.text  # B counted A's failures
    assert r.json()["error"]["code"] == "too_many_attempts"
    assert int(r.headers["retry-after"]) >= 1
    owner = sign_in(b, PASSWORD, address="127.0.0.2")  # the account's owner, elsewhere
    assert owner.status_code == 200, owner.text  # a stranger's failures do not lock him out


# -- a host killed right after acknowledged writes loses none of them --------------------------
def test_a_host_killed_after_acknowledged_writes_loses_none_of_them(
    deployment: Deployment,
) -> None:
    world, b = deployment.world, deployment.b
    with ExitStack() as stack:
        c = stack.enter_context(serve(deployment.env("host-c"), deployment.logs, "--no-views"))
        requester, engineer = Agent.sign_in(c.url, "requester"), Agent.sign_in(c.url, "engineer")
        tickets = []
        with requester.client() as client:
            for i in range(4):
                r = client.post("/api/v1/tickets", json=filing(world.contracts, f"Заявка {i}"))
                assert r.status_code == 201, r.text
                tickets.append(r.json())
        acknowledged: list[dict[str, Any]] = []
        failures: list[str] = []  # answers a writer did not expect
        lock, enough = threading.Lock(), threading.Event()

        def write(ticket: dict[str, Any]) -> None:
            """Notes on one ticket, one after another, until the host dies under them."""
            version = ticket["version"]
            with engineer.client() as client:
                for n in range(1000):
                    try:
                        r = client.post(f"/api/v1/tickets/{ticket['id']}/notes",
                                        json={"body": f"Заметка {n}"},
                                        headers={"If-Match": f'"{version}"'})  # fmt: skip
                    except httpx.HTTPError:
                        return  # the host is gone: this write was not acknowledged
                    if r.status_code == 409:  # the views process wrote meanwhile: write again
                        version = r.json()["error"]["current_version"]
                        continue
                    if r.status_code != 200:
                        failures.append(f"{r.status_code}: {r.text}")
                        return
                    noted = r.json()
                    version = noted["version"]
                    with lock:
                        acknowledged.append({"ticket": ticket["id"], **noted})
                        if len(acknowledged) >= 40:
                            enough.set()

        writers = [threading.Thread(target=write, args=(t,), daemon=True) for t in tickets]
        for w in writers:
            w.start()
        assert enough.wait(4 * PATIENCE), f"too few acknowledgements; {failures}"
        c.process.send_signal(signal.SIGKILL)  # while the writers are still writing
        c.process.wait(PATIENCE)
        for w in writers:
            w.join(PATIENCE)
            assert not w.is_alive()
        assert failures == []
    with lock:
        acked = list(acknowledged)
    assert len(acked) >= 40
    last: dict[str, int] = {}  # each ticket's last acknowledged version
    for n in acked:
        last[n["ticket"]] = max(last.get(n["ticket"], 0), n["version"])
    head = max(n["position"] for n in acked)
    # B serves every acknowledged note (once the views process has them: B asks with ?after=)
    watcher = Agent.sign_in(b.url, "engineer")
    with watcher.client() as client:
        for ticket_id, version in last.items():
            deadline = time.monotonic() + PATIENCE
            while True:
                r = client.get(f"/api/v1/tickets/{ticket_id}", params={"after": head})
                assert r.status_code == 200, r.text
                if r.json()["ticket"]["version"] >= version:
                    break
                assert time.monotonic() < deadline, f"B has {r.json()['ticket']} not v{version}"
            seen = {(e["version"], e["event"]) for e in r.json()["timeline"]}
            wanted = {(n["version"], "NoteAdded") for n in acked if n["ticket"] == ticket_id}
            assert wanted <= seen, sorted(wanted - seen)
