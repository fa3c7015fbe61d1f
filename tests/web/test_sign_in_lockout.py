"""Nobody can lock somebody else out: failed sign-ins lock their (login, address) pair and
their address, a login guessed from many addresses is only slowed (and never for the addresses
it signed in from, nor for long), and wrong current passwords are throttled like sign-ins."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from domain.settings import Settings
from projections.db import ViewDB
from tests.web.brakes import brakes_db  # noqa: F401 (a fixture)
from tests.web.desk_site import LEAKS, PASSWORD, Site, TestClient, open_site
from tests.web.support import FakeClock
from web.shared_throttle import SharedSignInThrottle
from web.throttle import Backoff, SignInThrottle, Throttle

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def from_address(site: Site, address: str) -> TestClient:
    return TestClient(site.client.app, client=(address, 50000))


def sign_in(client: TestClient, password: str, login: str = "admin") -> httpx.Response:
    r: httpx.Response = client.post("/api/v1/session", json={"login": login, "password": password})
    return r


def test_a_strangers_failures_lock_his_address_but_not_the_administrator(site: Site) -> None:
    attacker, admin = from_address(site, "203.0.113.66"), from_address(site, "198.51.100.7")
    statuses = [sign_in(attacker, f"guess number {i}").status_code for i in range(8)]
    assert statuses == [401] * 6 + [429] * 2
    assert sign_in(attacker, PASSWORD).status_code == 429  # his address stays locked
    r = sign_in(admin, PASSWORD)
    assert r.status_code == 200, r.text
    page = from_address(site, "198.51.100.8").post(
        "/login", data={"login": "admin", "password": PASSWORD},
        headers={"Origin": "http://testserver"}, follow_redirects=False,
    )  # fmt: skip
    assert page.status_code == 303


def test_wrong_current_passwords_are_throttled_like_sign_ins(site: Site) -> None:
    agent = site.sign_in("agent")
    body = {"current": "a wrong guess", "new": "a brand new password"}
    statuses = [agent.post("/api/v1/me/password", body).status_code for _ in range(7)]
    assert statuses == [422] * 6 + [429]
    r = agent.post("/api/v1/me/password", {**body, "current": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "too_many_attempts"
    assert sign_in(site.new_client(), PASSWORD, "agent1").status_code == 429  # same address
    assert sign_in(from_address(site, "198.51.100.9"), PASSWORD, "agent1").status_code == 200


# -- the throttle's rules, on a hand-moved clock ----------------------------------------------
PAIR = Backoff(free_failures=3, base_delay=1.0, max_delay=8.0, forget_after=3600.0)
ADDRESS = Backoff(free_failures=10, base_delay=2.0, max_delay=60.0, forget_after=3600.0)
LOGIN = Backoff(free_failures=20, base_delay=1.0, max_delay=60.0, forget_after=3600.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def throttle(
    clock: FakeClock,
    brakes_db: ViewDB | None,  # noqa: F811
) -> Throttle:
    """The throttle in memory, and (a second run) shared in PostgreSQL."""
    if brakes_db is None:
        return SignInThrottle(PAIR, ADDRESS, LOGIN, clock=clock)
    return SharedSignInThrottle(brakes_db, PAIR, ADDRESS, LOGIN, clock=clock)


def test_a_guess_spread_over_many_addresses_slows_the_login_gently(
    throttle: Throttle, clock: FakeClock
) -> None:
    throttle.succeeded("admin", "10.0.0.1")  # the administrator's usual address
    for i in range(25):
        throttle.failed("admin", f"203.0.113.{i}")  # one guess per address, below every pair
    assert throttle.retry_after("admin", "203.0.113.99") == 16.0  # a fresh address waits...
    assert throttle.retry_after("admin", "10.0.0.1") == 0.0  # ...the known one does not
    assert throttle.retry_after("someone", "203.0.113.99") == 0.0  # other logins: no wait
    for _ in range(40):
        throttle.failed("admin", "203.0.113.200")  # more guessing...
    assert throttle.retry_after("admin", "198.51.100.1") == 60.0  # ...waits at most a minute


def test_a_wait_told_is_kept_however_much_others_guess_meanwhile(
    throttle: Throttle, clock: FakeClock
) -> None:
    for i in range(25):
        throttle.failed("admin", f"203.0.113.{i}")
    told = throttle.retry_after("admin", "198.51.100.1")
    assert told == 16.0
    for i in range(16):
        clock.advance(1.0)
        throttle.failed("admin", f"192.0.2.{i}")  # attackers keep failing all along
    assert throttle.retry_after("admin", "198.51.100.1") == 0.0  # the owner gets his attempt
    throttle.succeeded("admin", "198.51.100.1")
    assert throttle.retry_after("admin", "198.51.100.1") == 0.0  # and is known from now on


def test_a_used_promise_does_not_give_a_second_free_guess(
    throttle: Throttle, clock: FakeClock
) -> None:
    for i in range(25):
        throttle.failed("admin", f"203.0.113.{i}")
    clock.advance(throttle.retry_after("admin", "198.51.100.1"))
    assert throttle.retry_after("admin", "198.51.100.1") == 0.0
    throttle.failed("admin", "198.51.100.1")
    assert throttle.retry_after("admin", "198.51.100.1") > 0.0
