"""Signed exports of stored events: a ticket's (`build_export`) or a period's, streamed
(`period_zip`). An export is a zip of `events.jsonl` (one stored event a line: aggregate,
version, topic, timestamp, chain hash and the state exactly as stored), `manifest.json` (the
sha256 of the JSONL, the count, the version and time range, when it was made), `manifest.sig`
(the Ed25519 signature of manifest.json's bytes, base64) and the public key.
`python -m scripts.verify_export` checks one. The routes are web/audit_export.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Notification

from audit.keys import pem, public_pem, signing_key
from domain.desk import Desk
from domain.settings import Settings

FORMAT = "suz-export/1"
# Secrets that old stores kept in events (password hashes): never exported (docs/audit.md).
SECRET_FIELDS = {"domain.people:Account.PasswordSet": ("password_hash",)}
REDACTED = "[redacted]"


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
        z.writestr("public_key.pem", pem(key))
    yield out.drain()
