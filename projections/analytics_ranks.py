"""Exact medians and p90 of a long period without fetching every duration: two-phase selection.

Each per-day row (projections/analytics_days.py) keeps, beside each measure's sorted durations,
a histogram of them over fixed log buckets (a quarter octave wide: bounds 2^e × 1, 1.25, 1.5,
1.75 microseconds, e = 16..45; everything under 65 ms in the first bucket, over 2.2 years in the
last). A period's figures then cost two small reads instead of every duration of the period:

1. the histograms of the period's rows: added up per value of the dimension, they say in which
   bucket each wanted rank (median, p90) falls and its rank inside the bucket;
2. only that bucket's durations from each row: a row's values are sorted, so they are one slice
   of its array, whose offset is the row's own count of the buckets below (the substring is cut
   by the store, PostgreSQL or SQLite). The exact value is then selected among them.

The figures are the same as selecting among all durations (tests/projections/
test_analytics_ranks.py holds them to the request-by-request computation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from projections.db import Tx

# The lower bounds of buckets 1.. (bucket 0 holds everything below the first).
BOUNDS = np.array(
    [(4 + q) << (e - 2) for e in range(16, 46) for q in range(4)] + [1 << 46], dtype=np.int64
)
BUCKETS = len(BOUNDS) + 1
MEASURES = ("fr", "res", "handle")
CHUNK = 20_000  # slices asked for in one statement


def histogram(values: Any) -> bytes:
    """The bucket counts of sorted int64 durations, trimmed: first bucket, then the counts from
    it to the last non-empty one (little-endian int32). No durations: empty."""
    n = len(values)
    if not n:
        return b""
    sorted_values = np.frombuffer(values, dtype=np.int64)
    below = np.searchsorted(sorted_values, BOUNDS, side="left")
    counts = np.diff(np.concatenate(([0], below, [n])))
    filled = np.flatnonzero(counts)
    first, last = int(filled[0]), int(filled[-1])
    return np.concatenate(([first], counts[first : last + 1])).astype("<i4").tobytes()


def dense(blobs: Sequence[bytes]) -> np.ndarray:
    """The rows' trimmed histograms as one (rows × BUCKETS) matrix of counts."""
    out = np.zeros((len(blobs), BUCKETS), dtype=np.int64)
    sizes = np.fromiter((len(b) // 4 for b in blobs), dtype=np.int64, count=len(blobs))
    if not sizes.any():
        return out
    flat = np.frombuffer(b"".join(blobs), dtype="<i4").astype(np.int64)
    starts = np.cumsum(sizes) - sizes
    rows = np.flatnonzero(sizes)
    heads = starts[rows]
    lengths = sizes[rows] - 1
    firsts = flat[heads]
    inside = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    keep = np.ones(len(flat), dtype=bool)
    keep[heads] = False
    out[np.repeat(rows, lengths), np.repeat(firsts, lengths) + inside] = flat[keep]
    return out


def ranks(n: int) -> list[int]:
    """The 0-based ranks the figures of `n` durations need: the median's one or two, then the
    p90's (nearest rank: ceil(0.9 n), 1-based)."""
    mid = n // 2
    p90 = -(-9 * n // 10) - 1
    return [mid, p90] if n % 2 else [mid - 1, mid, p90]


RowId = tuple[str, str, str]  # (dim, day, key) of a per-day row


def select(tx: Tx, rows: Sequence[RowId], hists: Sequence[Sequence[bytes]], member: np.ndarray,
           groups: int) -> list[list[tuple[int, list[int]]]]:  # fmt: skip
    """For each group of rows (`member[row]`, 0 <= group < `groups`) and then all of them (the
    total, `out[groups]`), and each measure m: the count n of durations and the values at
    `ranks(n)`, `out[s][m]`. `hists[row][m]` is the row's histogram of measure m."""
    sets = groups + 1
    order = np.argsort(member, kind="stable")
    starts = np.searchsorted(member[order], np.arange(groups), side="left")
    ends = np.searchsorted(member[order], np.arange(groups), side="right")
    plans: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per measure: n, buckets, inside
    asks: list[np.ndarray] = []  # rows: row, measure, first value, count, tag
    everyone = np.arange(len(rows))
    for m in range(len(MEASURES)):
        counts = dense([h[m] for h in hists])
        running = np.zeros((len(rows) + 1, BUCKETS), dtype=np.int64)
        np.cumsum(counts[order], axis=0, out=running[1:])
        per_set = np.empty((sets, BUCKETS), dtype=np.int64)
        per_set[:groups] = running[ends] - running[starts]  # a group's rows are contiguous
        per_set[groups] = running[-1]
        n = per_set.sum(axis=1)
        mid, p90 = n // 2, -(-9 * n // 10) - 1
        wanted = np.stack([np.where(n % 2, mid, mid - 1), mid, p90], axis=1)  # (sets, 3)
        cum = np.cumsum(per_set, axis=1)
        bucket = (cum[:, :, None] <= wanted[:, None, :]).sum(axis=1)  # (sets, 3)
        bucket = np.minimum(bucket, BUCKETS - 1)
        picked = np.take_along_axis
        inside = wanted - (picked(cum, bucket, 1) - picked(per_set, bucket, 1))
        plans.append((n, bucket, inside))
        below = np.cumsum(counts, axis=1) - counts
        fresh = np.ones((sets, 3), dtype=bool)  # each distinct bucket of a set asked once
        fresh[:, 1:] = bucket[:, 1:] != bucket[:, :-1]
        fresh &= (n > 0)[:, None]
        for owner in (member, np.full(len(rows), groups)):  # its group's buckets; the total's
            b = bucket[owner]  # (rows, 3)
            held = picked(counts, b, 1)
            ask = fresh[owner] & (held > 0)
            r, k = np.nonzero(ask)
            tags = (owner[r] * len(MEASURES) + m) * BUCKETS + b[r, k]
            asks.append(np.stack([everyone[r], np.full(len(r), m), picked(below, b, 1)[r, k],
                                  held[r, k], tags], axis=1))  # fmt: skip
    got = _slices(tx, rows, np.concatenate(asks) if asks else np.zeros((0, 5), np.int64))
    out: list[list[tuple[int, list[int]]]] = [[] for _ in range(sets)]
    for m, (n, bucket, inside) in enumerate(plans):
        for s in range(sets):
            count = int(n[s])
            values = []
            if count:
                for j in [0, 1, 2] if count % 2 == 0 else [1, 2]:
                    found = got[(s * len(MEASURES) + m) * BUCKETS + int(bucket[s, j])]
                    found.partition(int(inside[s, j]))
                    values.append(int(found[inside[s, j]]))
            out[s].append((count, values))
    return out


def _slices(tx: Tx, rows: Sequence[RowId], asks: np.ndarray) -> dict[int, np.ndarray]:
    """Each tag's durations: the slices asked of the rows (row, measure, first value, count,
    tag), cut by the store."""
    parts: dict[int, list[bytes]] = {}
    column = "CASE {} WHEN 0 THEN d.fr WHEN 1 THEN d.res ELSE d.handle END"
    for at in range(0, len(asks), CHUNK):
        chunk = asks[at : at + CHUNK]
        which = [rows[i] for i in chunk[:, 0].tolist()]
        offsets, lengths = (8 * chunk[:, 2] + 1).tolist(), (8 * chunk[:, 3]).tolist()
        measures, tags = chunk[:, 1].tolist(), chunk[:, 4].tolist()
        if tx.dialect == "postgres":
            got = tx.all(
                f"SELECT w.tag, string_agg(substring({column.format('w.m')} FROM w.o FOR w.l),"
                " ''::bytea) FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[],"
                " %s::int[], %s::int[], %s::bigint[]) AS w(dim, day, key, m, o, l, tag)"
                " JOIN v_analytics_days d ON d.dim = w.dim AND d.day = w.day AND d.key = w.key"
                " GROUP BY w.tag",
                [
                    [w[0] for w in which],
                    [w[1] for w in which],
                    [w[2] for w in which],
                    measures,
                    offsets,
                    lengths,
                    tags,
                ],
                binary=True,
            )
        else:
            asked = list(zip(which, measures, offsets, lengths, tags, strict=True))
            got = tx.all(
                f"SELECT w.value ->> 4, substr({column.format('w.value ->> 1')}, w.value ->> 2,"
                " w.value ->> 3) FROM json_each(%s) AS w JOIN v_analytics_days d"
                " ON d.dim = w.value ->> '$[0][0]' AND d.day = w.value ->> '$[0][1]'"
                " AND d.key = w.value ->> '$[0][2]'",
                (orjson.dumps(asked).decode(),),
            )
        for tag, blob in got:
            parts.setdefault(int(tag), []).append(bytes(blob))
    return {tag: np.frombuffer(b"".join(p), dtype="<i8").copy() for tag, p in parts.items()}
