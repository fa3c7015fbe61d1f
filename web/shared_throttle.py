"""The brakes of web/throttle.py kept in PostgreSQL, so that they hold across processes and hosts.

`SharedSignInThrottle` keeps the rules of `SignInThrottle` (read its docstring: the lock is per
(login, address) pair and per address, a login only slowed gently, a wait told is a promise,
known addresses skip the per-login wait) with its counters in one table, `web_limits`;
`SharedRateLimiter` keeps `RateLimiter`'s fixed windows there too; `SharedSocketLimit` counts
the /live sockets of a session across hosts in `web_live_sockets`. The tables are made by
web/migrations.py (DDL below).

Both tables are UNLOGGED: a count is not worth a WAL flush (with `synchronous_commit=on` each
write would wait for one, ~10 ms on a busy disk: docs/performance.md). The price: PostgreSQL
empties them after a crash, and a standby does not have them (after a failover every count
starts afresh), which forgives failures and frees sockets early, never locks anyone out.

Every write is one atomic statement (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so two
hosts counting the same key at once both count. A row's `expires` says when it stops counting
(a failure forgotten, a window over, a trust lapsed, a socket's lease run out): reads ignore
expired rows, and each process deletes them now and then (`PURGE_EVERY`, in bounded batches
through the `expires` index), never on every call. Times are the hosts' wall clocks (keep them
in NTP sync, as TLS wants anyway); the in-memory brakes use a monotonic clock instead.

Costs (docs/performance.md): a sign-in adds two round trips (`retry_after`, then `failed` or
`succeeded`; a third only while its login is under a spread attack), a public form post one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
import uuid

from projections.db import ViewDB
from web.throttle import Backoff, Clock, address_key, login_key, pair_key

log = logging.getLogger("suz.throttle")

DDL = (
    """CREATE UNLOGGED TABLE IF NOT EXISTS web_limits (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        count INTEGER NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        expires DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (kind, key))""",
    "CREATE INDEX IF NOT EXISTS web_limits_expires ON web_limits (expires)",
    """CREATE UNLOGGED TABLE IF NOT EXISTS web_live_sockets (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS web_live_sockets_owner ON web_live_sockets (owner, expires)",
)

PURGE_EVERY = 60.0  # seconds between one process's deletions of expired rows
PURGE_BATCH = 5000  # rows deleted at most by one purge (a full batch: the next one soon after)


class _Purger:
    """Deletes expired rows of `table` now and then, from whichever call comes due."""

    def __init__(self, db: ViewDB, table: str) -> None:
        self.db, self.table = db, table
        self._next = 0.0
        self._lock = threading.Lock()

    def maybe(self, now: float) -> None:
        if now < self._next or not self._lock.acquire(blocking=False):
            return
        try:
            with self.db.read() as tx:
                row = tx.one(
                    f"WITH gone AS (DELETE FROM {self.table} WHERE ctid = ANY(ARRAY("
                    f"SELECT ctid FROM {self.table} WHERE expires <= %s LIMIT {PURGE_BATCH})) "
                    "RETURNING 1) SELECT COUNT(*) FROM gone",
                    (now,),
                )
            full = row is not None and row[0] >= PURGE_BATCH
            self._next = now + (1.0 if full else PURGE_EVERY)
        finally:
            self._lock.release()


# -- sign-in back-off -------------------------------------------------------------------------

_READ = (
    "SELECT kind, count, at FROM web_limits WHERE expires > %s AND ("
    "(kind = 'pair' AND key = %s) OR (kind = 'address' AND key = %s) OR "
    "(kind = 'login' AND key = %s) OR (kind = 'promised' AND key = %s) OR "
    "(kind = 'trusted' AND key = %s))"
)
_PROMISE = (
    "INSERT INTO web_limits AS t (kind, key, count, at, expires) VALUES ('promised', %s, 0, %s, %s)"
    " ON CONFLICT (kind, key) DO UPDATE SET at = EXCLUDED.at, expires = EXCLUDED.expires"
)
# The promise is used; each of the three counts one more failure, starting afresh if forgotten.
# (Rows are locked in one order, pair, address, login, so concurrent failures cannot deadlock.)
_FAIL = (
    "WITH used AS (DELETE FROM web_limits WHERE kind = 'promised' AND key = %s) "
    "INSERT INTO web_limits AS t (kind, key, count, at, expires) VALUES "
    "('pair', %s, 1, %s, %s), ('address', %s, 1, %s, %s), ('login', %s, 1, %s, %s) "
    "ON CONFLICT (kind, key) DO UPDATE SET "
    "count = CASE WHEN t.expires <= EXCLUDED.at THEN 1 ELSE t.count + 1 END, "
    "at = EXCLUDED.at, expires = EXCLUDED.expires"
)
_SUCCEED = (
    "WITH forgotten AS (DELETE FROM web_limits WHERE (kind = 'promised' AND key = %s) "
    "OR (kind = 'pair' AND key = %s)) "
    "INSERT INTO web_limits AS t (kind, key, count, at, expires) VALUES ('trusted', %s, 1, %s, %s) "
    "ON CONFLICT (kind, key) DO UPDATE SET at = EXCLUDED.at, expires = EXCLUDED.expires"
)


