"""The per-day analytics rows' durations, and the groups added up from them, kept in the process,
so that a report fetches and adds up again only what changed since the last one (PostgreSQL;
projections/analytics_queries.py `report`).

A year's report needs every request's durations (exact medians and p90): ~24 MB of arrays for a
year of 1,000,000 requests, sent, decoded and partitioned again on every read, although a past
day's row changes only when one of its requests is answered, resolved or reopened. So `read`
first asks, per value of the dimension (a group), for the version of each of its rows: the
row's `xmin` (the transaction that wrote this version of it) and its three duration sums.
A group whose rows are all at the versions kept is taken as kept (its counts, its durations
joined, its figures once computed). A group never read before is added up by PostgreSQL as
before this cache (sums, joined arrays: a cold read costs about what every read cost); a group
kept at another version is added up again from its rows, of which only those not kept at their
version are fetched. Both in the same REPEATABLE READ snapshot as the versions (projections/
db.py `snapshot`).

Why nothing kept is ever stale: every update or re-insert of a row is a new row version whose
`xmin` is the id of the transaction that committed it, and rows are only read outside any
transaction (a transaction's own uncommitted rows, which a later statement of the same
transaction may rewrite under the same id, are never kept: `snapshot`). Entries are kept per
store (server start, database, table oid): another schema, a re-created table or a restarted
server never shares one. Transaction ids are 32-bit and wrap around after ~4 billion
transactions: a stale hit would need a row rewritten by exactly such a later transaction and
with the same three sums, so the revision column that would exclude even that (a shape bump and
a rebuild of every store's view) was not added.

Bounded: one LRU by bytes over rows, groups and totals (SUZ_ANALYTICS_CACHE_MB, default 256; a
year of one dimension of 1,000,000 requests takes ~45 MB: its rows and its groups).

A serving process fills it after its start with what a first look at the analytics opens
(projections/analytics_prime.py, SUZ_ANALYTICS_PRIME), so that look is not the cold read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.settings import Settings
from projections import analytics_days as days
from projections.db import Tx

Durations = npt.NDArray[np.int64]
Key = tuple[object, ...]  # (store, what, ...)
EMPTY: Durations = np.empty(0, dtype=np.int64)
ROW, FIELD = chr(30), chr(31)  # separators in a group's versions: in no key
OVERHEAD = 400  # bytes an entry costs beside its arrays: the key, the version, the objects
FIGURES = 3_000  # bytes of a group's figures (Fractions), once computed


@dataclass(frozen=True)
class _Entry:
    version: object
    value: object
    size: int


class AnalyticsCache:
    """Values by key and version (rows, groups, totals), the least recently used dropped first
    once they take more than `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.hits = self.misses = 0
        self.fetched = 0  # rows read whole from the table
        self._rows: OrderedDict[Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # web requests read in threads

    def __len__(self) -> int:
        return len(self._rows)

    def holds(self, key: Key) -> bool:
        """Whether some version of `key` is kept."""
        with self._lock:
            return key in self._rows

    def get(self, key: Key, version: object) -> object | None:
        """The value kept for this version of `key`, if any."""
        with self._lock:
            entry = self._rows.get(key)
            if entry is None or entry.version != version:
                self.misses += 1
                return None
            self._rows.move_to_end(key)
            self.hits += 1
            return entry.value

    def put(self, key: Key, version: object, value: object, size: int) -> None:
        """Keeps `value` (`size` bytes) for this version; the version's text counts too (a
        year's total is known by every row's version: ~200 KB by organisation)."""
        size += OVERHEAD + (len(version) if isinstance(version, str) else 0)
        with self._lock:
            old = self._rows.pop(key, None)
            if old is not None:
                self.size -= old.size
            if size > self.limit:
                return
            self._rows[key] = _Entry(version, value, size)
            self.size += size
            while self.size > self.limit:
                _, dropped = self._rows.popitem(last=False)
                self.size -= dropped.size


_shared: AnalyticsCache | None = None
_shared_lock = threading.Lock()


def shared() -> AnalyticsCache:
    """The process's cache, sized by SUZ_ANALYTICS_CACHE_MB."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = AnalyticsCache(Settings.from_env().analytics_cache_mb * 2**20)
        return _shared


@dataclass
class Group:
    """Rows added up: their numbers (analytics_days.NUMBERS) and each measure's durations (in no
    order); `figures`, once the report computed them. `owned`, per measure: the array is this
    group's alone and not yet shared, so it may be partitioned in place."""

    numbers: list[int]
    arrays: tuple[Durations, ...]
    owned: tuple[bool, ...]
    figures: object = None

    @classmethod
    def of(cls, rows: Sequence[tuple[Sequence[int], Sequence[Durations]]]) -> Group:
        numbers = [sum(column) for column in zip(*(r[0] for r in rows), strict=True)]
        joined = [_joined([r[1][m] for r in rows]) for m in range(len(days.MEASURES))]
        return cls(
            numbers or [0] * len(days.NUMBERS),
            tuple(values for values, _ in joined),
            tuple(owned for _, owned in joined),
        )

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays) + FIGURES


def _joined(arrays: list[Durations]) -> tuple[Durations, bool]:
    """One array of them all, and whether it is a new one (else a row's own, when it is alone:
    shared arrays are never changed)."""
    some = [a for a in arrays if len(a)]
    if len(some) > 1:
        return np.concatenate(some), True
    return (some[0] if some else EMPTY), False


@dataclass(frozen=True)
class Period:
    """A report's groups (by the dimension's value) read through the cache; `store`, `scope`
    and `version` name the whole (for its total); `fresh`, the groups added up now, kept by
    `keep` (once their figures are computed: until then their arrays are this thread's)."""

    groups: dict[str, Group]
    store: object
    scope: object
    version: str
    fresh: dict[str, str]  # name -> the versions of its rows
    cache: AnalyticsCache

    def keep(self) -> None:
        for name, versions in self.fresh.items():
            group = self.groups[name]
            group.owned = (False,) * len(group.arrays)  # shared from now on
            self.cache.put((self.store, "group", self.scope, name), versions, group, group.nbytes)


# a row's version: the transaction that wrote it and its duration sums
VERSION = "concat_ws(chr(31), xmin, fr_sum, res_sum, handle_sum)"


def read(tx: Tx, where: str, params: Sequence[str], by: str, cache: AnalyticsCache) -> Period:
    """The per-day rows matching `where` added up per value of the SQL expression `by`, each
    group from `cache` where all its rows are at the versions kept. Run inside `db.snapshot`:
    the two reads must see the same rows."""
    store = tx.one(
        "SELECT pg_postmaster_start_time()::text, current_database(),"
        " 'v_analytics_days'::regclass::oid::bigint"
    )
    listed = tx.all(
        f"SELECT {by}, string_agg(concat_ws(chr(31), dim, day, key, {VERSION}), chr(30)"
        f" ORDER BY dim, day, key) FROM v_analytics_days WHERE {where} GROUP BY 1",
        params,
    )
    scope = (where, tuple(params), by)
    groups: dict[str, Group] = {}
    stale: dict[str, str] = {}  # groups not kept at these versions: name -> versions
    changed: list[str] = []  # of them, those kept at another version: read row by row
    for name, versions in listed:
        key = (store, "group", scope, str(name))
        kept = cache.get(key, versions)
        if isinstance(kept, Group):
            groups[str(name)] = kept
            continue
        stale[str(name)] = versions
        if cache.holds(key):
            changed.append(str(name))
    if changed:
        wanted = [r for name in changed for r in stale[name].split(ROW)]
        rows = _rows(tx, store, wanted, cache, f"({where}) AND {by} = ANY(%s::text[])",
                     [*params, changed])  # fmt: skip
        for name in changed:
            groups[name] = Group.of([rows[r] for r in stale[name].split(ROW)])
    if len(changed) < len(stale):  # never read (cold): added up by PostgreSQL, as before
        new = [name for name in stale if name not in groups]
        groups.update(_added_up(tx, f"({where}) AND {by} = ANY(%s::text[])", [*params, new], by))
    whole = ROW.join(f"{name}{FIELD}{versions}" for name, versions in listed)
    return Period(groups, store, scope, whole, stale, cache)


def _added_up(tx: Tx, where: str, params: Sequence[object], by: str) -> dict[str, Group]:
    """The groups of the rows matching `where`, each added up by PostgreSQL (sums, joined
    arrays): a cold read sends a year's durations in ~900 values, not one per row."""
    numbers = ", ".join(f"SUM({c})" for c in days.NUMBERS)
    arrays = ", ".join(f"string_agg({m}, ''::bytea)" for m in days.MEASURES)
    rows = tx.all(
        f"SELECT {by}, {numbers}, {arrays} FROM v_analytics_days WHERE {where} GROUP BY 1",
        params,
        binary=True,
    )
    split = 1 + len(days.NUMBERS)
    return {
        str(row[0]): Group(
            [int(n) for n in row[1:split]],
            tuple(np.frombuffer(bytes(b or b""), dtype="<i8") for b in row[split:]),
            (False,) * len(days.MEASURES),  # a buffer of psycopg's: read-only
        )
        for row in rows
    }


RowValue = tuple[tuple[int, ...], tuple[Durations, ...]]


def _rows(tx: Tx, store: object, wanted: list[str], cache: AnalyticsCache, groups: str,
          params: Sequence[object]) -> dict[str, RowValue]:  # fmt: skip
    """Each wanted row ("dim, day, key, version" joined by FIELD) from `cache`, or fetched: by
    key when a few are missing, else every row of their `groups` (the SQL condition)."""
    out: dict[str, RowValue] = {}
    missing: dict[tuple[str, str, str], tuple[str, str]] = {}  # -> (wanted, its version)
    for text in wanted:
        dim, day, key, version = text.split(FIELD, 3)
        kept = cache.get((store, "row", dim, day, key), version)
        if isinstance(kept, tuple):
            out[text] = kept
        else:
            missing[(dim, day, key)] = (text, version)
    if not missing:
        return out
    head = f"SELECT dim, day, key, {VERSION}, {', '.join(days.NUMBERS)}, {', '.join(days.MEASURES)}"
    if len(missing) > len(wanted) // 2:  # cold: one scan, no list of keys to send
        fetched = tx.all(f"{head} FROM v_analytics_days WHERE {groups}", params, binary=True)
    else:
        fetched = tx.all(
            f"{head} FROM v_analytics_days WHERE (dim, day, key)"
            " IN (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
            [[k[i] for k in missing] for i in range(3)],
            binary=True,
        )
    for row in fetched:
        dim, day, key = str(row[0]), str(row[1]), str(row[2])
        if (dim, day, key) not in missing:
            continue  # kept already
        text, version = missing.pop((dim, day, key))
        cache.fetched += 1
        if row[3] != version:  # not one snapshot
            raise RuntimeError(f"analytics row {(dim, day, key)} changed between two reads")
        arrays = tuple(np.frombuffer(bytes(b), dtype="<i8") for b in row[-3:])
        value = (tuple(row[4 : 4 + len(days.NUMBERS)]), arrays)
        cache.put((store, "row", dim, day, key), version, value, sum(a.nbytes for a in arrays))
        out[text] = value
    if missing:
        raise RuntimeError(f"analytics rows {list(missing)[:3]} vanished between two reads")
    return out
