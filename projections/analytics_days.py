"""The per-day analytics table: what the dashboard reads instead of every request of a period.

One row per (dimension, value, filing day): integer counts and sums of the requests filed that
day with that value (each request is counted once per dimension: "all", line, group, agent,
category, channel, organisation), and, per duration measure, every request's duration as a
sorted array of 64-bit integers (microseconds, little-endian bytes). Means and shares stay exact
(integer sums divided once); medians and p90 stay exact because the durations themselves are
kept, so a month is a few hundred rows and a few arrays to join instead of 80,000 fact rows.

In the split by agent, handling time is each agent's own: a resolved request puts, in the row of
every agent who held it, the time that agent held it (the other figures count in the row of the
agent who resolved it).

The dimensions with many values (agent, organisation, category) also keep one row per calendar
month (dimension "agent:m", day = the month's first day), so a month or a year of them reads a
row per value and month instead of one per value and day.

A fact that changes (a late resolution, a reopening, a transfer) moves: its old contribution is
taken out of the rows it was in and its new one put in, in the same batch as the fact itself.
"""

from __future__ import annotations

import bisect
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from sys import byteorder
from typing import Protocol

import orjson

from projections.db import Tx


class Fact(Protocol):
    """What the day rows read of a request's fact (projections/analytics.py `Fact`, and the
    dimensions' columns by name, COLUMN): a protocol, so that this module, which the analytics
    view imports, does not import it back."""

    filed_day: str
    status: str
    resolved_at: str | None
    resolutions: int
    reopens: int
    info_requests: int
    rating: int | None
    line1: int
    fr_breach: int
    res_breach: int
    fr_us: int | None
    res_us: int | None
    handle_us: int | None
    held_by: str
    earlier_ratings: int
    earlier_sum: int


def holders_of(f: Fact) -> dict[str, int]:
    """Each agent who held the request, and for how long (microseconds, closed spans)."""
    held: dict[str, int] = orjson.loads(f.held_by)
    return held


DIMS = ("all", "line", "group", "agent", "category", "channel", "organisation")
MONTHLY = ("agent", "organisation", "category")  # also per month: their day rows are many
COLUMN = {"line": "line", "group": "group_id", "agent": "agent_id", "category": "category_id",
          "channel": "channel", "organisation": "organisation_id"}  # fmt: skip
COUNTS = ("filed", "open", "info", "ever_resolved", "reopened", "resolved", "line1", "within_sla",
          "rated", "rating_sum", "r1", "r2", "r3", "r4", "r5", "earlier", "earlier_sum",
          "replaced")  # fmt: skip
MEASURES = ("fr", "res", "handle")
SUMS = tuple(f"{m}_sum" for m in MEASURES)
NUMBERS = COUNTS + SUMS


def ddl(dialect: str) -> list[str]:
    blob = "BYTEA" if dialect == "postgres" else "BLOB"
    numbers = ", ".join(f"{c} BIGINT NOT NULL" for c in NUMBERS)
    arrays = ", ".join(f"{m} {blob} NOT NULL" for m in MEASURES)
    return [
        f"CREATE TABLE IF NOT EXISTS v_analytics_days (dim TEXT NOT NULL, day TEXT NOT NULL,"
        f" key TEXT NOT NULL, {numbers}, {arrays}, PRIMARY KEY (dim, day, key))"
    ]


def encode(values: Iterable[int]) -> bytes:
    a = array("q", values)
    if byteorder == "big":
        a.byteswap()
    return a.tobytes()


def decode(blob: bytes) -> array[int]:
    a = array("q")
    a.frombytes(blob)
    if byteorder == "big":
        a.byteswap()
    return a


def monthly(dim: str) -> str:
    return f"{dim}:m"


def _rows_of(fact: Fact) -> list[tuple[str, str, str]]:
    """The (dim, day, key) rows a fact counts in: one per dimension, and the month rows."""
    rows = [(dim, fact.filed_day, key_of(fact, dim)) for dim in DIMS]
    month = fact.filed_day[:8] + "01"
    rows += [(monthly(dim), month, key_of(fact, dim)) for dim in MONTHLY]
    return rows


def key_of(fact: Fact, dim: str) -> str:
    if dim == "all":
        return ""
    value = getattr(fact, COLUMN[dim])
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Part:
    """One request's contribution to a row: its counts and its durations."""

    counts: tuple[int, ...]
    durations: tuple[int | None, ...]  # per measure; None when it has none


def part(f: Fact) -> Part:
    resolved = f.resolved_at is not None
    rating = f.rating if resolved else None
    return Part(
        counts=(
            1,
            int(f.status == "open"),
            f.info_requests,
            int(f.resolutions > 0),
            int(f.resolutions > 0 and f.reopens > 0),
            int(resolved),
            f.line1 if resolved else 0,
            int(resolved and not f.fr_breach and not f.res_breach),
            int(rating is not None),
            rating or 0,
            *(int(rating == s) for s in range(1, 6)),
            f.earlier_ratings,
            f.earlier_sum,
            f.earlier_ratings if rating is not None else 0,  # replaced by the standing rating
        ),
        durations=(f.fr_us, f.res_us if resolved else None, f.handle_us if resolved else None),
    )


