"""The auditor's evidence: signed exports of a ticket's stored events, and integrity checks.

An export is a zip of `events.jsonl` (one stored event a line: aggregate, version, topic,
timestamp, chain hash and the state exactly as stored), `manifest.json` (the sha256 of the
JSONL, the count, the version and time range, when it was made) and `manifest.sig` (the
Ed25519 signature of manifest.json's bytes, base64). `python -m scripts.verify_export` checks
one with the public key from `GET /api/v1/audit/public-key`. A period export is streamed: the
zip is written while the log is read, so it has no size limit and memory stays flat.

The signing key is the PEM private key at `SUZ_SIGNING_KEY`; without it, one is generated
into the data folder on first use. Full-store checks run in the thread pool; the last one's
result is kept in the views database (`audit_checks`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Notification
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from domain.access import Actor
from domain.desk import Desk
from domain.errors import Forbidden, InvalidInput
from domain.integrity import Report, verify
from domain.people import Role
from domain.settings import Settings
from projections.db import ViewDB
from web import background
from web.api import json
from web.auth import authenticate, services, signed_in
from web.body import path_id

FORMAT = "suz-export/1"
AUDIT_ROLES = (Role.AUDITOR, Role.CURATOR, Role.ADMIN)
# Secrets that old stores kept in events (password hashes): never exported (docs/audit.md).
SECRET_FIELDS = {"domain.people:Account.PasswordSet": ("password_hash",)}
REDACTED = "[redacted]"
_keys: dict[str, Ed25519PrivateKey] = {}
_key_lock = threading.Lock()


# -- the signing key ----------------------------------------------------------------------------
def key_path(settings: Settings) -> Path:
    return settings.signing_key_file


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The operator's key (SUZ_SIGNING_KEY), or one generated into the data folder once."""
    path = key_path(settings)
    with _key_lock:
        found = _keys.get(str(path))
        if found is not None:
            return found
        if not path.exists():
            if settings.signing_key is not None or not settings.demo:  # generated in demo only
                raise RuntimeError(f"the signing key {path} does not exist (SUZ_SIGNING_KEY)")
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError(f"{path} is not an Ed25519 private key")
        _keys[str(path)] = key
        return key


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_pem(settings: Settings) -> bytes:
    return _pem(signing_key(settings))


# -- exports ------------------------------------------------------------------------------------
def exported_state(topic: str, state: bytes) -> dict[str, Any]:
    """The `state` of an export line: the stored state as it is, except an event that carries a
    secret. Its secret fields read "[redacted]" (the whole state, if it is not readable JSON),
    `redacted` names them, and `state_sha256` is the sha256 of the stored bytes, so the seals'
    digests still verify against the export (scripts/verify_export.py uses it)."""
    fields = SECRET_FIELDS.get(topic)
    if fields is None:
        return {"state": state.decode("utf-8", "replace")}
    try:
        data = orjson.loads(state)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        for name in fields:
            if name in data:
                data[name] = REDACTED
        shown = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except ValueError:
        shown = REDACTED
    return {"state": shown, "redacted": list(fields),
            "state_sha256": hashlib.sha256(state).hexdigest()}  # fmt: skip


def event_lines(desk: Desk, aggregate_id: UUID) -> list[dict[str, Any]]:
    """The aggregate's stored events, each with its decoded timestamp and chain hash."""
    lines = []
    for stored in desk.recorder.select_events(aggregate_id):
        try:
            event: Any = desk.mapper.to_domain_event(stored)
            timestamp, chain = event.timestamp.isoformat(), getattr(event, "chain", None)
        except Exception:  # a tampered row is exported as it is
            timestamp, chain = None, None
        lines.append(
            {
                "aggregate_id": str(aggregate_id),
                "version": stored.originator_version,
                "topic": stored.topic,
                "timestamp": timestamp,
                "chain": chain,
                **exported_state(stored.topic, bytes(stored.state)),
            }
        )
    return lines


def build_export(settings: Settings, lines: list[dict[str, Any]], **about: Any) -> bytes:
    """The zip: events.jsonl, manifest.json and its Ed25519 signature."""
    jsonl = b"".join(orjson.dumps(line, option=orjson.OPT_SORT_KEYS) + b"\n" for line in lines)
    times = [line["timestamp"] for line in lines if line["timestamp"]]
    manifest = {
        "format": FORMAT,
        "file": "events.jsonl",
        "sha256": hashlib.sha256(jsonl).hexdigest(),
        "count": len(lines),
        "first_version": lines[0]["version"] if lines else None,
        "last_version": lines[-1]["version"] if lines else None,
        "from": min(times, default=None),
        "to": max(times, default=None),
        "created_at": datetime.now(UTC).isoformat(),
        "algorithm": "Ed25519",
        **about,
    }
    body = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    signature = base64.b64encode(signing_key(settings).sign(body))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("events.jsonl", jsonl)
        z.writestr("manifest.json", body)
        z.writestr("manifest.sig", signature + b"\n")
        z.writestr("public_key.pem", public_pem(settings))
    return buffer.getvalue()


def export_ticket(settings: Settings, desk: Desk, actor: Actor, ticket_id: UUID) -> bytes:
    ticket = desk.ticket(actor, ticket_id)  # 404 for who may not see it
    if not actor.is_staff:
        raise Forbidden("Exports hold the whole history, internal notes included: staff only.")
    lines = event_lines(desk, ticket_id)
    return build_export(settings, lines, aggregate_id=str(ticket_id), ticket_number=ticket.number)


