"""A serving process primes its analytics cache once its views caught up (projections/
analytics_prime.py): on PostgreSQL, after the app's start the analytics page's default month, the
year to date by month, category and organisation (and the whole year, read as the year to date),
the quarter so far and last year are answered from the cache (nothing fetched, no miss); on
SQLite (no cache) nothing is started. The primer stops with the app, and a failing read ends it
with a log line, never the process. SUZ_ANALYTICS_PRIME: on in production, off in demo mode (the
tests' servers) unless given."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from domain.desk import Desk
from domain.settings import Settings
from projections import analytics_cache, analytics_prime
from projections import analytics_queries as aq
from projections.analytics_prime import Primer, periods
from projections.signals import Positions
from tests.web.desk_site import LEAKS, migrate, started_site
from tests.world import World
from web.ui import analytics_pages, render

pytestmark = LEAKS
YEARLY = ("month", "category", "organisation")


def test_the_periods_are_the_page_s_default_the_year_and_quarter_so_far_and_last_year() -> None:
    assert periods(date(2026, 12, 4)) == [
        (date(2026, 12, 1), date(2026, 12, 4), "day"),
        (date(2026, 1, 1), date(2026, 12, 4), "month"),
        (date(2026, 1, 1), date(2026, 12, 4), "category"),
        (date(2026, 1, 1), date(2026, 12, 4), "organisation"),
        (date(2026, 10, 1), date(2026, 12, 4), "day"),
        (date(2026, 10, 1), date(2026, 12, 4), "month"),
        (date(2026, 10, 1), date(2026, 12, 4), "category"),
        (date(2026, 10, 1), date(2026, 12, 4), "organisation"),
        (date(2025, 1, 1), date(2025, 12, 31), "month"),
        (date(2025, 1, 1), date(2025, 12, 31), "category"),
        (date(2025, 1, 1), date(2025, 12, 31), "organisation"),
    ]
    assert periods(date(2027, 2, 28))[4][:2] == (date(2027, 1, 1), date(2027, 2, 28))


def _with_requests(settings: Settings) -> World:
    """The store migrated for the World, with three requests filed now (this year's)."""
    world = migrate(settings)
    world.desk = Desk(settings.store_env())
    for subject in ("Не публикуется контракт", "Ошибка подписи", "Не открывается кабинет"):
        world.file(subject)  # in the log before the start
    world.desk.close()
    return world


def test_after_start_the_year_is_read_from_the_cache(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_prime, "SETTLE", 0.0)  # no start-up to let pass here
    world = _with_requests(settings)
    warmed = threading.Event()  # what the web runs after the first round (the templates)
    monkeypatch.setattr(analytics_pages, "warm", warmed.set)
    with started_site(replace(settings, analytics_prime=True), monkeypatch, world) as site:
        primer = site.services.primer
        if not settings.uses_postgres:
            assert primer is None  # SQLite keeps no cache: nothing to prime
            return
        assert primer is not None
        assert primer.primed.wait(30), "primed within 30 s of the start"
        assert primer.rounds == 1
        cache = analytics_cache.shared()
        before = (cache.misses, cache.fetched, cache.hits)
        today = datetime.now(UTC).date()
        month, year = today.replace(day=1), today.replace(month=1, day=1)
        quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
        end = year.replace(month=12, day=31)  # the whole year: read as the year so far
        last = (year.replace(year=year.year - 1), end.replace(year=year.year - 1))
        looks = [(month, today, "day"), *((year, today, d) for d in YEARLY),
                 *((year, end, d) for d in YEARLY), (quarter, today, "day"),
                 *((quarter, today, d) for d in YEARLY), *((*last, d) for d in YEARLY)]  # fmt: skip
        with site.services.projections.db.read() as tx:
            reports = [aq.report(tx, start, to, dim) for start, to, dim in looks]
        assert reports[1].total.filed == 3, "the requests filed before the start"
        assert reports[4].total.filed == 3 and reports[4].end == end
        assert (cache.misses, cache.fetched) == before[:2], "no group read again, no row fetched"
        assert cache.hits > before[2]
        assert warmed.is_set()
        thread = primer._thread
    assert thread is not None and not thread.is_alive(), "stopped with the app"


class _Broken:
    """A view store whose reads fail."""

    def __init__(self) -> None:
        self.closed = False

    @contextmanager
    def read(self) -> Iterator[None]:
        raise RuntimeError("the store is away")
        yield

    def close(self) -> None:
        self.closed = True


def test_a_failing_read_is_logged_and_ends_nothing_else(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_prime, "SETTLE", 0.0)
    db = _Broken()
    primer = Primer(db, Positions(), lambda: 0)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, "suz.projections"):
        primer.start()
        assert primer.primed.wait(10)
        primer.stop()
    assert primer.rounds == 0 and db.closed
    assert "priming failed; given up until tomorrow" in caplog.text
    assert primer._thread is not None and not primer._thread.is_alive()


