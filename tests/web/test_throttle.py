"""Tests of web.throttle: sign-in back-off per login and address, fixed-window limits."""

from __future__ import annotations

import pytest

from tests.web.support import FakeClock
from web.throttle import Backoff, RateLimiter, SignInThrottle, address_key

LOGIN = Backoff(free_failures=3, base_delay=1.0, max_delay=8.0, forget_after=3600.0)
ADDRESS = Backoff(free_failures=10, base_delay=2.0, max_delay=60.0, forget_after=3600.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def throttle(clock: FakeClock) -> SignInThrottle:
    return SignInThrottle(LOGIN, ADDRESS, clock=clock)


def test_backoff_delay_doubles_after_the_free_failures_up_to_the_cap() -> None:
    assert [LOGIN.delay(n) for n in range(10)] == [0, 0, 0, 0, 1, 2, 4, 8, 8, 8]
    assert LOGIN.delay(10**6) == 8.0


def test_a_login_waits_longer_after_each_failure(
    throttle: SignInThrottle, clock: FakeClock
) -> None:
    waits = []
    for _ in range(7):
        throttle.failed("ivanova", "10.0.0.1")
        waits.append(throttle.retry_after("ivanova", "10.0.0.1"))
        clock.advance(waits[-1])
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0, 4.0, 8.0]


def test_the_wait_runs_down_with_time(throttle: SignInThrottle, clock: FakeClock) -> None:
    for _ in range(5):
        throttle.failed("ivanova", "10.0.0.1")
    assert throttle.retry_after("ivanova", "10.0.0.1") == 2.0
    clock.advance(1.5)
    assert throttle.retry_after("ivanova", "10.0.0.1") == 0.5
    clock.advance(0.5)
    assert throttle.retry_after("ivanova", "10.0.0.1") == 0.0


def test_the_lock_follows_the_login_case_insensitively_at_its_address_only(
    throttle: SignInThrottle,
) -> None:
    for _ in range(4):
        throttle.failed(" Ivanova", "10.0.0.1")
    assert throttle.retry_after("IVANOVA", "10.0.0.1") == 1.0
    assert throttle.retry_after("ivanova", "192.168.1.1") == 0.0  # the owner, elsewhere
    assert throttle.retry_after("petrov", "10.0.0.1") == 0.0


def test_an_address_failing_with_many_logins_is_slowed(throttle: SignInThrottle) -> None:
    for i in range(11):
        throttle.failed(f"user{i}", "10.0.0.9")
    assert throttle.retry_after("somebody-new", "10.0.0.9") == 2.0
    assert throttle.retry_after("somebody-new", "10.0.0.10") == 0.0


def test_success_forgets_the_logins_failures_but_not_the_addresss(
    throttle: SignInThrottle,
) -> None:
    for _ in range(11):
        throttle.failed("ivanova", "10.0.0.9")
    throttle.succeeded("IVANOVA", "10.0.0.9")
    assert throttle.retry_after("ivanova", "10.0.0.8") == 0.0
    assert throttle.retry_after("ivanova", "10.0.0.9") == 2.0


def test_failures_are_forgotten_after_a_quiet_period(
    throttle: SignInThrottle, clock: FakeClock
) -> None:
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


def test_the_rate_limiter_allows_limit_hits_per_window(clock: FakeClock) -> None:
    limiter = RateLimiter(3, 60.0, clock=clock)  # 1000 s is 40 s into the window [960, 1020)
    assert [limiter.hit("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit("10.0.0.1") == 20.0
    clock.advance(15)
    assert limiter.hit("10.0.0.1") == 5.0
    assert limiter.hit("10.0.0.2") == 0.0  # other keys are counted apart
    clock.advance(5)  # a new window
    assert [limiter.hit("10.0.0.1") for _ in range(4)] == [0.0, 0.0, 0.0, 60.0]


def test_refused_hits_do_not_extend_the_window(clock: FakeClock) -> None:
    limiter = RateLimiter(1, 10.0, clock=clock)
    assert limiter.hit("k") == 0.0
    for _ in range(5):
        clock.advance(1)
        assert limiter.hit("k") > 0.0
    clock.advance(5)
    assert limiter.hit("k") == 0.0


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
