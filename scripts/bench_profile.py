"""Where a Desk command's time goes: cProfile over a few hundred commands, split by the
library's own steps (cache read, fast-forward SELECT, deepcopy, encode, INSERT, snapshots)."""

from __future__ import annotations

import copy
import cProfile
import inspect
import pstats
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from eventsourcing.application import Application, Repository, project_aggregate
from eventsourcing.persistence import EventStore

from domain.chain import link
from domain.desk import Desk


@dataclass
class Split:
    """Time (ns, no profiler) spent inside measured Desk commands in three library steps."""

    read: int = 0  # Repository.get for the command (cache hit, fast-forward SELECT, deepcopy)
    insert: int = 0  # the events recorder's insert_events: the INSERT transaction
    snapshots: int = 0  # Application._take_snapshots


@contextmanager
def timed(desk: Desk, split: Split) -> Iterator[None]:
    """Times those steps with thin wrappers on the Desk's own objects, removed afterwards."""
    get, insert, snapshots = desk.repository.get, desk.recorder.insert_events, desk._take_snapshots

    def timed_get(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("version") is not None:  # a snapshot's rebuild, counted in snapshots
            return get(*args, **kwargs)
        t0 = time.perf_counter_ns()
        try:
            return get(*args, **kwargs)
        finally:
            split.read += time.perf_counter_ns() - t0

    def timed_insert(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter_ns()
        try:
            return insert(*args, **kwargs)
        finally:
            split.insert += time.perf_counter_ns() - t0

    def timed_snapshots(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter_ns()
        try:
            return snapshots(*args, **kwargs)
        finally:
            split.snapshots += time.perf_counter_ns() - t0

    wrapped = [
        (desk.repository, "get", timed_get),
        (desk.recorder, "insert_events", timed_insert),
        (desk, "_take_snapshots", timed_snapshots),
    ]
    for obj, name, wrapper in wrapped:
        setattr(obj, name, wrapper)
    try:
        yield
    finally:
        for obj, name, _ in wrapped:
            delattr(obj, name)


Key = tuple[str, int, str]  # how cProfile names a function: file, first line, name
Entry = tuple[int, int, float, float, dict[Key, tuple[int, int, float, float]]]


@dataclass
class Breakdown:
    """Microseconds per command (under the profiler, which inflates Python-heavy steps)."""

    command: str
    ops: int
    total_us: float
    parts: list[tuple[int, str, float]] = field(default_factory=list)  # depth, label, µs


def key(func: Callable[..., Any]) -> Key:
    code = inspect.unwrap(func).__code__
    return code.co_filename, code.co_firstlineno, code.co_name


@contextmanager
def instrumented(desk: Desk) -> Iterator[tuple[Key, Key]]:
    """Gives the events store's put and the events recorder's insert their own profile entries
    (the snapshot store shares their code), and takes them away again afterwards."""
    store_put, recorder_insert = desk.events.put, desk.recorder.insert_events

    def events_put(*args: Any, **kwargs: Any) -> Any:
        return store_put(*args, **kwargs)

    def events_insert(*args: Any, **kwargs: Any) -> Any:
        return recorder_insert(*args, **kwargs)

    setattr(desk.events, "put", events_put)  # noqa: B010 (mypy forbids assigning a method)
    setattr(desk.recorder, "insert_events", events_insert)  # noqa: B010
    try:
        yield key(events_put), key(events_insert)
    finally:
        delattr(desk.events, "put")
        delattr(desk.recorder, "insert_events")


def profile_command(
    desk: Desk, run: Callable[[int], None], command: str, ops: int, tick: Callable[[], object]
) -> Breakdown:
    profiler = cProfile.Profile()
    elapsed = 0
    with instrumented(desk) as (events_put, events_insert):
        for i in range(ops):
            t0 = time.perf_counter_ns()
            profiler.enable()
            run(i)
            profiler.disable()
            elapsed += time.perf_counter_ns() - t0
            tick()
    stats = cast(dict[Key, Entry], getattr(pstats.Stats(profiler), "stats"))  # noqa: B009

    def us(seconds: float) -> float:
        return seconds / ops * 1e6

    def total(func: Key) -> float:
        return us(stats[func][3]) if func in stats else 0.0

    def edge(caller: Callable[..., Any], callee: Callable[..., Any]) -> float:
        entry = stats.get(key(callee))
        calls = entry[4].get(key(caller)) if entry else None
        return us(calls[3]) if calls else 0.0

    get = edge(Desk._get, Repository.get)
    save = total(key(Application.save))
    put, insert = total(events_put), total(events_insert)
    snapshots = total(key(Application._take_snapshots))
    protocol_check = key(cast(Any, typing)._ProtocolMeta.__instancecheck__)
    b = Breakdown(command, ops, elapsed / ops / 1e3)
    b.parts = [
        (0, "read aggregates from the cache (Desk._get -> Repository.get)", get),
        (1, "fast-forward SELECT of newer events", edge(Repository.get, EventStore.get)),
        (1, "deepcopy of the cached aggregate", edge(Repository.get, copy.deepcopy)),
        (1, "decode + apply the newer events", edge(Repository.get, project_aggregate)),
        (0, "command logic, access check, hash chain, event objects", b.total_us - get - save),
        (1, "hash chain (domain.chain.link)", total(key(link))),
        (0, "Application.save", save),
        (1, "encode events (Mapper.to_stored_event) + bookkeeping", put - insert),
        (1, "INSERT transaction (recorder.insert_events)", insert),
        (1, "snapshots every 50 events (_take_snapshots)", snapshots),
        (0, "of all above: isinstance() on typing Protocols", total(protocol_check)),
    ]
    return b
