"""The dashboard's rows kept in the process (projections/analytics_cache.py) never give a figure
other than the requests' own: a row changed after it was kept is fetched again, a transaction's
own uncommitted rows are never kept, and the cache stays within its bound.

On SQLite `report` reads every row each time (the cache is PostgreSQL's): the figures are checked
on both stores, what was fetched only on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np

from projections import analytics_days
from projections import analytics_queries as aq
from projections.analytics import Fact
from projections.analytics_cache import OVERHEAD, AnalyticsCache
from projections.analytics_days import key_of
from projections.system import Projections
from tests.projections.test_analytics_year import compare, varied, write

YEAR = (date(2025, 1, 1), date(2025, 12, 31))


def _same_sums_day(facts: list[Fact]) -> tuple[str, Fact, Fact]:
    """A day with at least two resolved requests; its longest resolution made the day's unique
    maximum (so the day's p90, the nearest rank of a few values, is that one)."""
    by_day: dict[str, list[Fact]] = {}
    for f in facts:
        if f.resolved_at is not None and f.res_us is not None:
            by_day.setdefault(f.filed_day, []).append(f)
    day, some = next((d, fs) for d, fs in sorted(by_day.items()) if 2 <= len(fs) <= 9)
    shortest = min(some, key=lambda f: f.res_us or 0)
    longest = max(some, key=lambda f: f.res_us or 0)
    longest.res_us = max(f.res_us or 0 for f in some) + 1_000
    return day, shortest, longest


def _moves(facts: list[Fact], shortest: Fact, longest: Fact) -> list[tuple[Fact, Fact]]:
    """A live desk's few changes: two past requests reopened, two open ones resolved, and the
    day's shortest and longest resolutions moved one microsecond toward each other (the day's
    counts, sums and lengths stay the same: only the row's version says it changed)."""
    assert shortest.res_us is not None and longest.res_us is not None
    resolved = [f for f in facts if f.resolved_at is not None and f not in (shortest, longest)]
    still_open = [f for f in facts if f.resolved_at is None and f.fr_us is not None]
    changes = [(f, replace(f, resolved_at=None, status="open", res_us=None, handle_us=None,
                           rating=None)) for f in resolved[100:102]]  # fmt: skip
    changes += [(f, replace(f, resolved_at="2025-12-30T10:00:00.000000+00:00", status="resolved",
                            res_us=7_200_000_000 + i, handle_us=3_600_000_000, held_by="{}"))
                for i, f in enumerate(still_open[:2])]  # fmt: skip
    changes.append((shortest, replace(shortest, res_us=shortest.res_us + 1)))
    changes.append((longest, replace(longest, res_us=longest.res_us - 1)))
    return changes


def _after(facts: list[Fact], changes: list[tuple[Fact, Fact]]) -> list[Fact]:
    new = {before.ticket_id: after for before, after in changes}
    return [new.get(f.ticket_id, f) for f in facts]


def test_a_row_changed_after_it_was_kept_gives_its_new_figures(projections: Projections) -> None:
    """The year is read for every dimension (groups kept); read again (nothing fetched); a few
    requests are reopened and resolved, and two resolutions of one day move so that its row's
    counts and sums stay the same: the changed groups are read again row by row (the day: its
    one row) and give the new figures; one more change then fetches exactly its row."""
    postgres = projections.db.dialect == "postgres"
    facts = varied(800)
    day, shortest, longest = _same_sums_day(facts)
    the_day = date.fromisoformat(day)
    with projections.db.tx() as tx:
        write(tx, [(None, f) for f in facts])
    cache = AnalyticsCache(64 * 2**20)
    with projections.db.read() as tx:
        compare(tx, facts, *YEAR, cache)
        compare(tx, facts, the_day, the_day, cache, ("day",))
        assert cache.fetched == 0, "a cold read: groups added up by the database"
        missed = cache.misses
        assert len(cache) > 0 if postgres else len(cache) == 0
        compare(tx, facts, *YEAR, cache)
        assert (cache.fetched, cache.misses) == (0, missed), "nothing changed: all kept"
    changes = _moves(facts, shortest, longest)
    with projections.db.tx() as tx:
        write(tx, changes)
    after = _after(facts, changes)
    orgs = {k[2] for k in analytics_days.deltas(changes) if k[0] == "organisation:m"}
    rows_of = {(key_of(f, "organisation"), f.filed_day[:7]) for f in after}
    with projections.db.read() as tx:
        compare(tx, after, *YEAR, cache, ("organisation",))
        expected = len([r for r in rows_of if r[0] in orgs])
        assert cache.fetched == (expected if postgres else 0), "the changed groups' rows"
        before = cache.fetched
        compare(tx, after, the_day, the_day, cache, ("day",))
        assert cache.fetched - before == (1 if postgres else 0), "the same sums, a new version"
        compare(tx, after, *YEAR, cache)
    old, new = (
        aq.figures("", [f for f in facts if f.filed_day == day]),
        aq.figures("", [f for f in after if f.filed_day == day]),
    )
    assert old.resolution.p90 != new.resolution.p90, "a stale row would have shown"
    touched = {before.ticket_id for before, _ in changes}
    one = next(f for f in after if key_of(f, "organisation") in orgs and f.ticket_id not in touched
               and f.resolved_at is not None)  # fmt: skip
    again = [(one, replace(one, resolved_at=None, status="open", res_us=None, handle_us=None,
                           rating=None))]  # fmt: skip
    with projections.db.tx() as tx:
        write(tx, again)
    with projections.db.read() as tx:
        before = cache.fetched
        compare(tx, _after(after, again), *YEAR, cache, ("organisation",))
        assert cache.fetched - before == (1 if postgres else 0), "only the changed row"


def test_a_transaction_s_own_rows_are_never_kept(projections: Projections) -> None:
    """A report inside the transaction that wrote the rows sees them and keeps none of them (the
    transaction may rewrite them under the same version); after the commit they are read."""
    facts = varied(300)
    cache = AnalyticsCache(64 * 2**20)
    with projections.db.tx() as tx:
        write(tx, [(None, f) for f in facts])
        compare(tx, facts, *YEAR, cache, ("month", "organisation"))
        assert (cache.hits, cache.misses, len(cache)) == (0, 0, 0)
    with projections.db.read() as tx:
        compare(tx, facts, *YEAR, cache, ("month", "organisation"))
    assert len(cache) > 0 if projections.db.dialect == "postgres" else len(cache) == 0


def _expected(facts: list[Fact], a: date, b: date, dim: str) -> tuple[dict[str, aq.Figures],
                                                                        aq.Figures]:  # fmt: skip
    some = [f for f in facts if a.isoformat() <= f.filed_day <= b.isoformat()]
    groups: dict[str, list[Fact]] = {}
    for f in some:
        groups.setdefault(aq.key_of(f, dim), []).append(f)
    return {k: aq.figures(k, v) for k, v in groups.items()}, aq.figures("", some)


def test_a_period_ending_after_today_is_read_as_the_period_so_far(
    projections: Projections,
) -> None:
    """The whole year (quarter) read on a day of it, nothing filed after that day, is the year
    (quarter) so far: the same figures from the groups the period so far kept (the primer's):
    no miss, nothing fetched. Requests filed after "today" (a clock set wrong) are counted: read
    to the period's end."""
    postgres = projections.db.dialect == "postgres"
    facts = varied(600)
    with projections.db.tx() as tx:
        write(tx, [(None, f) for f in facts])
    last = max(date.fromisoformat(f.filed_day) for f in facts)
    cache = AnalyticsCache(64 * 2**20)
    so_far, later = datetime(last.year, last.month, last.day, 20, tzinfo=UTC), date(2026, 3, 31)
    with projections.db.read() as tx:
        for dim in ("month", "organisation", "agent"):
            aq.report(tx, date(2025, 10, 1), last, dim, so_far, cache=cache)
        kept = (cache.misses, cache.fetched)
        for dim in ("month", "organisation", "agent"):
            r = aq.report(tx, date(2025, 10, 1), later, dim, so_far, cache=cache)
            rows, total = _expected(facts, date(2025, 10, 1), later, dim)
            if dim != "agent":  # (agents' handling is each one's own: test_analytics_year)
                assert {g.key: g for g in r.rows} == rows, dim
            assert r.total == total and r.end == later, dim
        assert (cache.misses, cache.fetched) == (kept if postgres else (0, 0))
        # "today" before the last requests' day: they are after it, and counted
        early = datetime(2025, 12, 15, 12, tzinfo=UTC)
        r = aq.report(tx, date(2025, 10, 1), later, "organisation", early, cache=cache)
        rows, total = _expected(facts, date(2025, 10, 1), later, "organisation")
        assert {g.key: g for g in r.rows} == rows and r.total == total
        assert r.total.filed > sum(
            1 for f in facts if "2025-10-01" <= f.filed_day <= "2025-12-15"
        ), "the requests filed after the 15th are in"


def test_the_cache_stays_within_its_bound(projections: Projections) -> None:
    """A cache far smaller than a year's rows: after every report it holds at most its bound,
    and the figures are the requests' own."""
    facts = varied(600)
    with projections.db.tx() as tx:
        write(tx, [(None, f) for f in facts])
    cache = AnalyticsCache(48 * 1024)
    with projections.db.read() as tx:
        for dims in (("month",), ("organisation",), ("category", "agent"), ("month",)):
            compare(tx, facts, *YEAR, cache, dims)
            assert cache.size <= cache.limit
    if projections.db.dialect == "postgres":
        assert len(cache) > 0 and cache.size > cache.limit // 2, "kept what fits"


def test_the_least_recently_used_rows_go_first() -> None:
    """Sizes count what the caller says (an entry's arrays) and an entry's overhead; a row read
    recently stays; a row larger than the whole bound is not kept, and its older version is
    dropped."""
    one = (np.arange(100, dtype=np.int64),)
    size = 800 + OVERHEAD
    cache = AnalyticsCache(3 * size)
    for name in "abc":
        cache.put(("s", "all", name, ""), (1,), one, 800)
    assert cache.get(("s", "all", "a", ""), (1,)) is not None
    assert cache.get(("s", "all", "a", ""), (2,)) is None, "another version of the row"
    cache.put(("s", "all", "d", ""), (1,), one, 800)
    assert cache.get(("s", "all", "b", ""), (1,)) is None, "the least recently used went"
    assert cache.size == 3 * size and len(cache) == 3
    cache.put(("s", "all", "a", ""), (2,), (np.arange(1000, dtype=np.int64),), 8000)
    assert cache.get(("s", "all", "a", ""), (1,)) is None
    assert cache.size == 2 * size and len(cache) == 2
