"""Seals shipped off the host as they are made, so a copy exists that whoever holds the server
cannot rewrite: `suz seal --to FILE|URL`, and the Sealer with SUZ_SEAL_TO.

- A file (a path; put it on another machine's mount, append-only storage, WORM media): every
  seal not yet in it is appended as one JSON line, then flushed and fsynced. The file's own last
  line says how far it got, so a run that failed halfway resumes; lines are never rewritten.
- A URL (http:// or https://): every seal not yet acknowledged is POSTed as JSON, in order; the
  last number a URL answered 2xx for is kept in `audit_seal_shipped`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from domain.seals import Seal
from projections.db import ViewDB

TIMEOUT = 10.0


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def ship(db: ViewDB, seals: list[Seal], target: str) -> int:
    """Ships the seals `target` does not have yet; how many were shipped."""
    if is_url(target):
        return _post(db, seals, target)
    return _append(seals, Path(target))


def _last_line(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    with path.open("rb") as f:  # a seal's line is ~400 bytes: the tail holds the last one
        start = f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
        tail = f.read().splitlines()[1 if start else 0 :]  # past a cut, the first is partial
    lines = [line for line in tail if line.strip()]
    return dict(json.loads(lines[-1])) if lines else None


def _append(seals: list[Seal], path: Path) -> int:
    last = _last_line(path)
    shipped = int(last["number"]) if last else 0
    new = [s for s in seals if s.number > shipped]
    if not new:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: every write lands at the end, whatever else writes to the file
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "wb") as f:
        for seal in new:
            f.write(json.dumps(seal.to_json(), sort_keys=True).encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return len(new)


def _post(db: ViewDB, seals: list[Seal], url: str) -> int:
    with db.read() as tx:
        row = tx.one("SELECT number FROM audit_seal_shipped WHERE target = %s", (url,))
    shipped, count = int(row[0]) if row else 0, 0
    with httpx.Client(timeout=TIMEOUT) as client:
        for seal in (s for s in seals if s.number > shipped):
            client.post(url, json=seal.to_json()).raise_for_status()
            with db.tx() as tx:
                tx.execute(
                    "INSERT INTO audit_seal_shipped (target, number) VALUES (%s, %s)"
                    " ON CONFLICT (target) DO UPDATE SET number = excluded.number",
                    (url, seal.number),
                )
            count += 1
    return count
