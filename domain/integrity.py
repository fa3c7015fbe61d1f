"""Verifies the hash chains of the whole event store: what `suz verify` and auditors run.

One pass over the log in order, keeping only the last (version, link) of each aggregate, so it
streams any size of store. It reports events changed, deleted, inserted or reordered in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from domain.chain import GENESIS, event_link

BATCH = 1000


@dataclass(frozen=True)
class Problem:
    """One place where the stored history is not what was written."""

    aggregate_id: UUID
    version: int
    position: int
    kind: str  # changed | missing | out_of_order | unreadable | snapshot_changed
    detail: str


@dataclass
class Report:
    events: int = 0
    aggregates: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _notifications(app: Application[UUID]) -> Iterator[Sequence[Notification]]:
    start = 1
    while True:
        batch = list(app.recorder.select_notifications(start=start, limit=BATCH))
        if not batch:
            return
        yield batch
        start = batch[-1].id + 1


def verify(app: Application[UUID], progress: Callable[[int], object] | None = None) -> Report:
    """Recomputes every aggregate's chain from the stored rows."""
    report = Report()
    heads: dict[UUID, tuple[int, str]] = {}
    links_at: dict[tuple[UUID, int], str] = {}
    for batch in _notifications(app):
        for n in batch:
            report.events += 1
            _check_one(app, n, heads, links_at, report)
        if progress:
            progress(len(batch))
    report.aggregates = len(heads)
    _check_snapshots(app, heads, links_at, report)
    return report


def _check_one(
    app: Application[UUID],
    n: Notification,
    heads: dict[UUID, tuple[int, str]],
    links_at: dict[tuple[UUID, int], str],
    report: Report,
) -> None:
    aggregate_id = UUID(str(n.originator_id))
    version, position = n.originator_version, n.id
    last_version, last_link = heads.get(aggregate_id, (0, GENESIS))

    def problem(kind: str, detail: str) -> None:
        report.problems.append(Problem(aggregate_id, version, position, kind, detail))

    if version <= last_version:
        problem("out_of_order", f"version {version} comes after version {last_version}")
        return
    if version != last_version + 1:
        problem("missing", f"versions {last_version + 1}..{version - 1} are missing")
    try:
        event = app.mapper.to_domain_event(n)
    except Exception as e:  # a tampered row may fail to decode in any way
        problem("unreadable", f"the stored event cannot be read: {e}")
        heads[aggregate_id] = (version, "")
        return
    stored = getattr(event, "chain", None)
    expected = event_link(last_link, event)
    if stored != expected:
        problem("changed", "the event does not match its hash chain")
    heads[aggregate_id] = (version, stored or "")
    links_at[(aggregate_id, version)] = stored or ""
    if version % 50:  # keep only the links snapshots can be taken at
        links_at.pop((aggregate_id, version), None)


def _check_snapshots(
    app: Application[UUID],
    heads: dict[UUID, tuple[int, str]],
    links_at: dict[tuple[UUID, int], str],
    report: Report,
) -> None:
    if app.snapshots is None:
        return
    for aggregate_id, (version, _) in heads.items():
        if version < 50:
            continue
        for stored in app.snapshots.recorder.select_events(aggregate_id):
            try:
                snapshot = app.mapper.to_domain_event(stored)
                chain = snapshot.state.get("chain")  # type: ignore[attr-defined]
            except Exception as e:
                chain = f"unreadable: {e}"
            if chain != links_at.get((aggregate_id, stored.originator_version)):
                report.problems.append(
                    Problem(
                        aggregate_id,
                        stored.originator_version,
                        0,
                        "snapshot_changed",
                        "the snapshot does not match the event it was taken at",
                    )
                )
