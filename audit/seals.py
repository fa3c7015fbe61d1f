"""Seals of the log's head (domain/seals.py), kept in the views database (`audit_seals`):
made every SUZ_SEAL_INTERVAL seconds by the `Sealer` when the log moved, on demand from /audit
or `suz seal`, and checked against the store (`audit_seal_checks`). The routes that serve them
are web/audit_seals.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from audit.keys import signing_key
from audit.shipping import ship
from domain.desk import Desk
from domain.seals import Seal, SealReport, check_seals, next_seal
from domain.settings import Settings
from processes.process import Process
from projections.db import ViewDB

log = logging.getLogger("suz.seals")
_COLUMNS = "number, after_position, position, events, digest, previous, sealed_at, signature"
DDL = [
    "CREATE TABLE IF NOT EXISTS audit_seals (number BIGINT PRIMARY KEY,"
    " after_position BIGINT NOT NULL, position BIGINT NOT NULL, events BIGINT NOT NULL,"
    " digest TEXT NOT NULL, previous TEXT NOT NULL, sealed_at TEXT NOT NULL,"
    " signature TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_seal_checks (id BIGINT PRIMARY KEY,"
    " started_at TEXT NOT NULL, finished_at TEXT, report TEXT)",
    # the last seal each URL acknowledged (audit/shipping.py); files keep their own count
    "CREATE TABLE IF NOT EXISTS audit_seal_shipped (target TEXT PRIMARY KEY,"
    " number BIGINT NOT NULL)",
]  # made by web/migrations.py


def _seal(row: tuple[Any, ...]) -> Seal:
    return Seal(int(row[0]), int(row[1]), int(row[2]), int(row[3]), *map(str, row[4:8]))


def all_seals(db: ViewDB) -> list[Seal]:
    with db.read() as tx:
        return [_seal(r) for r in tx.all(f"SELECT {_COLUMNS} FROM audit_seals ORDER BY number")]


def last_seal(db: ViewDB) -> Seal | None:
    with db.read() as tx:
        row = tx.one(f"SELECT {_COLUMNS} FROM audit_seals ORDER BY number DESC LIMIT 1")
    return _seal(row) if row else None


def make_seal(settings: Settings, desk: Desk, db: ViewDB) -> Seal | None:
    """Seals the log up to its head; None when nothing was stored since the last seal.

    The table is locked while the seal is computed, so two processes never seal at once."""
    key = signing_key(settings)
    with db.tx() as tx:
        if tx.dialect == "postgres":
            tx.execute("LOCK TABLE audit_seals IN EXCLUSIVE MODE")
        row = tx.one(f"SELECT {_COLUMNS} FROM audit_seals ORDER BY number DESC LIMIT 1")
        seal = next_seal(desk, _seal(row) if row else None, key.sign)
        if seal is None:
            return None
        tx.execute(
            f"INSERT INTO audit_seals ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                seal.number,
                seal.after,
                seal.position,
                seal.events,
                seal.digest,
                seal.previous,
                seal.sealed_at,
                seal.signature,
            ),
        )
    return seal


class Sealer(Process):
    """Seals the log's head every `interval` seconds, when it moved."""

    name = "sealer"

    def __init__(self, settings: Settings, desk: Desk, db: ViewDB) -> None:
        super().__init__(db, settings.seal_interval)
        self.settings, self.desk = settings, desk

    def tick(self) -> int:
        seal = make_seal(self.settings, self.desk, self.db)
        if seal is not None:
            log.info("sealed the log up to position %s (seal %s)", seal.position, seal.number)
        if self.settings.seal_to:  # what failed to ship last time goes now
            try:
                ship(self.db, all_seals(self.db), self.settings.seal_to)
            except (OSError, ValueError, httpx.HTTPError):
                log.exception("could not ship the seals to %s; retrying", self.settings.seal_to)
        return int(seal is not None)


# -- checks against the seals -------------------------------------------------------------------
@dataclass(frozen=True)
class SealCheck:
    id: int
    started_at: str
    finished_at: str | None
    report: dict[str, Any] | None

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def ok(self) -> bool:
        return self.report is not None and not self.report["problems"]


def report_json(report: SealReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "seals": report.seals,
        "events": report.events,
        "sealed_to": report.sealed_to,
        "head": report.head,
        "problems": [
            {
                "seal": p.number,
                "after": p.after,
                "position": p.position,
                "kind": p.kind,
                "detail": p.detail,
            }
            for p in report.problems
        ],
    }


def run_seal_check(settings: Settings, desk: Desk, db: ViewDB) -> SealReport:
    """Checks the stored seals against the store, with the current public key."""
    return check_seals(desk, all_seals(db), signing_key(settings).public_key())


def last_seal_check(db: ViewDB) -> SealCheck | None:
    with db.read() as tx:
        row = tx.one(
            "SELECT id, started_at, finished_at, report FROM audit_seal_checks"
            " ORDER BY id DESC LIMIT 1"
        )
    if row is None:
        return None
    return SealCheck(row[0], row[1], row[2], orjson.loads(row[3]) if row[3] else None)


def finish_seal_check(settings: Settings, desk: Desk, db: ViewDB, number: int) -> None:
    """Runs check `number` (its row recorded as started) and records its report."""
    try:
        result = report_json(run_seal_check(settings, desk, db))
    except Exception as e:  # the check itself failed: say so as its result
        error = {"seal": 0, "after": 0, "position": 0, "kind": "error",
                 "detail": f"the check could not run: {e}"}  # fmt: skip
        result = {"ok": False, "seals": 0, "events": 0, "sealed_to": 0, "head": 0,
                  "problems": [error]}  # fmt: skip
    with db.tx() as tx:
        tx.execute(
            "UPDATE audit_seal_checks SET finished_at = %s, report = %s WHERE id = %s",
            (datetime.now(UTC).isoformat(), orjson.dumps(result).decode(), number),
        )
