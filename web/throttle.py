"""Brakes on guessing and flooding: sign-in back-off per login and address, a rate limiter.

`SignInThrottle` lets a few failed sign-ins pass, then makes each further attempt wait twice as
long as the last (up to a cap, a temporary lock), separately per login and per client address;
a quiet period forgets the failures. `RateLimiter` allows `limit` hits per key in each fixed
window (e.g. the public request form, per address).

State is kept in this process's memory, which is right for one process. Several processes
(`uvicorn --workers N`, several hosts) would each keep their own counts, so limits would multiply
by the number of processes and a lock could be dodged by reaching another worker: a multi-process
deployment needs the counters in shared storage behind the same methods (a PostgreSQL table
updated with `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, or Redis `INCR` + `EXPIRE`).
Behind a reverse proxy the client address must come from its `X-Forwarded-For` only when the
proxy is trusted (`uvicorn --proxy-headers --forwarded-allow-ips=...`), or all clients would
share the proxy's address.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class Backoff:
    """After `free_failures`, the n-th further failure makes the next attempt wait
    `base_delay * 2**(n-1)` seconds, at most `max_delay`; failures are forgotten after
    `forget_after` seconds without one."""

    free_failures: int = 5
    base_delay: float = 1.0
    max_delay: float = 15 * 60.0
    forget_after: float = 24 * 3600.0

    def delay(self, failures: int) -> float:
        over = failures - self.free_failures
        if over <= 0:
            return 0.0
        return min(self.max_delay, self.base_delay * 2.0 ** min(over - 1, 64))


def address_key(address: str) -> str:
    """The key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber's network)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def login_key(login: str) -> str:
    """The key of a login as typed (logins are case-insensitive)."""
    return login.strip().lower()[:200]


class _Failures:
    """Failure counts per key; the least recently failed keys are evicted beyond `max_keys`."""

    def __init__(self, policy: Backoff, max_keys: int) -> None:
        self.policy = policy
        self.max_keys = max_keys
        self._records: dict[str, tuple[int, float]] = {}  # key -> (failures, last failure)

    def retry_after(self, key: str, now: float) -> float:
        record = self._records.get(key)
        if record is None:
            return 0.0
        failures, last = record
        if now - last >= self.policy.forget_after:
            del self._records[key]
            return 0.0
        return max(0.0, last + self.policy.delay(failures) - now)

    def fail(self, key: str, now: float) -> None:
        failures, last = self._records.pop(key, (0, now))
        if now - last >= self.policy.forget_after:
            failures = 0
        self._records[key] = (failures + 1, now)
        while len(self._records) > self.max_keys:
            del self._records[next(iter(self._records))]

    def clear(self, key: str) -> None:
        self._records.pop(key, None)


class SignInThrottle:
    """Back-off of sign-in attempts per login and per client address.

    A sign-in handler asks `retry_after(login, address)` first and, when it is above zero,
    refuses (429, `Retry-After`) without checking the password; otherwise it checks the password
    and reports `failed(...)` or `succeeded(...)`. Unknown logins are counted like known ones.
    Success forgets the login's failures but not the address's (or an attacker could reset his
    address's count by signing in to his own account).
    """

    def __init__(
        self,
        per_login: Backoff | None = None,
        per_address: Backoff | None = None,
        *,
        clock: Clock = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._logins = _Failures(per_login or Backoff(), max_keys)
        self._addresses = _Failures(per_address or Backoff(free_failures=50), max_keys)
        self._clock = clock
        self._lock = threading.Lock()

    def retry_after(self, login: str, address: str) -> float:
        """Seconds to wait before this login may be tried from this address; 0.0 when now."""
        with self._lock:
            now = self._clock()
            return max(
                self._logins.retry_after(login_key(login), now),
                self._addresses.retry_after(address_key(address), now),
            )

    def failed(self, login: str, address: str) -> None:
        with self._lock:
            now = self._clock()
            self._logins.fail(login_key(login), now)
            self._addresses.fail(address_key(address), now)

    def succeeded(self, login: str, address: str) -> None:
        with self._lock:
            self._logins.clear(login_key(login))


class RateLimiter:
    """At most `limit` hits per key in each fixed window of `window` seconds."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Clock = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("A rate limit needs limit >= 1 and a window above zero.")
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window number, hits)

    def hit(self, key: str) -> float:
        """Counts a hit and returns 0.0, or, over the limit, the seconds until the next window."""
        with self._lock:
            now = self._clock()
            number = math.floor(now / self.window)
            seen, hits = self._counts.get(key, (number, 0))
            if seen != number:
                hits = 0
            if hits >= self.limit:
                return (number + 1) * self.window - now
            self._counts[key] = (number, hits + 1)
            if len(self._counts) > self.max_keys:
                self._evict(number)
            return 0.0

    def _evict(self, current: int) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] == current}
        while len(self._counts) > self.max_keys:
            del self._counts[next(iter(self._counts))]
