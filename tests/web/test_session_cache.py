"""The caller cache on one process (web/caller_cache.py): a remembered session answers without
its row until SUZ_AUTH_CACHE_TTL runs out, and every revocation made here holds at once.

The cache's clock is a FakeClock that the tests move by hand: a refusal seen while it stands
still cannot be the TTL's doing. (Two processes: tests/e2e/test_session_revocation.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from domain.desk import SYSTEM
from domain.settings import Settings
from domain.setup.people import DisableAccount
from tests.web.desk_site import LEAKS, ORIGIN, PASSWORD, Person, Site, open_site
from tests.web.support import FakeClock
from web.caller_cache import CallerCache

pytestmark = LEAKS
TTL = 2.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        s.services.sessions.cache = CallerCache(TTL, 1000, clock)
        yield s


def remembered(site: Site, person: Person) -> None:
    """`person` makes a call, so that the process remembers who they are. A revocation the test
    made just before comes back to this process later as its own NOTIFY (PostgreSQL), and a fill
    under way when it is heard is not kept (web/caller_cache.py `generation`): the call is made
    again then; the echo comes once."""
    for _ in range(5):
        assert person.get("/api/v1/me").status_code == 200
        if len(site.services.sessions.cache) >= 1:
            return
        time.sleep(0.1)
    assert len(site.services.sessions.cache) >= 1


def test_a_remembered_session_answers_without_its_row_until_the_ttl_ends(
    site: Site, clock: FakeClock
) -> None:
    agent = site.sign_in("agent")
    remembered(site, agent)
    # the row goes without this process hearing of it (as if another process's NOTIFY were lost)
    sessions = site.services.sessions
    assert sessions._run("DELETE FROM {s}")[1] >= 1
    assert agent.get("/api/v1/me").status_code == 200  # remembered: no lookup
    clock.advance(TTL - 0.1)
    assert agent.get("/api/v1/me").status_code == 200
    clock.advance(0.2)
    assert agent.get("/api/v1/me").status_code == 401  # the TTL is the bound


@pytest.mark.parametrize("how", ["api", "desk"])
def test_a_disabled_accounts_remembered_session_is_refused_at_once(site: Site, how: str) -> None:
    """Through the API (its sessions are revoked) or by a command in this process that revokes
    nothing (this process's aggregate cache shows the account changed): refused at once."""
    requester = site.sign_in("requester")
    ticket = site.file(requester)
    agent = site.sign_in("agent")
    remembered(site, agent)
    assert agent.ticket(ticket["id"], after=ticket["position"])["ticket"]["id"] == ticket["id"]
    agent_id = site.world.agent.id
    assert agent_id is not None
    if how == "api":
        admin = site.sign_in("admin")
        r = admin.post(f"/api/v1/accounts/{agent_id}/disable")
        assert r.status_code == 200, r.text
    else:
        site.services.desk.handle(SYSTEM, DisableAccount(agent_id))
    assert agent.get("/api/v1/me").status_code == 401
    r = agent.command(ticket["id"], "notes", ticket["version"], body="Смотрю.")
    # revoked: the cookie is nobody's (who may not see the request); kept: the account disabled
    assert r.status_code == (404 if how == "api" else 401), r.text


def test_signing_out_ends_the_remembered_session_at_once(site: Site) -> None:
    agent = site.sign_in("agent")
    remembered(site, agent)
    thief = site.new_client()  # a copy of the cookie, kept after the sign-out
    thief.cookies.set("suz_session", agent.token)
    assert thief.get("/api/v1/me").status_code == 200
    assert agent.client.delete("/api/v1/session", headers=agent.headers()).status_code == 204
    assert thief.get("/api/v1/me").status_code == 401


def test_a_revoked_token_and_a_changed_password_hold_at_once(site: Site) -> None:
    laptop, phone = site.sign_in("agent"), site.sign_in("agent")
    issued = laptop.post("/api/v1/me/tokens", {"name": "ci"}).json()
    bearer = {"Authorization": f"Bearer {issued['secret']}"}
    script = site.new_client()
    assert script.get("/api/v1/me", headers=bearer).status_code == 200  # remembered now
    r = laptop.client.delete(f"/api/v1/me/tokens/{issued['id']}", headers=laptop.headers())
    assert r.status_code == 204
    assert script.get("/api/v1/me", headers=bearer).status_code == 401
    remembered(site, phone)
    r = laptop.post("/api/v1/me/password", {"current": PASSWORD, "new": "a much longer one"})
    assert r.status_code == 200, r.text
    assert phone.get("/api/v1/me").status_code == 401
    assert laptop.get("/api/v1/me").status_code == 200  # the session that changed it stays


def test_a_cookie_remembered_still_needs_its_csrf_token_and_origin(site: Site) -> None:
    agent = site.sign_in("agent")
    ticket = site.file(site.sign_in("requester"))
    remembered(site, agent)
    forged = agent.client.post(f"/api/v1/tickets/{ticket['id']}/notes", json={"body": "x"},
                               headers={"Origin": "http://evil.test",
                                        "X-CSRF-Token": agent.csrf})  # fmt: skip
    assert forged.status_code == 403, forged.text
    no_token = agent.client.post(f"/api/v1/tickets/{ticket['id']}/notes", json={"body": "x"},
                                 headers={"Origin": ORIGIN})  # fmt: skip
    assert no_token.status_code == 403, no_token.text
    r = agent.command(ticket["id"], "notes", ticket["version"], body="Смотрю.")
    assert r.status_code == 200, r.text
