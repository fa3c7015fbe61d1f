"""Seals of the log's head (domain/seals.py), kept in the views database (`audit_seals`):
made every SUZ_SEAL_INTERVAL seconds by the `Sealer` when the log moved, on demand from /audit
or `suz seal`, and checked against the store in the background (`audit_seal_checks`).

`GET /api/v1/audit/seals` hands them out (JSON, or JSON Lines with `?format=jsonl`), so an
outside party can keep copies and check them later with scripts/verify_export.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.desk import Desk
from domain.errors import Forbidden
from domain.seals import Seal, SealReport, check_seals, next_seal
from domain.settings import Settings
from projections.db import ViewDB
from projections.process import Process
from web import background
from web.api import json
from web.audit_export import may_audit, public_pem, signing_key
from web.auth import authenticate, services, signed_in
from web.seal_shipping import ship

log = logging.getLogger("suz.seals")
_COLUMNS = "number, after_position, position, events, digest, previous, sealed_at, signature"
DDL = [
    "CREATE TABLE IF NOT EXISTS audit_seals (number BIGINT PRIMARY KEY,"
    " after_position BIGINT NOT NULL, position BIGINT NOT NULL, events BIGINT NOT NULL,"
    " digest TEXT NOT NULL, previous TEXT NOT NULL, sealed_at TEXT NOT NULL,"
    " signature TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_seal_checks (id BIGINT PRIMARY KEY,"
    " started_at TEXT NOT NULL, finished_at TEXT, report TEXT)",
    # the last seal each URL acknowledged (web/seal_shipping.py); files keep their own count
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


def _finish(settings: Settings, desk: Desk, db: ViewDB, number: int) -> None:
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


async def start_seal_check(settings: Settings, desk: Desk, db: ViewDB) -> int | None:
    """Starts a check against the seals in the thread pool; its id, or None if one runs."""
    return await background.start(db, "audit_seal_checks", partial(_finish, settings, desk, db))


# -- the API ------------------------------------------------------------------------------------
async def get_seals(request: Request) -> Response:
    """Every seal: JSON, or JSON Lines (one seal a line) with ?format=jsonl."""
    actor = signed_in(await authenticate(request))
    if not may_audit(actor):
        raise Forbidden("Seals are for auditors, curators and administrators.")
    svc = services(request)
    seals = await run_in_threadpool(all_seals, svc.projections.db)
    if request.query_params.get("format") == "jsonl":
        body = b"".join(orjson.dumps(s.to_json()) + b"\n" for s in seals)
        return Response(
            body,
            media_type="application/jsonl",
            headers={"Content-Disposition": 'attachment; filename="suz-seals.jsonl"'},
        )
    pem = await run_in_threadpool(public_pem, svc.settings)
    return json({"seals": [s.to_json() for s in seals], "public_key": pem.decode()})


async def get_last_seal_check(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    if not may_audit(actor):
        raise Forbidden("Seals are for auditors, curators and administrators.")
    check = await run_in_threadpool(last_seal_check, services(request).projections.db)
    if check is None:
        return json({"last": None})
    return json({"last": {"id": check.id, "started_at": check.started_at,
                          "finished_at": check.finished_at, "running": check.running,
                          "report": check.report}})  # fmt: skip


routes = [
    Route("/api/v1/audit/seals", get_seals),
    Route("/api/v1/audit/seals/checks/last", get_last_seal_check),
]
