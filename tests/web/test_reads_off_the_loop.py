"""The JSON API's queries read their views in the thread pool: a read held up in PostgreSQL (here
by a lock on the tickets view) stalls only itself, never the event loop every other request and
socket shares."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import PG_URL, settings_for
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = [LEAKS, pytest.mark.postgres]

HELD = 8.0  # seconds the tickets view stays locked at most


def _blocked_on_the_lock(schema: str) -> bool:
    """Whether some backend waits for a lock on the tickets view."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT l.granted AND c.relname = 'v_tickets' AND n.nspname = %s",
            (schema,),
        ).fetchone()
    return bool(row and row[0])


def _get(site: Site, path: str, token: str, into: dict[str, Any], key: str) -> None:
    started = time.monotonic()
    r: httpx.Response = site.client.get(path, headers={"Cookie": f"suz_session={token}"})
    into[key] = (r, time.monotonic() - started)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/tickets/{id}", "/api/v1/queues/unassigned?group={group}", "/api/v1/my/tickets"],
)
def test_a_read_held_up_in_the_database_stalls_no_other_request(
    path: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for("postgres", tmp_path, request)
    schema = settings.schema
    assert schema
    with open_site(settings, monkeypatch) as site:
        agent, requester = site.sign_in("agent"), site.sign_in("requester")
        filed = site.file(requester)
        agent.ticket(filed["id"], after=filed["position"])  # the views have it
        reader = requester if path.startswith("/api/v1/my/") else agent
        target = path.format(id=filed["id"], group=site.world.line1)
        got: dict[str, Any] = {}
        lock = psycopg.connect(PG_URL)  # its transaction holds the lock until rolled back
        try:
            lock.execute(f'LOCK TABLE "{schema}".v_tickets IN ACCESS EXCLUSIVE MODE')
            release = threading.Timer(HELD, lock.rollback)  # the old code would wait this long
            release.start()
            # both requests go through the same client, so through the one event loop
            slow = threading.Thread(target=_get, args=(site, target, reader.token, got, "slow"))
            slow.start()
            deadline = time.monotonic() + HELD / 2
            while not _blocked_on_the_lock(schema):
                assert time.monotonic() < deadline, "the read never reached the locked view"
                time.sleep(0.05)
            _get(site, "/api/v1/me", agent.token, got, "me")
            me, waited = got["me"]
            assert me.status_code == 200, me.text
            assert waited < 2.0, f"/api/v1/me waited {waited:.1f} s behind the held read"
            assert "slow" not in got  # the read is still held meanwhile
            release.cancel()
            lock.rollback()
            slow.join(timeout=HELD)
        finally:
            lock.close()
        r, _ = got["slow"]
        assert r.status_code == 200, r.text
