"""Which supervised parts keep failing: a view's runner or a background process records each
failure in a row of the view store, and removes the row once it works again.

The row lives in the store, not in memory, because the part that fails may run in another process
(`suz serve --no-views` plus a view process, or several workers where one holds a view's lock)
than the one asked by `/health` or `/metrics`. A part counts as failing from `REPEATED`
consecutive failures on: one failure that the next attempt repairs (a dropped connection) is
not worth an alarm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from projections.db import Tx, ViewDB

log = logging.getLogger("suz.projections")
REPEATED = 3

FAILURES_DDL = (
    "CREATE TABLE IF NOT EXISTS v_failures (part TEXT PRIMARY KEY, since TEXT NOT NULL,"
    " failures INTEGER NOT NULL, error TEXT NOT NULL)"
)


@dataclass(frozen=True)
class Failing:
    kind: str  # "view" or "process"
    name: str
    since: str  # ISO 8601, UTC: the first failure of this run of failures
    failures: int  # consecutive
    error: str  # the last error's class


def failed(db: ViewDB, kind: str, name: str, error: BaseException) -> None:
    """Counts one more consecutive failure of `kind:name`; never raises (the store may be the
    thing that is down: the caller goes on retrying, and the next record succeeds)."""
    try:
        with db.tx() as tx:
            tx.execute(
                "INSERT INTO v_failures (part, since, failures, error) VALUES (%s, %s, 1, %s)"
                " ON CONFLICT (part) DO UPDATE"
                " SET failures = v_failures.failures + 1, error = excluded.error",
                (f"{kind}:{name}", datetime.now(UTC).isoformat(), type(error).__name__),
            )
    except Exception:
        log.warning("could not record the failure of %s %s", kind, name, exc_info=True)


def recovered(db: ViewDB, kind: str, *names: str) -> None:
    """Forgets the failures of `kind:name` for each name, in one statement; raises like any
    write (the caller's loop handles it)."""
    if not names:
        return
    marks = ", ".join(["%s"] * len(names))
    with db.tx() as tx:
        tx.execute(f"DELETE FROM v_failures WHERE part IN ({marks})",
                   [f"{kind}:{name}" for name in names])  # fmt: skip


def failing(tx: Tx) -> list[Failing]:
    """The parts that failed at least REPEATED times in a row, by name."""
    rows = tx.all(
        "SELECT part, since, failures, error FROM v_failures WHERE failures >= %s ORDER BY part",
        (REPEATED,),
    )
    found = []
    for part, since, failures, error in rows:
        kind, _, name = str(part).partition(":")
        found.append(Failing(kind, name, str(since), int(failures), str(error)))
    return found


def failures(tx: Tx) -> dict[str, int]:
    """Consecutive failures per `kind:name` that failed at least once (for the metrics)."""
    return {str(p): int(n) for p, n in tx.all("SELECT part, failures FROM v_failures")}
