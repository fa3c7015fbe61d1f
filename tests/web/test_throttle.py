"""Tests of web.throttle: sign-in back-off per login and address, fixed-window limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from projections.db import ViewDB
from tests.web.brakes import brakes_db, shared_db  # noqa: F401 (fixtures)
from tests.web.support import FakeClock
from web.shared_throttle import (
    SharedRateLimiter,
    SharedSignInThrottle,
    SharedSocketLimit,
    SharedSpentTokens,
)
from web.throttle import (
    Backoff,
    Limiter,
    LocalSocketLimit,
    RateLimiter,
    SignInThrottle,
    SocketLimit,
    SpentTokens,
    Throttle,
    address_key,
)

LOGIN = Backoff(free_failures=3, base_delay=1.0, max_delay=8.0, forget_after=3600.0)
ADDRESS = Backoff(free_failures=10, base_delay=2.0, max_delay=60.0, forget_after=3600.0)


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
        return SignInThrottle(LOGIN, ADDRESS, clock=clock)
    return SharedSignInThrottle(brakes_db, LOGIN, ADDRESS, clock=clock)


def test_backoff_delay_doubles_after_the_free_failures_up_to_the_cap() -> None:
    assert [LOGIN.delay(n) for n in range(10)] == [0, 0, 0, 0, 1, 2, 4, 8, 8, 8]
    assert LOGIN.delay(10**6) == 8.0


def test_a_login_waits_longer_after_each_failure(throttle: Throttle, clock: FakeClock) -> None:
    waits = []
    for _ in range(7):
        throttle.failed("ivanova", "10.0.0.1")
        waits.append(throttle.retry_after("ivanova", "10.0.0.1"))
        clock.advance(waits[-1])
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0, 4.0, 8.0]


def test_the_wait_runs_down_with_time(throttle: Throttle, clock: FakeClock) -> None:
    for _ in range(5):
        throttle.failed("ivanova", "10.0.0.1")
    assert throttle.retry_after("ivanova", "10.0.0.1") == 2.0
    clock.advance(1.5)
    assert throttle.retry_after("ivanova", "10.0.0.1") == 0.5
    clock.advance(0.5)
    assert throttle.retry_after("ivanova", "10.0.0.1") == 0.0


def test_the_lock_follows_the_login_case_insensitively_at_its_address_only(
    throttle: Throttle,
) -> None:
    for _ in range(4):
        throttle.failed(" Ivanova", "10.0.0.1")
    assert throttle.retry_after("IVANOVA", "10.0.0.1") == 1.0
    assert throttle.retry_after("ivanova", "192.168.1.1") == 0.0  # the owner, elsewhere
    assert throttle.retry_after("petrov", "10.0.0.1") == 0.0


def test_an_address_failing_with_many_logins_is_slowed(throttle: Throttle) -> None:
    for i in range(11):
        throttle.failed(f"user{i}", "10.0.0.9")
    assert throttle.retry_after("somebody-new", "10.0.0.9") == 2.0
    assert throttle.retry_after("somebody-new", "10.0.0.10") == 0.0


def test_success_forgets_the_logins_failures_but_not_the_addresss(
    throttle: Throttle,
) -> None:
    for _ in range(11):
        throttle.failed("ivanova", "10.0.0.9")
    throttle.succeeded("IVANOVA", "10.0.0.9")
    assert throttle.retry_after("ivanova", "10.0.0.8") == 0.0
    assert throttle.retry_after("ivanova", "10.0.0.9") == 2.0


def test_failures_are_forgotten_after_a_quiet_period(throttle: Throttle, clock: FakeClock) -> None:
    for _ in range(6):
        throttle.failed("ivanova", "10.0.0.1")
    clock.advance(3600)
    assert throttle.retry_after("ivanova", "10.0.0.1") == 0.0
    throttle.failed("ivanova", "10.0.0.1")  # counting starts afresh
    assert throttle.retry_after("ivanova", "10.0.0.1") == 0.0


def test_the_least_recently_failed_keys_are_evicted_beyond_the_limit(clock: FakeClock) -> None:
    throttle = SignInThrottle(LOGIN, ADDRESS, clock=clock, max_keys=2)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        for _ in range(4):
            throttle.failed("a", address)
    waits = [throttle.retry_after("a", f"10.0.0.{i}") for i in (1, 2, 3)]
    assert waits == [0.0, 1.0, 1.0]


def test_ipv6_clients_are_keyed_by_their_64_network() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert address_key(" 10.0.0.1 ") == "10.0.0.1"
    assert address_key("testclient") == "testclient"


@pytest.fixture
def rate_limiter(
    clock: FakeClock,
    brakes_db: ViewDB | None,  # noqa: F811
) -> Callable[[int, float], Limiter]:
    """Makes a rate limiter in memory, and (a second run) shared in PostgreSQL."""
    if brakes_db is None:
        return lambda limit, window: RateLimiter(limit, window, clock=clock)
    db = brakes_db
    return lambda limit, window: SharedRateLimiter(db, "test", limit, window, clock=clock)


def test_the_rate_limiter_allows_limit_hits_per_window(
    clock: FakeClock, rate_limiter: Callable[[int, float], Limiter]
) -> None:
    limiter = rate_limiter(3, 60.0)  # 1000 s is 40 s into the window [960, 1020)
    assert [limiter.hit("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit("10.0.0.1") == 20.0
    clock.advance(15)
    assert limiter.hit("10.0.0.1") == 5.0
    assert limiter.hit("10.0.0.2") == 0.0  # other keys are counted apart
    clock.advance(5)  # a new window
    assert [limiter.hit("10.0.0.1") for _ in range(4)] == [0.0, 0.0, 0.0, 60.0]


def test_refused_hits_do_not_extend_the_window(
    clock: FakeClock, rate_limiter: Callable[[int, float], Limiter]
) -> None:
    limiter = rate_limiter(1, 10.0)
    assert limiter.hit("k") == 0.0
    for _ in range(5):
        clock.advance(1)
        assert limiter.hit("k") > 0.0
    clock.advance(5)
    assert limiter.hit("k") == 0.0


def test_a_refund_takes_back_a_hit_of_this_window_only(
    clock: FakeClock, rate_limiter: Callable[[int, float], Limiter]
) -> None:
    limiter = rate_limiter(1, 60.0)
    assert limiter.hit("k") == 0.0
    limiter.refund("k")  # its filing was refused after all
    assert limiter.hit("k") == 0.0
    assert limiter.hit("k") > 0.0
    limiter.refund("nobody")  # nothing to take back: nothing happens
    clock.advance(60)
    limiter.refund("k")  # the hit was in the last window: this one is untouched
    assert limiter.hit("k") == 0.0
    assert limiter.hit("k") > 0.0


def test_a_spent_token_is_used_once_until_it_expires(
    clock: FakeClock,
    brakes_db: ViewDB | None,  # noqa: F811
) -> None:
    spent = SpentTokens(clock=clock) if brakes_db is None else SharedSpentTokens(
        brakes_db, "test", clock=clock)  # fmt: skip
    assert spent.first("proof-1", clock() + 60)
    assert not spent.first("proof-1", clock() + 60)
    assert spent.first("proof-2", clock() + 60)
    clock.advance(61)  # expired (a challenge is refused by then anyway): remembered no longer
    assert spent.first("proof-1", clock() + 60)


def test_the_rate_limiter_drops_old_windows_beyond_max_keys(clock: FakeClock) -> None:
    limiter = RateLimiter(1, 10.0, clock=clock, max_keys=2)
    limiter.hit("a")
    limiter.hit("b")
    clock.advance(10)
    limiter.hit("c")
    limiter.hit("d")
    assert sorted(limiter._counts) == ["c", "d"]
    assert limiter.hit("c") > 0.0


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (5, 0.0)])
def test_a_nonsensical_rate_limit_is_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="limit >= 1"):
        RateLimiter(limit, window)


# -- /live sockets per session, and the shared tables' upkeep ------------------------------------
def test_a_session_holds_at_most_its_sockets_across_processes(
    brakes_db: ViewDB | None,  # noqa: F811
) -> None:
    async def run() -> None:
        a: SocketLimit
        b: SocketLimit
        if brakes_db is None:  # one process: one limit
            a = b = LocalSocketLimit(3)
        else:  # two hosts over one database
            a, b = SharedSocketLimit(brakes_db, 3), SharedSocketLimit(brakes_db, 3)
        places = [
            await a.acquire("token-1"),
            await b.acquire("token-1"),
            await a.acquire("token-1"),
        ]
        assert None not in places
        assert await b.acquire("token-1") is None  # the fourth, on either host
        assert await a.acquire("token-1") is None
        assert await b.acquire("token-2") is not None  # another session counts apart
        place = places[0]
        assert place is not None
        await a.release(place)
        assert await b.acquire("token-1") is not None  # a closed socket frees its place

    asyncio.run(run())


@pytest.mark.postgres
def test_a_killed_hosts_sockets_stop_counting_when_their_leases_run_out(
    clock: FakeClock,
    shared_db: ViewDB,  # noqa: F811
) -> None:
    db = shared_db

    async def run() -> None:
        killed, alive = SharedSocketLimit(db, 2, clock=clock), SharedSocketLimit(db, 2, clock=clock)
        assert await killed.acquire("token") is not None
        assert await alive.acquire("token") is not None
        clock.advance(SharedSocketLimit.LEASE * 0.9)
        alive._extend(list(alive._held))  # the renewal (every LEASE / 3) of the host still up
        assert await alive.acquire("token") is None
        clock.advance(SharedSocketLimit.LEASE * 0.2)  # the killed host's lease runs out
        assert await alive.acquire("token") is not None  # its place is free again...
        assert await alive.acquire("token") is None  # ...but not the renewed one's

    asyncio.run(run())
    with db.read() as tx:
        assert tx.one("SELECT COUNT(*) FROM web_live_sockets WHERE owner = %s", ("token",)) == (0,)


@pytest.mark.postgres
def test_expired_rows_are_deleted_now_and_then(
    clock: FakeClock,
    shared_db: ViewDB,  # noqa: F811
) -> None:
    limiter = SharedRateLimiter(shared_db, "test", 1, 60.0, clock=clock)
    for key in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        limiter.hit(key)  # the first call purges (nothing yet); the next purge is due in a minute
    clock.advance(120.0)  # their window is over
    limiter.hit("10.0.0.4")
    with shared_db.read() as tx:
        left = tx.all("SELECT key FROM web_limits ORDER BY key")
    assert left == [("10.0.0.4",)]
