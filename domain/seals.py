"""Signed seals of the event log's head: any event deleted, changed or inserted under a seal is
found, an aggregate's last events included, which its hash chain alone cannot show.

Seal k covers the log positions (after, position]. Its digest is sha256 over the previous
seal's digest (32 bytes) and then, for each stored event in that range in log order, the line
`position aggregate_id version topic sha256(stored state)\n`. The seal is signed (Ed25519) over
the canonical JSON of its fields, so a copy kept outside the desk can be checked later against
the store (`suz seal --check`) or a period export (scripts/verify_export.py, without suz).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.application import Application
from eventsourcing.persistence import Notification

FORMAT = "suz-seal/1"
GENESIS = "0" * 64
BATCH = 1000


def event_line(
    position: int, aggregate_id: object, version: int, topic: str, state: bytes
) -> bytes:
    """What a seal's digest takes of one stored event."""
    state_hash = hashlib.sha256(state).hexdigest()
    return f"{position} {UUID(str(aggregate_id))} {version} {topic} {state_hash}\n".encode()


class Fold:
    """The running digest of one seal's range."""

    def __init__(self, previous: str) -> None:
        self._hash = hashlib.sha256(bytes.fromhex(previous))
        self.events = 0

    def add(self, line: bytes) -> None:
        self._hash.update(line)
        self.events += 1

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()


@dataclass(frozen=True)
class Seal:
    """The signed statement "the log up to `position` is exactly this"."""

    number: int
    after: int  # the previous seal's position (0 for the first)
    position: int
    events: int  # events stored in (after, position] when sealed
    digest: str
    previous: str  # the previous seal's digest (GENESIS for the first)
    sealed_at: str
    signature: str = ""  # base64 Ed25519 over `body()`

    def fields(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "number": self.number,
            "after": self.after,
            "position": self.position,
            "events": self.events,
            "digest": self.digest,
            "previous": self.previous,
            "sealed_at": self.sealed_at,
        }

    def body(self) -> bytes:
        """The canonical bytes that are signed."""
        return json.dumps(self.fields(), sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> dict[str, Any]:
        return {**self.fields(), "signature": self.signature}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Seal:
        return cls(
            int(data["number"]),
            int(data["after"]),
            int(data["position"]),
            int(data["events"]),
            str(data["digest"]),
            str(data["previous"]),
            str(data["sealed_at"]),
            str(data.get("signature", "")),
        )

    def signed_by(self, key: Ed25519PublicKey) -> bool:
        try:
            key.verify(base64.b64decode(self.signature, validate=True), self.body())
        except (InvalidSignature, ValueError):
            return False
        return True


def stored_lines(app: Application[UUID], after: int, upto: int) -> Iterator[bytes]:
    """The digest lines of the stored events in (after, upto], read in batches."""
    start = after + 1
    while start <= upto:
        batch: Sequence[Notification] = app.recorder.select_notifications(
            start=start, limit=BATCH, stop=upto
        )
        if not batch:
            return
        for n in batch:
            yield event_line(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state))
        start = batch[-1].id + 1


def fold(previous: str, lines: Iterable[bytes]) -> Fold:
    running = Fold(previous)
    for line in lines:
        running.add(line)
    return running


def next_seal(
    app: Application[UUID], last: Seal | None, sign: Callable[[bytes], bytes]
) -> Seal | None:
    """The seal of everything stored after `last`; None when the log has not moved since."""
    head = app.recorder.max_notification_id() or 0
    after, previous = (last.position, last.digest) if last else (0, GENESIS)
    if head <= after:
        return None
    running = fold(previous, stored_lines(app, after, head))
    seal = Seal(
        number=(last.number if last else 0) + 1,
        after=after,
        position=head,
        events=running.events,
        digest=running.digest,
        previous=previous,
        sealed_at=datetime.now(UTC).isoformat(),
    )
    return replace(seal, signature=base64.b64encode(sign(seal.body())).decode())


@dataclass(frozen=True)
class SealProblem:
    """One seal that the store (or the other seals) no longer agree with."""

    number: int
    after: int
    position: int
    kind: str  # changed | signature | sequence
    detail: str


@dataclass
class SealReport:
    seals: int = 0
    events: int = 0  # events found under the seals
    sealed_to: int = 0  # the last seal's position
    head: int = 0  # the log's head when checked: events after sealed_to are not sealed yet
    problems: list[SealProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def sequence_problems(seals: Sequence[Seal], key: Ed25519PublicKey) -> list[SealProblem]:
    """Bad signatures, and seals that do not follow the one before (one removed or replaced)."""
    problems = []
    before: Seal | None = None
    for seal in seals:

        def problem(kind: str, detail: str, seal: Seal = seal) -> None:
            problems.append(SealProblem(seal.number, seal.after, seal.position, kind, detail))

        if not seal.signed_by(key):
            problem("signature", "the signature does not match the seal or the public key")
        if before is None:
            if seal.number == 1 and (seal.after, seal.previous) != (0, GENESIS):
                problem("sequence", "the first seal does not start at the log's beginning")
        elif seal.number != before.number + 1:
            problem("sequence", f"seals {before.number + 1}..{seal.number - 1} are missing")
        elif (seal.after, seal.previous) != (before.position, before.digest):
            problem("sequence", f"the seal does not continue seal {before.number}")
        before = seal
    return problems


def check_seals(app: Application[UUID], seals: Sequence[Seal], key: Ed25519PublicKey) -> SealReport:
    """Recomputes each seal's digest from the store and checks the seals' signatures and order."""
    ordered = sorted(seals, key=lambda s: s.number)
    report = SealReport(seals=len(ordered), head=app.recorder.max_notification_id() or 0)
    report.problems = sequence_problems(ordered, key)
    for seal in ordered:
        running = fold(seal.previous, stored_lines(app, seal.after, seal.position))
        report.events += running.events
        if running.digest != seal.digest:
            report.problems.append(
                SealProblem(
                    seal.number,
                    seal.after,
                    seal.position,
                    "changed",
                    f"the events no longer match the seal ({running.events} stored there now, "
                    f"{seal.events} when sealed): events in this range were deleted, changed "
                    "or inserted",
                )
            )
    report.sealed_to = ordered[-1].position if ordered else 0
    report.problems.sort(key=lambda p: (p.number, p.kind))
    return report
