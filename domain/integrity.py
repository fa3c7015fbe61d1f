"""Verifies the hash chains of the whole event store: what `suz verify` and auditors run.

One pass over the log in order, keeping only the last (version, link) of each aggregate, so it
streams any size of store. It reports events changed, deleted, inserted or reordered in place,
and snapshots whose state differs from what their events replay to.

Each event stored with a key carries a MAC of its link (domain/chain.py): an event whose chain
was recomputed after an edit, or one forged and appended with a valid chain, has no valid MAC
without the chain key (`forged`); an event without a MAC after one with a MAC, in the log or in
its aggregate, was written around the Desk (`unkeyed`).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from domain.chain import GENESIS, KeyedMapper, event_link, mac

BATCH = 1000


@dataclass(frozen=True)
class Problem:
    """One place where the stored history is not what was written."""

    aggregate_id: UUID
    version: int
    position: int
    kind: str  # changed | missing | out_of_order | unreadable | snapshot_changed | forged
    #            | unkeyed | no_key
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


@dataclass
class _Keys:
    """The MACs seen so far: keyed events must all be valid, and none unkeyed after them."""

    key: bytes | None
    first: int | None = None  # the log position of the first keyed event (whole-store check)
    keyed: set[UUID] = field(default_factory=set)  # aggregates with a keyed event so far
    told_no_key: bool = False

    @classmethod
    def of(cls, app: Application[UUID]) -> _Keys:
        mapper = app.mapper
        return cls(mapper.key if isinstance(mapper, KeyedMapper) else None)

    def read(self, app: Application[UUID], n: Notification) -> tuple[Any, str | None]:
        if isinstance(app.mapper, KeyedMapper):
            return app.mapper.read(n)
        return app.mapper.to_domain_event(n), None

    def check(self, n: Notification, aggregate_id: UUID, chain: Any, found: str | None,
              problem: Callable[[str, str], None]) -> None:  # fmt: skip
        if found is None:
            if aggregate_id in self.keyed:
                problem("unkeyed", "the event has no MAC, but earlier events of its aggregate "
                        "have one: it was written without the chain key")  # fmt: skip
            elif self.first is not None and n.id > self.first:
                problem("unkeyed", f"the event has no MAC, but the event at log position "
                        f"{self.first} has one: written without the chain key")  # fmt: skip
            return
        self.keyed.add(aggregate_id)
        if self.first is None and n.id:
            self.first = n.id
        if self.key is None:
            if not self.told_no_key:
                self.told_no_key = True
                problem("no_key", "events carry MACs but no chain key was given "
                        "(SUZ_CHAIN_KEY): their MACs were not checked")  # fmt: skip
        elif not isinstance(chain, str) or not hmac.compare_digest(mac(self.key, chain), found):
            problem("forged", "the event's MAC does not match its chain under the chain key: "
                    "it was written or rewritten by someone without the key")  # fmt: skip


def verify(app: Application[UUID], progress: Callable[[int], object] | None = None) -> Report:
    """Recomputes every aggregate's chain from the stored rows."""
    report = Report()
    keys = _Keys.of(app)
    heads: dict[UUID, tuple[int, str]] = {}
    links_at: dict[tuple[UUID, int], str] = {}
    gaps: dict[UUID, list[_Gap]] = {}
    late: dict[UUID, str] = {}
    for batch in _notifications(app):
        for n in batch:
            report.events += 1
            _check_one(app, n, heads, links_at, report, gaps, late, keys)
        if progress:
            progress(len(batch))
    report.aggregates = len(heads)
    _report_gaps(report, gaps)
    report.problems.sort(key=lambda p: p.position)
    _check_snapshots(app, heads, links_at, report)
    return report


def verify_aggregate(app: Application[UUID], aggregate_id: UUID) -> Report:
    """Recomputes one aggregate's chain from its stored rows, in version order (per ticket).

    Positions in the log are not read, so an event moved elsewhere in the log keeping its
    version is only found by the whole-store `verify`."""
    report = Report()
    keys = _Keys.of(app)
    heads: dict[UUID, tuple[int, str]] = {}
    links_at: dict[tuple[UUID, int], str] = {}
    gaps: dict[UUID, list[_Gap]] = {}
    late: dict[UUID, str] = {}
    for stored in app.recorder.select_events(aggregate_id):
        report.events += 1
        n = Notification(id=0, originator_id=stored.originator_id,
                         originator_version=stored.originator_version, topic=stored.topic,
                         state=stored.state)  # fmt: skip
        _check_one(app, n, heads, links_at, report, gaps, late, keys)
    report.aggregates = len(heads)
    _report_gaps(report, gaps)
    report.problems.sort(key=lambda p: p.version)
    _check_snapshots(app, heads, links_at, report)
    return report


