"""Brakes on guessing and flooding: sign-in back-off per login and address, a rate limiter.

`SignInThrottle` lets a few failed sign-ins pass, then makes each further attempt wait twice as
long as the last (up to a cap, a temporary lock). Who is locked is chosen so that nobody can
lock somebody else out (see its docstring): the lock is per (login, address) pair and per
address; a login under attack from many addresses is only slowed, gently, and never for the
addresses it signed in from before. A quiet period forgets the failures. `RateLimiter` allows
`limit` hits per key in each fixed window (e.g. the public request form, per address).

The classes here keep their state in this process's memory, which is right for one process
(the SQLite store). Several processes (`uvicorn --workers N`, several hosts) would each keep
their own counts, so limits would multiply by the number of processes and a lock could be
dodged by reaching another worker: over PostgreSQL the composition root (suz/bootstrap.py)
builds web/shared_throttle.py's versions instead, the same rules and methods (`Throttle`,
`Limiter`, `SocketLimit` below) with the counters in shared tables.
Behind a reverse proxy the client address must come from its `X-Forwarded-For` only when the
proxy is trusted (`uvicorn --proxy-headers --forwarded-allow-ips=...`), or all clients would
share the proxy's address.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]
SOCKETS_PER_SESSION = 8  # /live sockets one session may hold open (web/live.py)


class Throttle(Protocol):
    """Sign-in back-off (`SignInThrottle`, or shared: web/shared_throttle.py)."""

    def retry_after(self, login: str, address: str) -> float: ...
    def failed(self, login: str, address: str) -> None: ...
    def succeeded(self, login: str, address: str) -> None: ...


class Limiter(Protocol):
    """A fixed-window rate limit (`RateLimiter`, or shared: web/shared_throttle.py)."""

    def hit(self, key: str) -> float: ...
    def refund(self, key: str) -> None: ...


class Spent(Protocol):
    """Single-use tokens (`SpentTokens`, or shared): a filing's proof of work is used once."""

    def first(self, token: str, until: float) -> bool:
        """Whether `token` is used now for the first time (it is remembered until `until`,
        wall-clock seconds, when it must have expired anyway)."""
        ...


