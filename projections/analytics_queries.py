"""Exact figures from the analytics view (projections/analytics.py) for a period and a dimension.

The period selects the requests *filed* in it (UTC days, both ends included) through the
`filed_day` index; every figure is computed in Python from those rows with exact arithmetic
(`Fraction`), so a mean is the exact quotient and a median or percentile is an observed value
(or the exact midpoint of two). docs/metrics.md defines each figure in one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from projections.analytics import COLUMNS, Fact
from projections.db import Tx

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
    ticket_ids: list[str] = field(default_factory=list)


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


def facts(tx: Tx, start: date, end: date) -> list[Fact]:
    """The fact rows of the requests filed in the period (an index range on filed_day)."""
    rows = tx.all(
        f"SELECT {', '.join(COLUMNS)} FROM v_analytics"
        " WHERE filed_day >= %s AND filed_day <= %s ORDER BY filed_at, number",
        (start.isoformat(), end.isoformat()),
    )
    return [Fact(*r) for r in rows]


def _micros(a: str, b: str) -> int:
    d = datetime.fromisoformat(b) - datetime.fromisoformat(a)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def stats(micros: list[int]) -> Stats:
    if not micros:
        return Stats(0, None, None, None)
    values = sorted(micros)
    n = len(values)
    mid = n // 2
    median = Fraction(values[mid]) if n % 2 else Fraction(values[mid - 1] + values[mid], 2)
    p90 = values[math.ceil(Fraction(9, 10) * n) - 1]
    return Stats(n, Fraction(sum(values), n) / HOUR, median / HOUR, Fraction(p90, HOUR))


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def figures(key: str, rows: list[Fact]) -> Figures:
    resolved = [f for f in rows if f.resolved_at is not None]
    rated = [f.rating for f in resolved if f.rating is not None]
    ever = [f for f in rows if f.resolutions > 0]
    reopened = sum(1 for f in ever if f.reopens > 0)
    line1 = sum(f.line1 for f in resolved)
    within = sum(1 for f in resolved if not f.fr_breach and not f.res_breach)
    info = sum(f.info_requests for f in rows)
    return Figures(
        key=key,
        filed=len(rows),
        first_response=stats(
            [_micros(f.filed_at, f.first_response_at) for f in rows if f.first_response_at]
        ),
        resolution=stats([_micros(f.filed_at, f.resolved_at) for f in resolved if f.resolved_at]),
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
        ticket_ids=[f.ticket_id for f in rows],
    )


def key_of(fact: Fact, dim: str) -> str:
    value = getattr(fact, KEY[dim])
    return "" if value is None else str(value)


def backlog(rows: list[Fact], now: datetime) -> list[tuple[str, int]]:
    counts = dict.fromkeys((label for label, _ in AGE_BUCKETS), 0)
    for f in rows:
        if f.status != "open":
            continue
        age = now - datetime.fromisoformat(f.filed_at)
        label = next(lb for lb, limit in AGE_BUCKETS if limit is None or age < limit)
        counts[label] += 1
    return list(counts.items())


def report(tx: Tx, start: date, end: date, dim: str, now: datetime | None = None) -> Report:
    rows = facts(tx, start, end)
    groups: dict[str, list[Fact]] = {}
    for f in rows:
        groups.setdefault(key_of(f, dim), []).append(f)
    order = sorted(groups, key=lambda k: (k == "", int(k) if dim == "line" and k else 0, k))
    return Report(
        start=start,
        end=end,
        dimension=dim,
        rows=[figures(k, groups[k]) for k in order],
        total=figures("", rows),
        backlog=backlog(rows, now or datetime.now(UTC)),
    )


def requests(tx: Tx, start: date, end: date, dim: str, key: str | None) -> list[Fact]:
    """The requests behind a number: those filed in the period with this dimension's value."""
    rows = facts(tx, start, end)
    return rows if key is None else [f for f in rows if key_of(f, dim) == key]


def hours(value: Fraction | None, places: int = 2) -> str:
    """A figure for people and CSV: rounded half up at `places` decimals ('' when none)."""
    if value is None:
        return ""
    scaled = value * 10**places
    whole = math.floor(scaled + Fraction(1, 2))
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    text = str(whole).rjust(places + 1, "0")
    return f"{sign}{text[:-places]}.{text[-places:]}" if places else f"{sign}{text}"


def percent(value: Fraction | None) -> str:
    return "" if value is None else hours(value * 100, 1)