async def ticket_export(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    ticket_id = path_id(request, "ticket_id", "request")
    svc = services(request)
    data = await run_in_threadpool(export_ticket, svc.settings, svc.desk, actor, ticket_id)
    name = f"suz-ticket-{ticket_id}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class _Chunks:
    """A write-only, non-seekable file: the zip is written into it and drained as it grows."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _period_line(
    desk: Desk, n: Notification, start: datetime, end: datetime
) -> tuple[bytes, str | None] | None:
    """The export's line for a stored event and its time, or None when it was recorded outside
    the period."""
    try:
        event: Any = desk.mapper.to_domain_event(n)
        moment, chain = event.timestamp, getattr(event, "chain", None)
    except Exception:  # a tampered row is exported as it is, and the check names it
        moment, chain = None, None
    if moment is not None and not start <= moment < end:
        return None
    at = moment.isoformat() if moment else None
    line = {
        "position": n.id,
        "aggregate_id": str(n.originator_id),
        "version": n.originator_version,
        "topic": n.topic,
        "timestamp": at,
        "chain": chain,
        **exported_state(n.topic, bytes(n.state)),
    }
    return orjson.dumps(line, option=orjson.OPT_SORT_KEYS) + b"\n", at


def period_zip(
    desk: Desk, key: Ed25519PrivateKey, start: datetime, end: datetime, **about: Any
) -> Iterator[bytes]:
    """The zip of every stored event recorded in [start, end), in log order, as it is written:
    the log is read in batches of 1,000 up to its head when the export began, events.jsonl is
    hashed as it goes, and the signed manifest follows it. Memory stays flat at any size."""
    out, digest = _Chunks(), hashlib.sha256()
    count, first, last = 0, None, None
    earliest: str | None = None
    latest: str | None = None
    head, after = desk.recorder.max_notification_id() or 0, 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("events.jsonl", "w", force_zip64=True) as f:
            while after < head:
                batch = desk.recorder.select_notifications(start=after + 1, limit=1000, stop=head)
                if not batch:
                    break
                for n in batch:
                    found = _period_line(desk, n, start, end)
                    if found is None:
                        continue
                    line, moment = found
                    f.write(line)
                    digest.update(line)
                    count += 1
                    first = first or (n.id, n.originator_version)
                    last = (n.id, n.originator_version)
                    if moment:
                        earliest = min(earliest or moment, moment)
                        latest = max(latest or moment, moment)
                after = batch[-1].id
                yield out.drain()
        manifest = {
            "format": FORMAT,
            "file": "events.jsonl",
            "sha256": digest.hexdigest(),
            "count": count,
            "first_version": first[1] if first else None,
            "last_version": last[1] if last else None,
            "first_position": first[0] if first else None,
            "last_position": last[0] if last else None,
            "log_head": head,
            "from": earliest,
            "to": latest,
            "created_at": datetime.now(UTC).isoformat(),
            "algorithm": "Ed25519",
            **about,
        }
        body = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
        z.writestr("manifest.json", body)
        z.writestr("manifest.sig", base64.b64encode(key.sign(body)) + b"\n")
        z.writestr("public_key.pem", _pem(key))
    yield out.drain()


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"Give {name} as a date, YYYY-MM-DD.", [name]) from None


async def period_export(request: Request) -> Response:
    """The whole desk's events of a period (days in UTC, both included), signed."""
    actor = signed_in(await authenticate(request))
    if not may_audit(actor):
        raise Forbidden("Exports of a period are for auditors, curators and administrators.")
    first = _day(request.query_params.get("from", ""), "from")
    last = _day(request.query_params.get("to", ""), "to")
    if last < first:
        raise InvalidInput("The period ends before it starts.", ["to"])
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    svc = services(request)
    key = await run_in_threadpool(signing_key, svc.settings)  # a missing key fails before
    stream = period_zip(
        svc.desk, key, start, end, period_from=first.isoformat(), period_to=last.isoformat()
    )
    name = f"suz-events-{first}-{last}.zip"
    return StreamingResponse(  # a sync iterator: starlette drains it in the thread pool
        stream,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def public_key(request: Request) -> Response:
    pem = await run_in_threadpool(public_pem, services(request).settings)
    return Response(pem, media_type="application/x-pem-file")


# -- full-store checks --------------------------------------------------------------------------
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


def _run_check(desk: Desk, db: ViewDB, number: int) -> None:
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


async def start_full_check(desk: Desk, db: ViewDB) -> int | None:
    """Starts a whole-store verification in the thread pool; its id, or None if one runs."""
    return await background.start(db, "audit_checks", partial(_run_check, desk, db))


def may_audit(actor: Actor) -> bool:
    return actor.has(*AUDIT_ROLES)


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


async def get_last_check(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    if not may_audit(actor):
        raise Forbidden("Integrity checks are for auditors, curators and administrators.")
    check = await run_in_threadpool(last_check, services(request).projections.db)
    return json({"last": check_json(check)})


routes = [
    Route("/api/v1/tickets/{ticket_id}/export", ticket_export),
    Route("/api/v1/audit/public-key", public_key),
    Route("/api/v1/audit/export", period_export),
    Route("/api/v1/audit/checks/last", get_last_check),
]
