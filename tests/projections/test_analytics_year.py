"""A year's dashboard from the roll-up equals the same figures computed request by request.

The roll-up (projections/analytics_days.py: per-day and per-month rows, counts and sums, sorted
durations) answers a period through `analytics_queries.report`; the reference
(`analytics_queries.figures`) reads every fact row of the period. Every figure is a `Fraction`
or an integer: compared with `==`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import astuple, replace
from datetime import date

import pytest

from projections import analytics_days
from projections import analytics_queries as aq
from projections.analytics import COLUMNS, Fact
from projections.analytics_cache import AnalyticsCache
from projections.db import Tx
from projections.system import Projections
from scripts.bench_analytics import synthetic_rows
from tests.projections.test_analytics import by_holder


def write(tx: Tx, changes: Sequence[tuple[Fact | None, Fact]]) -> None:
    """Writes facts and their per-day rows as the view's flush does (inserted or updated)."""
    marks = ", ".join(["%s"] * len(COLUMNS))
    new = [astuple(after) for before, after in changes if before is None]
    if new:
        tx.executemany(f"INSERT INTO v_analytics ({', '.join(COLUMNS)}) VALUES ({marks})", new)
    sets = ", ".join(f"{c} = %s" for c in COLUMNS[1:])
    moved = [(*astuple(after)[1:], after.ticket_id) for before, after in changes if before]
    if moved:
        tx.executemany(f"UPDATE v_analytics SET {sets} WHERE ticket_id = %s", moved)
    analytics_days.apply(tx, changes)


def varied(n: int) -> list[Fact]:
    """The bench's generated year (20 categories, 300 organisations, 150 agents...), with
    durations spread from none to years, and ties."""
    rnd = random.Random(18)
    bounds = [(5 + k % 4) << (16 + k // 4) for k in range(120)]  # ties across requests
    out = []
    for row in synthetic_rows(n, seed=18):
        f = Fact(*row)
        pick = rnd.random()
        if pick < 0.2:
            f.fr_us = rnd.choice(bounds) + rnd.choice((-1, 0, 1))
        elif pick < 0.3:
            f.fr_us = rnd.choice((0, 1, 3_600_000_000, 2**47))
        elif pick < 0.35:
            f.fr_us = None
        if f.res_us is not None and rnd.random() < 0.2:
            f.res_us = f.handle_us = rnd.choice(bounds)
        out.append(f)
    return out


def compare(tx: Tx, facts: list[Fact], a: date, b: date, cache: AnalyticsCache | None = None,
            dims: Sequence[str] = aq.DIMENSIONS) -> None:  # fmt: skip
    """`report` (through `cache`, or the process's) equals the figures of the requests."""
    some = [f for f in facts if a.isoformat() <= f.filed_day <= b.isoformat()]
    for dim in dims:
        r = aq.report(tx, a, b, dim, cache=cache)
        groups: dict[str, list[Fact]] = {}
        for f in some:
            groups.setdefault(aq.key_of(f, dim), []).append(f)
        expected = {k: aq.figures(k, v) for k, v in groups.items()}
        if dim == "agent":
            expected = by_holder(expected, some)
        assert {g.key: g for g in r.rows} == expected, (a, b, dim)
        assert r.total == aq.figures("", some), (a, b, dim)


def test_a_generated_year_gives_the_figures_of_the_requests_themselves(
    projections: Projections, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every dimension over the year (month rows of agents, organisations and categories), a
    quarter cut inside months (day and month rows) and a few days; then a third of the requests
    move (reopened: durations leave the rows; re-resolved later: others come in) and the
    figures still agree."""
    if projections.db.dialect == "sqlite":  # every median and p90 with numpy, as big groups
        monkeypatch.setattr(aq, "SMALL", 0)
    facts = varied(2500)
    with projections.db.tx() as tx:
        write(tx, [(None, f) for f in facts])
    periods = [(date(2025, 1, 1), date(2025, 12, 31)), (date(2025, 2, 10), date(2025, 5, 20)),
               (date(2025, 6, 3), date(2025, 6, 5))]  # fmt: skip
    with projections.db.read() as tx:
        for a, b in periods:
            compare(tx, facts, a, b)
    rnd = random.Random(8)
    changes, moved = [], []
    for f in facts:
        if rnd.random() < 0.33:
            g = replace(f, resolved_at=None, res_us=None, handle_us=None, status="open",
                        rating=None, fr_us=rnd.choice((f.fr_us, 7, None)))  # fmt: skip
            if f.resolved_at is not None and rnd.random() < 0.5:
                g = replace(g, resolved_at=f.resolved_at, status="resolved",
                            res_us=(f.res_us or 0) * 3 + 1, handle_us=f.handle_us)  # fmt: skip
            changes.append((f, g))
            moved.append(g)
        else:
            moved.append(f)
    with projections.db.tx() as tx:
        write(tx, changes)
    with projections.db.read() as tx:
        for a, b in periods:
            compare(tx, moved, a, b)