@pytest.mark.parametrize("settle", [0.0, 5.0])
def test_stop_ends_the_wait(monkeypatch: pytest.MonkeyPatch, settle: float) -> None:
    """While the process settles, or the views never reach the head: `stop` ends the wait at
    once, nothing is read."""
    monkeypatch.setattr(analytics_prime, "SETTLE", settle)
    db = _Broken()
    primer = Primer(db, Positions(), lambda: 10**9)  # type: ignore[arg-type]
    primer.start()
    stopped = threading.Event()

    def stop() -> None:
        primer.stop()
        stopped.set()

    threading.Thread(target=stop, daemon=True).start()
    assert stopped.wait(2)
    assert primer.primed.is_set() and primer.rounds == 0 and db.closed


@pytest.mark.parametrize(("mode", "given", "on"), [
    ("production", None, True), ("demo", None, False), ("demo", "y", True),
    ("production", "n", False),
])  # fmt: skip
def test_the_switch(monkeypatch: pytest.MonkeyPatch, mode: str, given: str | None,
                    on: bool) -> None:  # fmt: skip
    monkeypatch.setenv("SUZ_MODE", mode)
    if given is None:
        monkeypatch.delenv("SUZ_ANALYTICS_PRIME", raising=False)
    else:
        monkeypatch.setenv("SUZ_ANALYTICS_PRIME", given)
    assert Settings.from_env().analytics_prime is on


def test_a_wrong_switch_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUZ_ANALYTICS_PRIME", "maybe")
    with pytest.raises(ValueError, match="SUZ_ANALYTICS_PRIME"):
        Settings.from_env()


def test_a_new_day_is_primed_after_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    """The round of 4 December ends after midnight: 5 December is read at once, not a day
    later ("today" ends the periods)."""
    monkeypatch.setattr(analytics_prime, "SETTLE", 0.0)
    read: list[date] = []
    both = threading.Event()

    def prime(*args: object, **kwargs: object) -> list[tuple[str, float]]:
        read.append(args[1])  # type: ignore[arg-type]
        if len(read) == 2:
            both.set()
        return [("", 0.0)] * len(periods(args[1]))  # type: ignore[arg-type]

    monkeypatch.setattr(analytics_prime, "prime", prime)
    times = [datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC), datetime(2026, 12, 5, 0, 0, 10,
                                                                     tzinfo=UTC)]  # fmt: skip

    def clock() -> datetime:
        return times.pop(0) if len(times) > 1 else times[0]

    primer = Primer(_Broken(), Positions(), lambda: 0, clock=clock)  # type: ignore[arg-type]
    primer.start()
    assert both.wait(5)
    primer.stop()
    assert read == [date(2026, 12, 4), date(2026, 12, 5)] and primer.rounds == 2


class _Reads:
    """A view store whose reads give nothing (the reports are recorded by a stand-in)."""

    @contextmanager
    def read(self) -> Iterator[None]:
        yield None

    def close(self) -> None:
        pass


def test_the_page_is_warmed_once_the_first_look_is_read(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`then` (the page's templates) runs once the first look's periods (this month, the year to
    date) are read, before the quarter and last year; once; failing, it ends nothing."""
    monkeypatch.setattr(analytics_prime, "SETTLE", 0.0)
    done: list[object] = []

    def report(tx: object, start: date, end: date, dim: str, **kwargs: object) -> None:
        done.append((start, end, dim))

    def then() -> None:
        done.append("then")
        raise RuntimeError("the templates are away")

    monkeypatch.setattr(aq, "report", report)
    noon = datetime(2026, 12, 4, 12, tzinfo=UTC)
    primer = Primer(_Reads(), Positions(), lambda: 0, clock=lambda: noon, then=then)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, "suz.projections"):
        primer.start()
        assert primer.primed.wait(10)
        primer.stop()
    looks = periods(date(2026, 12, 4))
    assert done == [*looks[:4], "then", *looks[4:]]
    assert primer.rounds == 1 and "what follows the first look's reads failed" in caplog.text


def test_warm_compiles_what_the_analytics_page_renders(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The templates the page loads, with a fresh template cache, are those `warm` compiles."""
    with started_site(settings, monkeypatch, _with_requests(settings)) as site:
        head = site.services.desk.recorder.max_notification_id() or 0
        assert site.services.projections.wait_for(head, 10), "the requests in the views"
        curator = site.sign_in("curator")
        fresh = render._environment()
        monkeypatch.setattr(render, "ENV", fresh)
        monkeypatch.setattr(analytics_pages, "ENV", fresh)
        assert curator.get("/analytics?by=month").status_code == 200
        loaded = {key[1] for key, _ in fresh.cache.items()}  # type: ignore[union-attr]
        assert loaded == set(analytics_pages.TEMPLATES)
        fresh.cache.clear()  # type: ignore[union-attr]
        analytics_pages.warm()
        assert {key[1] for key, _ in fresh.cache.items()} == loaded  # type: ignore[union-attr]
