"""A full disk is a fault of the environment, not a bug: the desk answers 503 with Retry-After
(never a plain 500), writes nothing half-way, and serves again by itself once space is freed.

The data folder lives on a real, tiny tmpfs that the test fills with a file of zeros."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domain.settings import Settings
from tests.web.desk_site import Person, Site, open_site

FILE = os.urandom(256 * 1024)  # incompressible: it needs its room on the disk


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(disk)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to mount a tmpfs (as root): {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Writes zeros until the disk is full; the file to delete to free it."""
    filler = disk / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def upload(p: Person, ticket: str, version: int) -> httpx.Response:
    r: httpx.Response = p.client.post(
        f"/api/v1/tickets/{ticket}/attachments",
        files={"file": ("log.bin", FILE, "application/octet-stream")},
        data={"version": str(version)},
        headers=p.headers(),
    )
    return r


def test_a_full_disk_answers_503_and_the_desk_recovers_when_space_is_freed(
    tiny_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tiny_disk / "data", database_url=None)
    with open_site(settings, monkeypatch) as site:
        requester = site.sign_in("requester")
        filed = site.file(requester)
        ticket, version = filed["id"], filed["version"]
        stored = site.services.settings.data_dir / "attachments"
        before = sorted(p.name for p in stored.rglob("*") if p.is_file())

        filler = fill(tiny_disk)
        full = upload(requester, ticket, version)
        assert full.status_code == 503, full.text
        assert full.headers["retry-after"].isdigit()
        assert full.json()["error"]["code"] == "unavailable"
        assert sorted(p.name for p in stored.rglob("*") if p.is_file()) == before, (
            "nothing half-written is kept"
        )
        assert _never_500(site, requester, ticket)

        filler.unlink()
        again = upload(requester, ticket, version)
        assert again.status_code == 201, again.text
        assert site.sign_in("agent").get("/api/v1/me").status_code == 200


def _never_500(site: Site, requester: Person, ticket: str) -> bool:
    """Other work on the full disk is answered, or refused with 503: never a 500."""
    answers = [
        site.new_client().post("/api/v1/session",
                               json={"login": "agent1", "password": "wrong"}).status_code,
        requester.get(f"/api/v1/tickets/{ticket}").status_code,
        requester.post("/api/v1/tickets", site.filing()).status_code,
    ]  # fmt: skip
    assert all(code < 500 or code == 503 for code in answers), answers
    return True
