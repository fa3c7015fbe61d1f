"""Exact figures from the analytics view (projections/analytics.py) for a period and a dimension.

The period selects the requests *filed* in it (UTC days, both ends included). `report` reads the
per-day table (projections/analytics_days.py): a month split by category is ~600 rows, not
80,000 requests. Counts and sums are added as integers and divided once (`Fraction`), so a mean
is the exact quotient; medians and p90 are selected (numpy's partition over the kept integer
durations) from every request's own duration, so they are observed values (or the exact
midpoint of two). On PostgreSQL the rows, the groups added up from them and their figures
are kept in the process by version (projections/analytics_cache.py): a repeated report reads
only the rows that changed. `figures` computes the same figures from fact rows: the reference
the tests hold the per-day table to. docs/metrics.md defines each figure in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import numpy as np

from projections import analytics_cache
from projections import analytics_days as days
from projections.analytics import COLUMNS, Fact, stamp
from projections.analytics_cache import FIGURES, AnalyticsCache, Durations, Group
from projections.db import Tx, snapshot

DIMENSIONS = ("day", "week", "month", "line", "group", "agent", "category", "channel",
              "organisation")  # fmt: skip
KEY = {"day": "filed_day", "week": "filed_week", "month": "filed_month", "line": "line",
       "group": "group_id", "agent": "agent_id", "category": "category_id",
       "channel": "channel", "organisation": "organisation_id"}  # fmt: skip
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("< 1 day", timedelta(days=1)),
    ("1-3 days", timedelta(days=3)),
    ("3-7 days", timedelta(days=7)),
    ("7-30 days", timedelta(days=30)),
    ("> 30 days", None),
)
HOUR = 3_600_000_000  # microseconds
SMALL = 64  # durations selected in Python below this count, with numpy above
MAX_DAYS = 3660


class BadFilter(ValueError):
    """A period or dimension that cannot be reported (the page answers 422 with the message)."""


@dataclass(frozen=True)
class Stats:
    """Durations in hours, exact: mean, median and p90 (nearest rank) of `count` values."""

    count: int
    mean: Fraction | None
    median: Fraction | None
    p90: Fraction | None


@dataclass
class Figures:
    key: str  # the dimension's value ("" when the request has none)
    filed: int
    first_response: Stats
    resolution: Stats
    handling: Stats
    resolved: int
    line1: int
    line1_share: Fraction | None
    reopened: int
    ever_resolved: int
    reopen_rate: Fraction | None
    info_requests: int
    info_per_request: Fraction | None
    within_sla: int
    sla_compliance: Fraction | None
    rated: int
    csi: Fraction | None
    ratings: dict[int, int]
    response_rate: Fraction | None
    earlier_ratings: int  # ratings a reopening withdrew: the CSI history, not in CSI
    earlier_csi: Fraction | None  # their mean
    replaced_ratings: int  # those of them the request's standing rating replaced


@dataclass
class Report:
    start: date
    end: date
    dimension: str
    rows: list[Figures]
    total: Figures
    backlog: list[tuple[str, int]]  # open requests (of the period) by age now


def period(start: str, end: str) -> tuple[date, date]:
    """Parses YYYY-MM-DD days; refuses a reversed or too long period."""
    try:
        a, b = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as e:
        raise BadFilter("Give the period as two days, YYYY-MM-DD.") from e
    if b < a:
        raise BadFilter("The period ends before it starts.")
    if (b - a).days > MAX_DAYS:
        raise BadFilter("The period is longer than ten years.")
    return a, b


def dimension(value: str) -> str:
    if value not in DIMENSIONS:
        raise BadFilter("Unknown dimension.")
    return value


def facts(tx: Tx, start: date, end: date, where: str = "", params: tuple[object, ...] = ()
          ) -> list[Fact]:  # fmt: skip
    """The fact rows of the requests filed in the period (an index range on filed_day)."""
    rows = tx.all(
        f"SELECT {', '.join(COLUMNS)} FROM v_analytics"
        f" WHERE filed_day >= %s AND filed_day <= %s{where} ORDER BY filed_at, number",
        (start.isoformat(), end.isoformat(), *params),
    )
    return [Fact(*r) for r in rows]


def stats(micros: list[int]) -> Stats:
    """Mean, median and p90 of durations given one by one (the reference computation)."""
    if not micros:
        return Stats(0, None, None, None)
    values = sorted(micros)
    return _stats(len(values), sum(values), lambda ranks: [values[r] for r in ranks])


def _stats(n: int, total: int, pick: Callable[[list[int]], list[int]]) -> Stats:
    """Exact figures of `n` durations summing to `total`; `pick` gives the values at 0-based
    ranks of their sorted order."""
    if not n:
        return Stats(0, None, None, None)
    mid = n // 2
    p90_rank = -(-9 * n // 10) - 1  # nearest rank: ceil(0.9 n), 1-based
    ranks = [mid, p90_rank] if n % 2 else [mid - 1, mid, p90_rank]
    got = pick(ranks)
    median = Fraction(got[0], HOUR) if n % 2 else Fraction(got[0] + got[1], 2 * HOUR)
    return Stats(n, Fraction(total, n * HOUR), median, Fraction(got[-1], HOUR))


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def figures(key: str, rows: list[Fact]) -> Figures:
    """The figures of these fact rows, computed one request at a time."""
    resolved = [f for f in rows if f.resolved_at is not None]
    rated = [f.rating for f in resolved if f.rating is not None]
    ever = [f for f in rows if f.resolutions > 0]
    reopened = sum(1 for f in ever if f.reopens > 0)
    line1 = sum(f.line1 for f in resolved)
    within = sum(1 for f in resolved if not f.fr_breach and not f.res_breach)
    info = sum(f.info_requests for f in rows)
    earlier = sum(f.earlier_ratings for f in rows)
    earlier_sum = sum(f.earlier_sum for f in rows)
    return Figures(
        key=key,
        filed=len(rows),
        first_response=stats([f.fr_us for f in rows if f.fr_us is not None]),
        resolution=stats([f.res_us for f in resolved if f.res_us is not None]),
        handling=stats([f.handle_us for f in resolved if f.handle_us is not None]),
        resolved=len(resolved),
        line1=line1,
        line1_share=_share(line1, len(resolved)),
        reopened=reopened,
        ever_resolved=len(ever),
        reopen_rate=_share(reopened, len(ever)),
        info_requests=info,
        info_per_request=_share(info, len(rows)),
        within_sla=within,
        sla_compliance=_share(within, len(resolved)),
        rated=len(rated),
        csi=Fraction(sum(rated), len(rated)) if rated else None,
        ratings={s: rated.count(s) for s in range(1, 6)},
        response_rate=_share(len(rated), len(resolved)),
        earlier_ratings=earlier,
        earlier_csi=_share(earlier_sum, earlier),
        replaced_ratings=sum(f.earlier_ratings for f in resolved if f.rating is not None),
    )


def _selected(values: Durations, total: int, own: bool) -> Stats:
    """Exact figures of the durations `values` (in any order) summing to `total`; partitioned
    in place if they are our `own` (not shared: a kept group's are read by several threads)."""
    n = len(values)

    def pick(ranks: list[int]) -> list[int]:
        if n <= SMALL:  # a few values: sorting in Python costs less than numpy's calls
            few = sorted(values.tolist())
            return [few[r] for r in ranks]
        chosen = values if own else values.copy()
        chosen.partition(ranks)
        return [int(chosen[r]) for r in ranks]

    return _stats(n, total, pick)


def _figures(key: str, group: Group) -> Figures:
    """The group's figures (computed once per group: a kept group keeps them)."""
    kept = group.figures
    if isinstance(kept, Figures) and kept.key == key:  # the caller's own copy
        return _copy(kept)
    numbers = group.numbers
    sums = numbers[len(days.COUNTS) :]
    c = dict(zip(days.COUNTS, numbers, strict=False))
    filed, resolved, rated = c["filed"], c["resolved"], c["rated"]
    figures = Figures(
        key=key,
        filed=filed,
        first_response=_selected(group.arrays[0], sums[0], group.owned[0]),
        resolution=_selected(group.arrays[1], sums[1], group.owned[1]),
        handling=_selected(group.arrays[2], sums[2], group.owned[2]),
        resolved=resolved,
        line1=c["line1"],
        line1_share=_share(c["line1"], resolved),
        reopened=c["reopened"],
        ever_resolved=c["ever_resolved"],
        reopen_rate=_share(c["reopened"], c["ever_resolved"]),
        info_requests=c["info"],
        info_per_request=_share(c["info"], filed),
        within_sla=c["within_sla"],
        sla_compliance=_share(c["within_sla"], resolved),
        rated=rated,
        csi=Fraction(c["rating_sum"], rated) if rated else None,
        ratings={s: c[f"r{s}"] for s in range(1, 6)},
        response_rate=_share(rated, resolved),
        earlier_ratings=c["earlier"],
        earlier_csi=_share(c["earlier_sum"], c["earlier"]),
        replaced_ratings=c["replaced"],
    )
    group.figures = _copy(figures)
    return figures


def _copy(figures: Figures) -> Figures:
    """A copy of kept figures for a caller (its own ratings), field for field: a few µs, where
    `dataclasses.replace` took ~45 µs (14 ms for the 300 groups of a year by organisation)."""
    out: Figures = object.__new__(Figures)
    out.__dict__.update(figures.__dict__)
    out.ratings = dict(figures.ratings)
    return out


def _bucket(day: str, dim: str) -> str:
    if dim == "week":
        d = date.fromisoformat(day)
        return (d - timedelta(days=d.weekday())).isoformat()
    return day[:7] if dim == "month" else day


def key_of(fact: Fact, dim: str) -> str:
    value = getattr(fact, KEY[dim])
    return "" if value is None else str(value)


def backlog(tx: Tx, start: date, end: date, now: datetime) -> list[tuple[str, int]]:
    """Open requests filed in the period, by their age now. A day's open count (per-day table)
    falls in one bucket unless a bucket's bound cuts the day: those (at most four) days' open
    requests are counted one by one."""
    bounds = [now - limit for _, limit in AGE_BUCKETS if limit]  # newest first

    def bucket(moment: datetime) -> int:
        return next((i for i, b in enumerate(bounds) if moment > b), len(bounds))

    cut = sorted({b.date().isoformat() for b in bounds})
    counts = [0] * len(AGE_BUCKETS)
    opened = tx.all(
        "SELECT day, open FROM v_analytics_days"
        " WHERE dim = 'all' AND day >= %s AND day <= %s AND open > 0",
        (start.isoformat(), end.isoformat()),
    )
    for day, n in opened:
        if str(day) not in cut:
            counts[bucket(datetime.fromisoformat(f"{day}T12:00:00+00:00"))] += int(n)
    # the cut days' open requests counted by the database: how many were filed after each
    # bound (filed_at is fixed-width ISO text: it compares as the moments do)
    marks = ", ".join(["%s"] * len(cut))
    after = ", ".join(["SUM(CASE WHEN filed_at > %s THEN 1 ELSE 0 END)"] * len(bounds))
    found = tx.one(
        f"SELECT COUNT(*), {after} FROM v_analytics WHERE status = 'open' AND filed_day >= %s"
        f" AND filed_day <= %s AND filed_day IN ({marks})",
        (*(stamp(b) for b in bounds), start.isoformat(), end.isoformat(), *cut),
    )
    if found is not None and found[0]:
        newer = [int(n or 0) for n in found[1:]]  # filed after bounds[i], newest bound first
        for i, n in enumerate([*newer, int(found[0])]):
            counts[i] += n - (newer[i - 1] if i else 0)
    return [(label, counts[i]) for i, (label, _) in enumerate(AGE_BUCKETS)]


def segments(dim: str, start: date, end: date) -> list[tuple[str, str, str]]:
    """The (dim, first day, last day) ranges of per-day rows that make up the period: for a
    dimension rolled up per month, its month rows for the whole calendar months inside the
    period and day rows for the days around them."""
    if dim not in days.MONTHLY:
        return [(dim, start.isoformat(), end.isoformat())]
    first = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    after = end + timedelta(days=1)
    last = after.replace(day=1) - timedelta(days=1)  # the last whole month's last day
    if last < first:
        return [(dim, start.isoformat(), end.isoformat())]
    one_day = timedelta(days=1)
    return [
        (dim, start.isoformat(), (first - one_day).isoformat()),
        (days.monthly(dim), first.isoformat(), last.replace(day=1).isoformat()),
        (dim, (last + one_day).isoformat(), end.isoformat()),
    ]


# the SQL of a per-day row's group, per dimension: its value, or the period of time it falls in
BY = {"day": "day", "week": "to_char(date_trunc('week', day::date), 'YYYY-MM-DD')",
      "month": "substr(day, 1, 7)"}  # fmt: skip


def _groups(tx: Tx, start: date, end: date, dim: str, cache: AnalyticsCache | None
            ) -> tuple[dict[str, Group], Callable[[], Figures], Callable[[], None]]:  # fmt: skip
    """The period's per-day rows of the dimension added up per value, their total, and what
    keeps the groups added up now (call it once their figures are computed)."""
    by_time = dim in ("day", "week", "month")
    parts = segments("all" if by_time else dim, start, end)
    where = " OR ".join(["(dim = %s AND day >= %s AND day <= %s)"] * len(parts))
    params = [value for part in parts for value in part]
    if cache is not None:
        period = analytics_cache.read(tx, where, params, BY.get(dim, "key"), cache)

        def total() -> Figures:
            key = (period.store, "total", period.scope)
            kept = cache.get(key, period.version)
            if isinstance(kept, Figures):
                return _copy(kept)
            whole = Group.of([(g.numbers, g.arrays) for g in period.groups.values()])
            figures = _figures("", whole)
            cache.put(key, period.version, _copy(figures), FIGURES)
            return figures

        return period.groups, total, period.keep
    rows: dict[str, list[analytics_cache.RowValue]] = {}
    for day, key, numbers, arrays in _rows(tx, where, params, by_time):
        rows.setdefault(_bucket(day, dim) if by_time else key, []).append((numbers, arrays))
    whole = Group.of([r for some in rows.values() for r in some])
    groups = {name: Group.of(some) for name, some in rows.items()}
    return groups, lambda: _figures("", whole), lambda: None


def _rows(tx: Tx, where: str, params: list[str], by_time: bool
          ) -> list[tuple[str, str, tuple[int, ...], tuple[Durations, ...]]]:  # fmt: skip
    """(day, key, numbers, arrays) of the rows; on PostgreSQL added up there per value (sums,
    joined arrays), on SQLite each row."""
    column = "day" if by_time else "key"
    if tx.dialect == "postgres":
        numbers = ", ".join(f"SUM({c})" for c in days.NUMBERS)
        arrays = ", ".join(f"string_agg({m}, ''::bytea)" for m in days.MEASURES)
        group = f" GROUP BY {column}"
    else:
        numbers, arrays, group = ", ".join(days.NUMBERS), ", ".join(days.MEASURES), ""
    rows = tx.all(
        f"SELECT {column}, {numbers}, {arrays} FROM v_analytics_days WHERE {where}{group}",
        params,
        binary=True,
    )
    split = len(days.NUMBERS) + 1
    return [
        (str(row[0]), str(row[0]), tuple(int(n) for n in row[1:split]),
         tuple(np.frombuffer(bytes(b), dtype="<i8") for b in row[split:]))
        for row in rows
    ]  # fmt: skip


def _through(tx: Tx, start: date, end: date, today: date) -> date:
    """The last day of the period to read: today when the period ends after it and no request
    was filed after it (none can be, but a clock set wrong might have), else its end. So the
    whole calendar year (or quarter, month) read on a day of it is the year to date (the same
    rows): the same groups in the cache (projections/analytics_cache.py keeps them by period),
    which the primer read (projections/analytics_prime.py). One probe of the per-day rows'
    index, in the report's snapshot."""
    if end <= today or start > today:
        return end
    later = tx.one(
        "SELECT 1 FROM v_analytics_days WHERE dim = 'all' AND day > %s AND day <= %s LIMIT 1",
        (today.isoformat(), end.isoformat()),
    )
    return end if later is not None else today


def report(tx: Tx, start: date, end: date, dim: str, now: datetime | None = None, *,
           cache: AnalyticsCache | None = None) -> Report:  # fmt: skip
    """The period's figures per value of the dimension, and in total, from the per-day table.
    On PostgreSQL, read outside a transaction, every read sees one snapshot, and the rows and
    groups whose version the cache (the process's: projections/analytics_cache.py) holds are
    not read or added up again; a period ending after today is read to today when nothing was
    filed after it (`_through`: the same rows, so the same kept groups)."""
    with snapshot(tx) as one:
        cache = cache if cache is not None else analytics_cache.shared()
        kept = cache if one and cache.limit > 0 else None
        now = now or datetime.now(UTC)
        through = end if kept is None else _through(tx, start, end, now.date())
        groups, total, keep = _groups(tx, start, through, dim, kept)
        order = sorted(groups, key=lambda k: (k == "", int(k) if dim == "line" and k else 0, k))
        rows = [_figures(k, groups[k]) for k in order]
        if dim == "agent":  # agents' rows hold each one's own handling: the total is per request
            keep()
            _, total, keep = _groups(tx, start, through, "day", kept)
        whole = total()
        keep()
        return Report(
            start=start,
            end=end,
            dimension=dim,
            rows=rows,
            total=whole,
            backlog=backlog(tx, start, end, now),
        )


def requests(tx: Tx, start: date, end: date, dim: str, key: str | None) -> list[Fact]:
    """The requests behind a number: those filed in the period with this dimension's value."""
    if key is None:
        return facts(tx, start, end)
    column = KEY[dim]
    if key == "":
        return facts(tx, start, end, f" AND {column} IS NULL")
    if dim == "line":
        return facts(tx, start, end, " AND line = %s", (int(key),)) if key.isdigit() else []
    return facts(tx, start, end, f" AND {column} = %s", (key,))


def hours(value: Fraction | None, places: int = 2) -> str:
    """A figure for people and CSV: rounded half up at `places` decimals ('' when none)."""
    if value is None:
        return ""
    return _rounded(value.numerator, value.denominator, places)


def _rounded(p: int, q: int, places: int) -> str:
    """p/q (q > 0) rounded half up at `places` decimals, in integers only (the page shows
    thousands of figures)."""
    whole = (2 * p * 10**places + q) // (2 * q)  # floor(p/q * 10^places + 1/2)
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    text = str(whole).rjust(places + 1, "0")
    return f"{sign}{text[:-places]}.{text[-places:]}" if places else f"{sign}{text}"


def percent(value: Fraction | None) -> str:
    return "" if value is None else _rounded(value.numerator * 100, value.denominator, 1)
