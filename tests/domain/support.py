"""Small helpers the domain tests share: log positions, refusals, fresh replays."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate

from domain.access import Actor
from domain.desk import Desk
from domain.ticket import Ticket

E = TypeVar("E", bound=BaseException)
S = TypeVar("S")  # a Given/When/Then scene


def position(desk: Desk) -> int:
    """The log position of the last event written to the store (0 when empty)."""
    return desk.recorder.max_notification_id() or 0


@contextmanager
def refused(desk: Desk, error: type[E]) -> Iterator[pytest.ExceptionInfo[E]]:
    """Expects `error` from the block, and that nothing at all was written meanwhile."""
    before = position(desk)
    with pytest.raises(error) as info:
        yield info
    assert position(desk) == before, f"a refused command wrote {position(desk) - before} event(s)"


def memory_env(tmp_path_factory: pytest.TempPathFactory, name: str) -> dict[str, str]:
    """An in-memory (POPO) store's environment: the Given/When/Then tiers run in seconds."""
    key = tmp_path_factory.mktemp(name) / "chain_key"
    return {"TRANSCODER_TOPIC": "domain.transcoder:OrjsonTranscoder", "SUZ_CHAIN_KEY": str(key),
            "SUZ_MODE": "demo"}  # fmt: skip  # no PERSISTENCE_MODULE: in memory


def refused_story(desk: Desk, scene: S, given: Sequence[Callable[[S], Any]],
                  when: Callable[[S], tuple[Actor, Any]], error: type[E]) -> E:  # fmt: skip
    """Given the steps, when the command is handled, then `error` and nothing written."""
    for step in given:
        step(scene)
    actor, command = when(scene)
    with refused(desk, error) as info:
        desk.handle(actor, command)
    return info.value


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """Everything an aggregate holds (its id, version, timestamps, chain and attributes)."""
    state = dict(vars(aggregate))
    state.pop("_pending_events", None)
    return state


def uncached(env: Mapping[str, str]) -> Desk:
    """A second Desk on the same store that keeps no aggregate cache: every get replays."""
    return Desk({**env, "AGGREGATE_CACHE_MAXSIZE": ""})


def history(desk: Desk, ticket_id: UUID) -> list[str]:
    """The names of a ticket's stored events, in version order."""
    return [type(e).__name__ for e in desk.events.get(ticket_id)]


def replayed_without_snapshots(desk: Desk, ticket_id: UUID) -> Ticket:
    """The ticket rebuilt from every one of its stored events, ignoring snapshots."""
    ticket: Any = None
    for event in desk.events.get(ticket_id):
        ticket = cast(Any, event).mutate(ticket)
    assert isinstance(ticket, Ticket)
    return ticket