class SharedSignInThrottle:
    """`SignInThrottle`'s rules over `web_limits` rows (kind, key, count, at, expires):

    - 'pair' / 'address' / 'login': `count` failures, the last `at`; forgotten (`expires`)
      `forget_after` seconds after the last one, as in memory;
    - 'promised' (per pair): the per-login wait told ends `at`; kept until used or until
      `per_login.max_delay` after it (the memory version's grace period);
    - 'trusted' (per pair): signed in `at`; an address known until `expires` (`trust_for`).
    """

    def __init__(
        self,
        db: ViewDB,
        per_pair: Backoff | None = None,
        per_address: Backoff | None = None,
        per_login: Backoff | None = None,
        *,
        trust_for: float = 30 * 24 * 3600.0,
        clock: Clock = time.time,
    ) -> None:
        self.db = db
        self.per_pair = per_pair or Backoff()
        self.per_address = per_address or Backoff(free_failures=50)
        self.per_login = per_login or Backoff(free_failures=20, max_delay=60.0, forget_after=3600.0)
        self.trust_for = trust_for
        self._clock = clock
        self._purger = _Purger(db, "web_limits")

    def retry_after(self, login: str, address: str) -> float:
        """Seconds to wait before this login may be tried from this address; 0.0 when now."""
        now, pair = self._clock(), pair_key(login, address)
        with self.db.read() as tx:
            rows = tx.all(_READ, (now, pair, address_key(address), login_key(login), pair, pair))
            found: dict[str, tuple[int, float]] = {kind: (n, at) for kind, n, at in rows}
            own = max(
                _wait(found.get("pair"), self.per_pair, now),
                _wait(found.get("address"), self.per_address, now),
            )
            if "trusted" in found:
                return own
            if "promised" in found:  # a wait told is kept, however many failures came since
                return max(own, found["promised"][1] - now)
            wait = _wait(found.get("login"), self.per_login, now)
            if wait > 0:
                tx.execute(_PROMISE, (pair, now + wait, now + wait + self.per_login.max_delay))
        return max(own, wait)

    def failed(self, login: str, address: str) -> None:
        now, pair = self._clock(), pair_key(login, address)
        with self.db.read() as tx:
            tx.execute(_FAIL, (
                pair,
                pair, now, now + self.per_pair.forget_after,
                address_key(address), now, now + self.per_address.forget_after,
                login_key(login), now, now + self.per_login.forget_after,
            ))  # fmt: skip
        self._purger.maybe(now)

    def succeeded(self, login: str, address: str) -> None:
        now, pair = self._clock(), pair_key(login, address)
        with self.db.read() as tx:
            tx.execute(_SUCCEED, (pair, pair, pair, now, now + self.trust_for))
        self._purger.maybe(now)


def _wait(record: tuple[int, float] | None, policy: Backoff, now: float) -> float:
    """The wait `record` (failures, last failure; not expired) imposes now."""
    if record is None:
        return 0.0
    failures, last = record
    return max(0.0, last + policy.delay(failures) - now)


# -- fixed windows ------------------------------------------------------------------------------

_HIT = (
    "INSERT INTO web_limits AS t (kind, key, count, at, expires) VALUES (%s, %s, 1, %s, %s) "
    "ON CONFLICT (kind, key) DO UPDATE SET "
    "count = CASE WHEN t.at = EXCLUDED.at THEN t.count + 1 ELSE 1 END, "
    "at = EXCLUDED.at, expires = EXCLUDED.expires "
    "WHERE t.at <> EXCLUDED.at OR t.count < %s "
    "RETURNING count"
)