class SocketLimit(Protocol):
    """At most so many /live sockets per owner (`LocalSocketLimit`, or shared)."""

    async def acquire(self, owner: str) -> str | None:
        """A place for one more socket of `owner` (to release when it closes), or None."""
        ...

    async def release(self, place: str) -> None: ...


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
    """Back-off of sign-in attempts, built so that failures can lock out only their author.

    A sign-in handler asks `retry_after(login, address)` first and, when it is above zero,
    refuses (429, `Retry-After`) without checking the password; otherwise it checks the password
    and reports `failed(...)` or `succeeded(...)`. Unknown logins are counted like known ones.
    Four rules:

    - **Per (login, address) pair** (`per_pair`: 5 free failures, then 1 s doubling up to
      15 min): guessing one login from one address is locked. The account's owner, at another
      address, is not: a stranger's failures cannot keep anyone (an administrator included)
      out, which a lock per login alone did with six failed sign-ins.
    - **Per address** (`per_address`: 50 free failures): one address guessing many logins is
      locked. Success does not forget it (or an attacker could reset his address's count by
      signing in to his own account).
    - **Per login, gently** (`per_login`: 20 free failures, then 1 s doubling up to 60 s): a
      guessing spread over many addresses (each below its pair's lock) slows the login for
      every address that has not signed in to it before. Two things keep it from becoming a
      lock-out: the wait is short (at most `per_login.max_delay`), and a wait told is a
      promise: an address told to wait gets its attempt once the wait is over, however many
      failures other addresses add meanwhile (the wait is not restarted under it). So a correct
      password from a fresh address gets in within a minute even during an attack, and each
      attacking address gets at most one guess per wait.
    - **Known addresses**: an address that signed in to the login within `trust_for` (30 days)
      skips the per-login wait altogether (its own pair and address rules still hold).

    Success forgets the pair's failures but neither the address's nor the login's (these
    measure an attack, not the user).
    """

    def __init__(
        self,
        per_pair: Backoff | None = None,
        per_address: Backoff | None = None,
        per_login: Backoff | None = None,
        *,
        trust_for: float = 30 * 24 * 3600.0,
        clock: Clock = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._pairs = _Failures(per_pair or Backoff(), max_keys)
        self._addresses = _Failures(per_address or Backoff(free_failures=50), max_keys)
        gentle = Backoff(free_failures=20, max_delay=60.0, forget_after=3600.0)
        self._logins = _Failures(per_login or gentle, max_keys)
        self._promised: dict[str, float] = {}  # pair -> when its per-login wait is over
        self._trusted: dict[str, float] = {}  # pair -> when it last signed in
        self.trust_for, self.max_keys = trust_for, max_keys
        self._clock = clock
        self._lock = threading.Lock()

    def retry_after(self, login: str, address: str) -> float:
        """Seconds to wait before this login may be tried from this address; 0.0 when now."""
        with self._lock:
            now = self._clock()
            pair = pair_key(login, address)
            own = max(
                self._pairs.retry_after(pair, now),
                self._addresses.retry_after(address_key(address), now),
            )
            return max(own, self._login_wait(login, pair, now))

    def _login_wait(self, login: str, pair: str, now: float) -> float:
        """The gentle per-login wait of this pair: none for a known address, and a wait once
        told is kept (not restarted by others' failures)."""
        trusted = self._trusted.get(pair)
        if trusted is not None and now - trusted < self.trust_for:
            return 0.0
        promised = self._promised.pop(pair, None)
        if promised is not None and now < promised + self._logins.policy.max_delay:
            self._promised[pair] = promised  # kept until used, or stale after a grace period
            return max(0.0, promised - now)
        wait = self._logins.retry_after(login_key(login), now)
        if wait > 0:
            self._promised[pair] = now + wait
            _bound(self._promised, self.max_keys)
        return wait

    def failed(self, login: str, address: str) -> None:
        with self._lock:
            now, pair = self._clock(), pair_key(login, address)
            self._promised.pop(pair, None)  # the promised attempt is used
            self._pairs.fail(pair, now)
            self._addresses.fail(address_key(address), now)
            self._logins.fail(login_key(login), now)

    def succeeded(self, login: str, address: str) -> None:
        with self._lock:
            pair = pair_key(login, address)
            self._promised.pop(pair, None)
            self._pairs.clear(pair)
            self._trusted.pop(pair, None)
            self._trusted[pair] = self._clock()  # most recent last, for eviction
            _bound(self._trusted, self.max_keys)


def pair_key(login: str, address: str) -> str:
    """The key of a (login, address) pair."""
    return f"{login_key(login)}\n{address_key(address)}"


def _bound(records: dict[str, float], max_keys: int) -> None:
    """Drops the oldest entries beyond `max_keys` (dicts keep insertion order)."""
    while len(records) > max_keys:
        del records[next(iter(records))]


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

    def refund(self, key: str) -> None:
        """Takes back a hit of this window (its filing was refused after all)."""
        with self._lock:
            number = math.floor(self._clock() / self.window)
            seen, hits = self._counts.get(key, (number, 0))
            if seen == number and hits > 0:
                self._counts[key] = (number, hits - 1)

    def _evict(self, current: int) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] == current}
        while len(self._counts) > self.max_keys:
            del self._counts[next(iter(self._counts))]


class SpentTokens:
    """Single-use tokens in this process's memory, each remembered until its expiry."""

    def __init__(self, *, clock: Clock = time.time, max_keys: int = 100_000) -> None:
        self._clock, self.max_keys = clock, max_keys
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def first(self, token: str, until: float) -> bool:
        with self._lock:
            now = self._clock()
            if self._until.get(token, 0.0) > now:
                return False
            self._until[token] = until
            if len(self._until) > self.max_keys:
                self._until = {k: u for k, u in self._until.items() if u > now}
                _bound(self._until, self.max_keys)
            return True


class LocalSocketLimit:
    """At most `limit` sockets per owner in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    async def acquire(self, owner: str) -> str | None:
        if self._open[owner] >= self.limit:
            return None
        self._open[owner] += 1
        return owner

    async def release(self, place: str) -> None:
        self._open[place] -= 1
        if self._open[place] <= 0:
            del self._open[place]
