"""Attachments on stateless web hosts (issue 17): two `suz serve` processes with data folders of
their own on one PostgreSQL schema. A file uploaded through host A downloads through host B byte
for byte, neither host keeps it on its disk, neither holds the 20 MB file in its memory, and the
same bytes uploaded through both hosts at once are both taken and stored once."""

from __future__ import annotations

import hashlib
import random
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from domain.settings import Settings
from tests.conftest import PG_URL, settings_for
from tests.e2e.server import Agent, Server, filing, run_cli, serve, server_env
from tests.web.desk_site import migrate
from tests.world import World

pytestmark = pytest.mark.postgres
MB = 1024 * 1024
SIZE = 20 * MB
KEYS = ("chain_key", "signing_key.pem")  # shared by every host (demo mode makes them in A's)


@pytest.fixture
def pg_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return settings_for("postgres", tmp_path, request)


def fresh_peak(server: Server) -> int:
    """Resets the server process's peak resident memory to what it holds now (Linux: `5` to
    clear_refs) and returns that, in bytes; `peak_memory` then tells the most it held since."""
    Path(f"/proc/{server.process.pid}/clear_refs").write_text("5")
    return peak_memory(server)


def peak_memory(server: Server) -> int:
    """The server process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc (Linux only)")


def file_request(agent: Agent, world: World) -> dict[str, Any]:
    with agent.client() as client:
        r = client.post("/api/v1/tickets", json=filing(world.contracts))
        assert r.status_code == 201, r.text
        filed: dict[str, Any] = r.json()
        return filed


def upload(agent: Agent, ticket: dict[str, Any], content: bytes, name: str) -> httpx.Response:
    with agent.client() as client:
        r: httpx.Response = client.post(
            f"/api/v1/tickets/{ticket['id']}/attachments",
            files={"file": (name, content, "application/octet-stream")},
            data={"version": str(ticket["version"])},
            timeout=120.0,
        )
        return r


def download(agent: Agent, uploaded: dict[str, Any]) -> tuple[str, int, str]:
    """The SHA-256 and size of what the host sends, read as it streams in, and its length
    header; once the host's views show the upload (`after` its position)."""
    digest, size = hashlib.sha256(), 0
    path = (f"/api/v1/tickets/{uploaded['id']}/attachments/{uploaded['sha256']}"
            f"?after={uploaded['position']}")  # fmt: skip
    with agent.client() as client, client.stream("GET", path, timeout=120.0) as r:
        assert r.status_code == 200, r.read()
        for chunk in r.iter_bytes():
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size, r.headers.get("content-length", "")


def blobs_stored(settings: Settings) -> list[tuple[str, int]]:
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f'SET search_path TO "{settings.schema}"')
        rows = conn.execute("SELECT digest, size FROM attachment_blobs ORDER BY digest")
        return [(r[0], r[1]) for r in rows.fetchall()]


@contextmanager
def two_hosts(settings: Settings, tmp_path: Path) -> Iterator[tuple[Server, Server, Path]]:
    """Host A (the views) and host B (`--no-views`, a data folder of its own with A's keys)."""
    b_dir = tmp_path / "host-b"
    b_dir.mkdir()
    with serve(server_env(settings), tmp_path) as a:
        for key in KEYS:  # those made by now (the signing key is made when first used)
            if (settings.data_dir / key).exists():
                shutil.copy(settings.data_dir / key, b_dir / key)
        with serve(server_env(replace(settings, data_dir=b_dir)), tmp_path, "--no-views") as b:
            yield a, b, b_dir


def on_disk(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "attachments").rglob("*") if p.is_file()]


def test_a_file_uploaded_through_one_host_downloads_through_another(
    pg_settings: Settings, tmp_path: Path
) -> None:
    assert "store ready (PostgreSQL)" in run_cli(server_env(pg_settings), "migrate")
    world = migrate(pg_settings)  # the cast and their passwords
    content = random.Random(17).randbytes(SIZE)
    sha = hashlib.sha256(content).hexdigest()
    with two_hosts(pg_settings, tmp_path) as (a, b, b_dir):
        requester = Agent.sign_in(a.url, "requester")
        ticket = file_request(requester, world)
        a_before = fresh_peak(a)
        up = upload(requester, ticket, content, "журнал подписи.bin")
        assert up.status_code == 201, up.text
        assert (up.json()["sha256"], up.json()["size"]) == (sha, SIZE)
        a_grew = peak_memory(a) - a_before

        agent = Agent.sign_in(b.url, "agent")
        b_before = fresh_peak(b)
        assert download(agent, up.json()) == (sha, SIZE, str(SIZE))  # through host B
        b_grew = peak_memory(b) - b_before
        assert download(Agent.sign_in(b.url, "requester"), up.json())[:2] == (sha, SIZE)

        assert blobs_stored(pg_settings) == [(sha, SIZE)]
        assert on_disk(pg_settings.data_dir) == on_disk(b_dir) == []
        # neither host held the file whole (20 MB): its peak grew by a few chunks at most
        assert a_grew < SIZE // 2 and b_grew < SIZE // 2, (a_grew, b_grew)


def test_the_same_bytes_uploaded_through_two_hosts_at_once_are_both_taken_and_stored_once(
    pg_settings: Settings, tmp_path: Path
) -> None:
    run_cli(server_env(pg_settings), "migrate")
    world = migrate(pg_settings)
    content = random.Random(29).randbytes(3 * MB + 7)
    sha = hashlib.sha256(content).hexdigest()
    with two_hosts(pg_settings, tmp_path) as (a, b, _):
        on_a, on_b = Agent.sign_in(a.url, "requester"), Agent.sign_in(b.url, "requester")
        tickets = [file_request(on_a, world), file_request(on_a, world)]
        answers: list[httpx.Response] = []
        start = threading.Barrier(2)

        def send(agent: Agent, ticket: dict[str, Any]) -> None:
            start.wait()
            answers.append(upload(agent, ticket, content, "акт.bin"))

        threads = [threading.Thread(target=send, args=(agent, t))
                   for agent, t in zip((on_a, on_b), tickets, strict=True)]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(r.status_code for r in answers) == [201, 201], [r.text for r in answers]
        assert blobs_stored(pg_settings) == [(sha, len(content))]
        for answer in answers:  # through either host
            for agent in (on_a, on_b):
                assert download(agent, answer.json())[:2] == (sha, len(content))
