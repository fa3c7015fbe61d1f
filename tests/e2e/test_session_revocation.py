"""A revocation made on one server process holds on another (web/caller_cache.py): two real
`suz serve` processes on one PostgreSQL database, each remembering who its callers are.

- With a TTL of an hour, only the NOTIFY that process A sends can end, on process B, the
  remembered session of an account A disabled; and on A itself it ends at once.
- With a TTL of one second and no NOTIFY at all (the account disabled by a third process that
  revokes nothing), B refuses the session once its entry has expired: the TTL is the bound.
"""

from __future__ import annotations

import time
from pathlib import Path
from uuid import UUID

import pytest

from domain.desk import SYSTEM, Desk
from domain.settings import Settings
from domain.setup.people import DisableAccount
from tests.conftest import settings_for
from tests.e2e.server import Agent, run_cli, serve, server_env
from tests.web.desk_site import migrate

pytestmark = pytest.mark.postgres
WAIT = 30.0  # seconds a refusal may take to show on a busy machine (the bound is far shorter)


@pytest.fixture
def pg_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return settings_for("postgres", tmp_path, request)


def me(agent: Agent) -> int:
    with agent.client() as client:
        return client.get("/api/v1/me").status_code


def refused_within(agent: Agent, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if me(agent) == 401:
            return True
        time.sleep(0.05)
    return False


def test_a_disabled_account_is_refused_on_the_other_process_by_notify(
    pg_settings: Settings, tmp_path: Path
) -> None:
    env = {**server_env(pg_settings), "SUZ_AUTH_CACHE_TTL": "3600"}
    run_cli(env, "migrate")
    world = migrate(pg_settings)
    with serve(env, tmp_path) as a, serve(env, tmp_path, "--no-views") as b:
        on_a, on_b = Agent.sign_in(a.url, "agent"), Agent.sign_in(b.url, "agent")
        assert me(on_a) == 200 and me(on_b) == 200  # each process remembers its caller now
        assert me(on_b) == 200
        admin = Agent.sign_in(a.url, "admin")
        with admin.client() as client:
            r = client.post(f"/api/v1/accounts/{world.agent.id}/disable", json={})
            assert r.status_code == 200, r.text
        assert me(on_a) == 401  # the process that disabled it: at once
        assert refused_within(on_b, WAIT), "process B still accepts the disabled account"


def test_without_notify_the_ttl_bounds_a_disabled_accounts_session(
    pg_settings: Settings, tmp_path: Path
) -> None:
    env = {**server_env(pg_settings), "SUZ_AUTH_CACHE_TTL": "1"}
    run_cli(env, "migrate")
    world = migrate(pg_settings)
    with serve(env, tmp_path, "--no-views") as b:
        agent = Agent.sign_in(b.url, "agent")
        assert me(agent) == 200
        desk = Desk(pg_settings.store_env())  # a third process's write: it revokes nothing
        try:
            assert isinstance(world.agent.id, UUID)
            desk.handle(SYSTEM, DisableAccount(world.agent.id))
        finally:
            desk.close()
        assert refused_within(agent, WAIT), "the remembered session outlived its TTL"
