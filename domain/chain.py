"""Tamper-evident history: every event carries a hash chaining it to the one before.

The link of event n is sha256(link of event n-1, topic, canonical bytes of the event's state).
The canonical bytes come from the event's values, not from how the store encoded them, so a
chain computed when the event was decided can be recomputed from the stored rows by anyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID, uuid4

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.errors import Conflict

GENESIS = "0" * 64


def _canonical_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"cannot hash a value of type {type(obj).__name__}")


def link(previous: str, topic: str, state: dict[str, Any]) -> str:
    """The chain value of an event whose state (without its own `chain`) is `state`."""
    body = orjson.dumps(state, option=orjson.OPT_SORT_KEYS, default=_canonical_default)
    digest = hashlib.sha256(previous.encode())
    digest.update(topic.encode())
    digest.update(body)
    return digest.hexdigest()


def event_link(previous: str, event: Any) -> str:
    """Recomputes the chain value of a stored (decoded) event."""
    state = dict(vars(event))
    state.pop("chain", None)
    return link(previous, get_topic(type(event)), state)


class ChainedAggregate(Aggregate):
    """An aggregate whose events are hash-chained; `chain` is the link of its last event."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        chain: str

    class Event(Aggregate.Event):
        chain: str

        def mutate(self, aggregate: Any) -> Any:
            result = super().mutate(aggregate)
            cast(ChainedAggregate, result).chain = self.chain
            return result

    class Created(Event, Aggregate.Created):
        def mutate(self, aggregate: Any) -> Any:
            result = Aggregate.Created.mutate(self, aggregate)
            cast(ChainedAggregate, result).chain = self.chain
            return result

    @property
    def saved_version(self) -> int:
        """The version stored so far (0 for an aggregate not yet saved)."""
        return int(self.version) - len(self.pending_events)

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """The repository copies cached aggregates before handing them out. Our state is
        immutable values in dicts, lists and tuples: copying the containers is a deep copy,
        at a fraction of copy.deepcopy's cost on every command."""
        clone = object.__new__(type(self))
        clone.__dict__.update(
            (k, dict(v) if type(v) is dict else list(v) if type(v) is list else v)
            for k, v in self.__dict__.items()
        )
        return clone

    @classmethod
    def _start(cls, event_class: type[Any], *, id: UUID | None = None, **kwargs: Any) -> Self:
        """Creates the aggregate with the first link of its chain."""
        originator_id = id or uuid4()
        timestamp = cast(datetime, event_class.create_timestamp())
        state = dict(
            kwargs,
            originator_id=originator_id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=timestamp,
            originator_topic=get_topic(cls),
        )
        chain = link(GENESIS, get_topic(event_class), state)
        return cls._create(
            event_class, id=originator_id, timestamp=timestamp, chain=chain, **kwargs
        )

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        timestamp = kwargs.pop("timestamp", None) or event_class.create_timestamp()
        state = dict(
            kwargs,
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=timestamp,
        )
        chain = link(self.chain, get_topic(event_class), state)
        super().trigger_event(event_class, timestamp=timestamp, chain=chain, **kwargs)


S = TypeVar("S", bound=ChainedAggregate)


def load_or_start(repository: Any, aggregate_id: UUID, start: Callable[[], S]) -> S:
    """A set-up aggregate kept under a fixed id (routing rules, SLA, triggers, the quality
    checklist), or `start()`, not yet saved, when it never was."""
    try:
        return cast(S, repository.get(aggregate_id))
    except AggregateNotFoundError:
        return start()


def check_seen(aggregate: ChainedAggregate, expected: int | None) -> None:
    """Refuses a change decided on another version than the one stored (None: any)."""
    if expected is not None and expected != aggregate.saved_version:
        raise Conflict(aggregate.id, expected, aggregate.saved_version)