class SharedRateLimiter:
    """`RateLimiter` (at most `limit` hits per key in each fixed window of `window` seconds)
    over `web_limits` rows of kind "rate:`name`": `at` is the window's number, `count` its
    hits; a refused hit changes nothing (the statement's WHERE leaves the row as it is)."""

    def __init__(self, db: ViewDB, name: str, limit: int, window: float, *, clock: Clock = time.time
                 ) -> None:  # fmt: skip
        if limit < 1 or window <= 0:
            raise ValueError("A rate limit needs limit >= 1 and a window above zero.")
        self.db, self.kind, self.limit, self.window = db, f"rate:{name}", limit, window
        self._clock = clock
        self._purger = _Purger(db, "web_limits")

    def hit(self, key: str) -> float:
        """Counts a hit and returns 0.0, or, over the limit, the seconds until the next window."""
        now = self._clock()
        number = math.floor(now / self.window)
        ends = (number + 1) * self.window
        with self.db.read() as tx:
            counted = tx.one(_HIT, (self.kind, key, float(number), ends, self.limit))
        self._purger.maybe(now)
        return 0.0 if counted is not None else ends - now

    def refund(self, key: str) -> None:
        """Takes back a hit of this window (its filing was refused after all)."""
        number = math.floor(self._clock() / self.window)
        with self.db.read() as tx:
            tx.execute("UPDATE web_limits SET count = count - 1 WHERE kind = %s AND key = %s "
                       "AND at = %s AND count > 0", (self.kind, key, float(number)))  # fmt: skip


class SharedSpentTokens:
    """`SpentTokens` over `web_limits` rows of kind "spent:`name`", one per token used: the
    insert of a token already there inserts nothing (so two hosts cannot both use it)."""

    def __init__(self, db: ViewDB, name: str, *, clock: Clock = time.time) -> None:
        self.db, self.kind, self._clock = db, f"spent:{name}", clock
        self._purger = _Purger(db, "web_limits")

    def first(self, token: str, until: float) -> bool:
        now = self._clock()
        with self.db.read() as tx:
            row = tx.one(
                "INSERT INTO web_limits (kind, key, count, at, expires) VALUES (%s, %s, 1, %s, %s)"
                " ON CONFLICT (kind, key) DO UPDATE SET count = 1, at = EXCLUDED.at, "
                "expires = EXCLUDED.expires WHERE web_limits.expires <= EXCLUDED.at RETURNING 1",
                (self.kind, token, now, until),
            )
        self._purger.maybe(now)
        return row is not None


# -- sockets of one session ---------------------------------------------------------------------


class SharedSocketLimit:
    """At most `limit` /live sockets per owner (a session) across every host.

    Each open socket is a row (a random id, the owner's SHA-256, never the session token
    itself) with a lease of `LEASE` seconds, which this process renews for its open sockets
    every `LEASE / 3` seconds; a socket closed deletes its row. A host killed without closing
    its sockets stops renewing: their rows stop counting when their leases run out. Taking a
    place locks the owner (a transaction-scoped advisory lock), so two hosts cannot both
    take the last one."""

    LEASE = 60.0

    def __init__(self, db: ViewDB, limit: int, *, clock: Clock = time.time) -> None:
        self.db, self.limit = db, limit
        self._clock = clock
        self._held: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._purger = _Purger(db, "web_live_sockets")

    async def acquire(self, owner: str) -> str | None:
        """A place for one more socket of `owner` (its id, to release), or None when full."""
        place = await asyncio.to_thread(self._take, _hash(owner))
        if place is not None:
            self._held.add(place)
            if self._renewer is None or self._renewer.done():
                self._renewer = asyncio.get_running_loop().create_task(self._renew())
        return place

    async def release(self, place: str) -> None:
        self._held.discard(place)  # no longer renewed: its lease frees the place if this fails
        try:
            await asyncio.to_thread(self._drop, place)
        except Exception:  # an outage: the socket is closing anyway
            log.warning("could not free a live socket's place; its lease will")

    def _take(self, owner: str) -> str | None:
        now, place = self._clock(), uuid.uuid4().hex
        with self.db.tx() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"suz live {owner}",))
            row = tx.one(
                "INSERT INTO web_live_sockets (id, owner, expires) SELECT %s, %s, %s WHERE "
                "(SELECT COUNT(*) FROM web_live_sockets WHERE owner = %s AND expires > %s) < %s "
                "RETURNING id",
                (place, owner, now + self.LEASE, owner, now, self.limit),
            )
        self._purger.maybe(now)
        return place if row is not None else None

    def _drop(self, place: str) -> None:
        with self.db.read() as tx:
            tx.execute("DELETE FROM web_live_sockets WHERE id = %s", (place,))

    async def _renew(self) -> None:
        """Renews this process's leases while it holds any."""
        while self._held:
            await asyncio.sleep(self.LEASE / 3)
            held = list(self._held)
            try:
                await asyncio.to_thread(self._extend, held)
            except Exception:  # an outage: retried at the next turn, leases still running
                log.warning("could not renew the leases of %d live sockets", len(held))

    def _extend(self, held: list[str]) -> None:
        now = self._clock()
        with self.db.read() as tx:
            tx.execute(
                "UPDATE web_live_sockets SET expires = %s WHERE id = ANY(%s)",
                (now + self.LEASE, held),
            )


def _hash(owner: str) -> str:
    return hashlib.sha256(owner.encode()).hexdigest()