@dataclass
class Delta:
    counts: list[int] = field(default_factory=lambda: [0] * len(COUNTS))
    added: list[list[int]] = field(default_factory=lambda: [[] for _ in MEASURES])
    removed: list[list[int]] = field(default_factory=lambda: [[] for _ in MEASURES])

    def add(self, p: Part, sign: int) -> None:
        for i, n in enumerate(p.counts):
            self.counts[i] += sign * n
        for m, value in enumerate(p.durations):
            if value is not None:
                (self.added if sign > 0 else self.removed)[m].append(value)


RowKey = tuple[str, str, str]


def contributions(f: Fact) -> list[tuple[RowKey, Part]]:
    """Every (row, part) a fact puts in the table."""
    whole = part(f)
    out = []
    for key in _rows_of(f):
        if key[0] in ("agent", monthly("agent")):
            out.append((key, replace(whole, durations=(*whole.durations[:2], None))))
        else:
            out.append((key, whole))
    if f.resolved_at is not None:
        zero = (0,) * len(COUNTS)
        month = f.filed_day[:8] + "01"
        for agent, held in sorted(holders_of(f).items()):
            mine = Part(zero, (None, None, held))
            out += [(("agent", f.filed_day, agent), mine), ((monthly("agent"), month, agent), mine)]
    return out


def deltas(changes: Iterable[tuple[Fact | None, Fact]]) -> dict[RowKey, Delta]:
    """What the changed facts move, per (dim, day, key); unchanged contributions are skipped."""
    out: dict[RowKey, Delta] = {}
    for before, after in changes:
        old = Counter(contributions(before)) if before is not None else Counter()
        new = Counter(contributions(after))
        for (key, p), n in (old - new).items():
            for _ in range(n):
                out.setdefault(key, Delta()).add(p, -1)
        for (key, p), n in (new - old).items():
            for _ in range(n):
                out.setdefault(key, Delta()).add(p, +1)
    return out


def apply(tx: Tx, changes: Iterable[tuple[Fact | None, Fact]]) -> None:
    """Moves the changed facts' contributions: reads each touched row once, writes it once."""
    moved = deltas(changes)
    if not moved:
        return
    stored = _read(tx, moved)
    upserts, deletes = [], []
    for row_key, delta in moved.items():
        empty = ([0] * len(NUMBERS), [array("q") for _ in MEASURES])
        numbers, arrays = stored.get(row_key) or empty
        for i, n in enumerate(delta.counts):
            numbers[i] += n
        for m in range(len(MEASURES)):
            values = arrays[m]
            for v in delta.removed[m]:
                at = bisect.bisect_left(values, v)
                if at == len(values) or values[at] != v:
                    raise ValueError(f"analytics day row {row_key} lacks a duration {v}")
                del values[at]
                numbers[len(COUNTS) + m] -= v
            for v in delta.added[m]:
                bisect.insort(values, v)
                numbers[len(COUNTS) + m] += v
        if not any(numbers) and not any(arrays):
            deletes.append(row_key)
        else:
            upserts.append((*row_key, *numbers, *(encode(a) for a in arrays)))
    if deletes:
        tx.executemany("DELETE FROM v_analytics_days WHERE dim = %s AND day = %s AND key = %s",
                       deletes)  # fmt: skip
    if upserts:
        names = ("dim", "day", "key", *NUMBERS, *MEASURES)
        marks = ", ".join(["%s"] * len(names))
        sets = ", ".join(f"{c} = excluded.{c}" for c in names[3:])
        tx.executemany(
            f"INSERT INTO v_analytics_days ({', '.join(names)}) VALUES ({marks})"
            f" ON CONFLICT (dim, day, key) DO UPDATE SET {sets}",
            upserts,
        )


def _read(
    tx: Tx, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], tuple[list[int], list[array[int]]]]:
    """The stored rows among `keys`: PostgreSQL one query (a catch-up's batch touches thousands
    of (dim, day) pairs: a round trip each), SQLite one query per (dim, day)."""
    out = {}
    columns = ", ".join((*NUMBERS, *MEASURES))
    if tx.dialect == "postgres":
        triples = list(keys)
        rows = tx.all(
            f"SELECT dim, day, key, {columns} FROM v_analytics_days WHERE (dim, day, key) IN"
            " (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
            ([k[0] for k in triples], [k[1] for k in triples], [k[2] for k in triples]),
        )
        for row in rows:
            numbers = [int(n) for n in row[3 : 3 + len(NUMBERS)]]
            arrays = [decode(bytes(b)) for b in row[3 + len(NUMBERS) :]]
            out[(str(row[0]), str(row[1]), str(row[2]))] = (numbers, arrays)
        return out
    by_day: dict[tuple[str, str], list[str]] = {}
    for dim, day, key in keys:
        by_day.setdefault((dim, day), []).append(key)
    for (dim, day), wanted in by_day.items():
        marks = ", ".join(["%s"] * len(wanted))
        rows = tx.all(
            f"SELECT key, {columns} FROM v_analytics_days"
            f" WHERE dim = %s AND day = %s AND key IN ({marks})",
            (dim, day, *wanted),
        )
        for row in rows:
            numbers = [int(n) for n in row[1 : 1 + len(NUMBERS)]]
            arrays = [decode(bytes(b)) for b in row[1 + len(NUMBERS) :]]
            out[(dim, day, str(row[0]))] = (numbers, arrays)
    return out