def _report_gaps(report: Report, gaps: dict[UUID, list[_Gap]]) -> None:
    for aggregate_id, found in gaps.items():  # versions that never turned up, even late
        for gap in found:
            absent = gap.last - gap.first + 1 - len(gap.late)
            if absent:
                which = f"versions {gap.first}..{gap.last}"
                detail = f"{which} are missing" if not gap.late else f"{absent} of {which} missing"
                report.problems.append(
                    Problem(aggregate_id, gap.version, gap.position, "missing", detail)
                )


@dataclass
class _Gap:
    """Versions skipped where `version` appeared; ones arriving later are out of order."""

    first: int
    last: int
    version: int
    position: int
    late: set[int] = field(default_factory=set)


def _check_one(
    app: Application[UUID],
    n: Notification,
    heads: dict[UUID, tuple[int, str]],
    links_at: dict[tuple[UUID, int], str],
    report: Report,
    gaps: dict[UUID, list[_Gap]],
    late: dict[UUID, str],
    keys: _Keys,
) -> None:
    aggregate_id = UUID(str(n.originator_id))
    version, position = n.originator_version, n.id
    last_version, last_link = heads.get(aggregate_id, (0, GENESIS))

    def problem(kind: str, detail: str) -> None:
        report.problems.append(Problem(aggregate_id, version, position, kind, detail))

    if version <= last_version:
        problem("out_of_order", f"version {version} comes after version {last_version}")
        for gap in gaps.get(aggregate_id, ()):
            if gap.first <= version <= gap.last:
                gap.late.add(version)
        try:  # after a swap, the next event may follow this one
            late[aggregate_id] = getattr(app.mapper.to_domain_event(n), "chain", "")
        except Exception:
            late.pop(aggregate_id, None)
        return
    if version != last_version + 1:  # missing unless they turn up later, out of order
        gaps.setdefault(aggregate_id, []).append(
            _Gap(last_version + 1, version - 1, version, position)
        )
        last_link = ""  # the link before this event is unknown
    try:
        event, found = keys.read(app, n)
    except Exception as e:  # a tampered row may fail to decode in any way
        problem("unreadable", f"the stored event cannot be read: {e}")
        heads[aggregate_id] = (version, "")
        return
    stored = getattr(event, "chain", None)
    previous = [link for link in (last_link, late.pop(aggregate_id, "")) if link]
    if previous and all(event_link(link, event) != stored for link in previous):
        problem("changed", "the event does not match its hash chain")
    keys.check(n, aggregate_id, stored, found, problem)
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
    tampered = {p.aggregate_id for p in report.problems}
    for aggregate_id, (version, _) in heads.items():
        if version < 50:
            continue
        snapshots = list(app.snapshots.recorder.select_events(aggregate_id))
        versions = {s.originator_version for s in snapshots}
        # A snapshot must hold what its events replay to (unless those events were tampered).
        replayed = {} if aggregate_id in tampered else _replayed(app, aggregate_id, versions)
        for stored in snapshots:
            try:
                snapshot: Any = app.mapper.to_domain_event(stored)
                chain, taken = snapshot.state.get("chain"), (snapshot.topic, _upcast(snapshot))
            except Exception as e:
                chain, taken = f"unreadable: {e}", None
            expected = replayed.get(stored.originator_version, taken)
            if chain != links_at.get((aggregate_id, stored.originator_version)) or (
                taken != expected
            ):
                report.problems.append(
                    Problem(
                        aggregate_id,
                        stored.originator_version,
                        0,
                        "snapshot_changed",
                        "the snapshot does not match the event it was taken at",
                    )
                )


def _upcast(snapshot: Any) -> dict[str, Any]:
    """A stored snapshot's state as its aggregate class reads it today (a snapshot taken under
    an older class version gets the class's upcasters), to compare with a replay's."""
    aggregate = snapshot.mutate(None)
    return dict(type(aggregate).Snapshot.take(aggregate).state)


def _replayed(app: Application[UUID], aggregate_id: UUID, versions: set[int]) -> dict[int, Any]:
    """The (topic, state) a snapshot at each of `versions` holds, replayed from events alone."""
    found: dict[int, Any] = {}
    aggregate: Any = None
    for event in app.events.get(aggregate_id, lte=max(versions, default=0)):
        aggregate = cast(Any, event).mutate(aggregate)
        if aggregate.version in versions:
            snapshot = type(aggregate).Snapshot.take(aggregate)
            found[aggregate.version] = (snapshot.topic, deepcopy(snapshot.state))
    return found
