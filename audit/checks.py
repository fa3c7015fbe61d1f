"""Full-store integrity checks' records (`audit_checks` in the views database): each check a
row, its result kept when it finishes. Started in the background by web/audit_export.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.desk import Desk
from domain.integrity import Report, verify
from projections.db import ViewDB


@dataclass(frozen=True)
class Check:
    id: int
    started_at: str
    finished_at: str | None
    events: int
    aggregates: int
    problems: list[dict[str, Any]]

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def ok(self) -> bool:
        return not self.running and not self.problems


DDL = (  # made by web/migrations.py with every other table
    "CREATE TABLE IF NOT EXISTS audit_checks (id BIGINT PRIMARY KEY,"
    " started_at TEXT NOT NULL, finished_at TEXT, events BIGINT NOT NULL DEFAULT 0,"
    " aggregates BIGINT NOT NULL DEFAULT 0, problems TEXT NOT NULL DEFAULT '[]')"
)


def last_check(db: ViewDB) -> Check | None:
    with db.read() as tx:
        row = tx.one(
            "SELECT id, started_at, finished_at, events, aggregates, problems"
            " FROM audit_checks ORDER BY id DESC LIMIT 1"
        )
    if row is None:
        return None
    return Check(row[0], row[1], row[2], row[3], row[4], orjson.loads(row[5]))


def run_check(desk: Desk, db: ViewDB, number: int) -> None:
    """Runs check `number` (its row recorded as started) over the whole store; records it."""
    try:
        report: Report = verify(desk)
        problems = [
            {
                "aggregate_id": str(p.aggregate_id),
                "version": p.version,
                "position": p.position,
                "kind": p.kind,
                "detail": p.detail,
            }
            for p in report.problems
        ]
        events, aggregates = report.events, report.aggregates
    except Exception as e:  # the check itself failed: say so as its result
        problems = [
            {
                "aggregate_id": "",
                "version": 0,
                "position": 0,
                "kind": "error",
                "detail": f"the check could not run: {e}",
            }
        ]
        events = aggregates = 0
    with db.tx() as tx:
        tx.execute(
            "UPDATE audit_checks SET finished_at = %s, events = %s, aggregates = %s,"
            " problems = %s WHERE id = %s",
            (
                datetime.now(UTC).isoformat(),
                events,
                aggregates,
                orjson.dumps(problems).decode(),
                number,
            ),
        )


def check_json(check: Check | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "id": check.id,
        "started_at": check.started_at,
        "finished_at": check.finished_at,
        "running": check.running,
        "ok": check.ok,
        "events": check.events,
        "aggregates": check.aggregates,
        "problems": check.problems,
    }
