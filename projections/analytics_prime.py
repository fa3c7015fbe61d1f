"""Reads, once the views have caught up after a serving process starts, what a person's first look
at the analytics opens: so that the process's analytics cache (projections/analytics_cache.py)
holds it, and that first look is a warm read (the year over 1,000,000 requests: ~30-50 ms warm,
~100-270 ms cold; docs/performance.md).

What is read (`periods`): the page's default, this month by day (web/ui/analytics_pages.py
`filters`), then the year to date (1 January to today, what the page shows for `from` alone) by
month, category and organisation, then what the page's period links open next: the quarter so
far (by day too) and last year. A kept group is known by its period, so another period (a past
quarter, a month) is still a cold first read; the whole calendar year (or quarter) read before
its end is read as the year (quarter) to date when nothing was filed after today
(projections/analytics_queries.py `_through`), so it is primed too. Since "today" ends these
periods, they are read again after each UTC midnight (last year stays kept unless it changed).

In the background (`Primer`, started by web/services.py where SUZ_ANALYTICS_PRIME is on, on
PostgreSQL only: SQLite keeps no cache): one thread, which lets the process settle first
(`SETTLE` seconds: begun as soon as the views caught up, the priming's ~0.5-1 s of CPU at
1,000,000 requests fell on the process's first /ready answers; docs/performance.md), then waits
for the analytics view to reach the log's head as it was at the start (it gives up after
`CATCH_UP` seconds), then reads the periods one at a time through the read side's pool (one
connection, borrowed per report). It never fails the process: an error is logged, and the
round is given up (the next is tomorrow's). `stop` ends it between two reads. Once it first read
a first look's periods (this month, the year to date) it runs what the web gives it (`then`: the
analytics page's templates compiled, ~70 ms of a process's first analytics page otherwise;
web/ui/analytics_pages.py `warm`), before the quarter and last year. Not run at a
lower OS priority: a thread niced below the event loop's could be descheduled while holding the
GIL, and then stall the requests it should give way to.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from projections import analytics_queries as aq
from projections.analytics_cache import AnalyticsCache
from projections.db import ViewDB
from projections.signals import Positions

log = logging.getLogger("suz.projections")

YEAR_DIMENSIONS = ("month", "category", "organisation")
FIRST_LOOK = 4  # periods of a first look (this month, the year to date): `then` runs after them
SETTLE = 5.0  # seconds after the start before the primer begins
CATCH_UP = 600.0  # seconds the primer waits for the analytics view to catch up, at most
AFTER_MIDNIGHT = 5.0  # seconds into a new UTC day before its periods are read


def periods(today: date) -> list[tuple[date, date, str]]:
    """(first day, last day, dimension) of what a first look at the analytics opens, in that
    order: the page's default, then the year to date by each of YEAR_DIMENSIONS (also what the
    whole calendar year reads: analytics_queries `_through`), then what a person opens next
    (the page's period links, web/ui/analytics_pages.py `presets`): the quarter so far by day
    (from this month's page) and by the same dimensions, and the last calendar year by them."""
    month, year = today.replace(day=1), today.replace(month=1, day=1)
    quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    last = (year.replace(year=year.year - 1), year - timedelta(days=1))
    return [
        (month, today, "day"),
        *((year, today, dim) for dim in YEAR_DIMENSIONS),
        *((quarter, today, dim) for dim in ("day", *YEAR_DIMENSIONS)),
        *((*last, dim) for dim in YEAR_DIMENSIONS),
    ]


def prime(db: ViewDB, today: date, cache: AnalyticsCache | None = None,
          stop: threading.Event | None = None, *,
          first_look: Callable[[], None] | None = None) -> list[tuple[str, float]]:  # fmt: skip
    """Reads `periods(today)` through `cache` (default: the process's), one report and one
    borrowed connection at a time, until `stop` is set; (what, seconds) of each read.
    `first_look` runs once the first FIRST_LOOK periods (this month, the year to date) are read."""
    took = []
    for i, (start, end, dim) in enumerate(periods(today)):
        if i == FIRST_LOOK and first_look is not None:
            first_look()
        if stop is not None and stop.is_set():
            break
        started = time.perf_counter()
        with db.read() as tx:
            aq.report(tx, start, end, dim, cache=cache)
        took.append((f"{start}..{end} by {dim}", time.perf_counter() - started))
    return took


class Primer:
    """Primes the analytics cache after start and after each UTC midnight, in its own thread
    (see the module's docstring). `head` gives the log's position; `primed` is set after each
    round, read or given up (the tests wait for it)."""

    name = "analytics-primer"

    def __init__(self, db: ViewDB, positions: Positions, head: Callable[[], int], *,
                 cache: AnalyticsCache | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 then: Callable[[], None] | None = None) -> None:  # fmt: skip
        self.db, self.positions, self.head = db, positions, head
        self.cache, self.clock = cache, clock
        self.then = then  # run once, after a round first read a first look's periods
        self._then_run = False
        self.primed = threading.Event()
        self.rounds = 0  # rounds that read every period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            if self._stop.wait(SETTLE) or not self._caught_up():
                return
            while not self._stop.is_set():
                today = self.clock().date()
                self._round(today)
                # the next day's midnight, also when this round ended after it (read it at once)
                midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(),
                                            tzinfo=UTC)  # fmt: skip
                left = (midnight - self.clock()).total_seconds() + AFTER_MIDNIGHT
                if self._stop.wait(max(left, 0.0)):
                    return
        except Exception:  # never the process's end: the cache fills on the first reads instead
            log.exception("%s: stopped; the analytics cache is not primed", self.name)
        finally:
            self.primed.set()
            self.db.close()  # this thread's connection (SQLite; PostgreSQL's went back)

    def _caught_up(self) -> bool:
        """Waits until the analytics view reached the log's head of now; False when stopped,
        or after CATCH_UP seconds (then logged)."""
        head = self.head()
        deadline = time.monotonic() + CATCH_UP
        while not self._stop.is_set():
            if self.positions.wait_for("analytics", head, 0.5):
                return True
            if time.monotonic() > deadline:
                log.warning(
                    "%s: the analytics view did not reach position %s in %.0f s; the analytics"
                    " cache is not primed", self.name, head, CATCH_UP,
                )  # fmt: skip
                return False
        return False

    def _round(self, today: date) -> None:
        """Reads today's periods (and, the first time the first look's are read, runs `then`:
        the page's share of a first look, not held back by the later periods)."""
        started = time.perf_counter()
        try:
            took = prime(self.db, today, self.cache, self._stop, first_look=self._then)
        except Exception:
            log.exception("%s: priming failed; given up until tomorrow", self.name)
        else:
            if len(took) == len(periods(today)):
                self.rounds += 1
            log.info("%s: read %s in %.0f ms (%s)", self.name, today.isoformat(),
                     (time.perf_counter() - started) * 1000,
                     ", ".join(f"{what}: {s * 1000:.0f} ms" for what, s in took))  # fmt: skip
        finally:
            self.primed.set()

    def _then(self) -> None:
        """`then`, once; its failure is logged, never the round's."""
        if self._then_run or self.then is None:
            return
        self._then_run = True
        try:
            self.then()
        except Exception:
            log.exception("%s: what follows the first look's reads failed", self.name)
