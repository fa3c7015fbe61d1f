"""Tamper-evident history: every event carries a hash chaining it to the one before.

The link of event n is sha256(link of event n-1, topic, canonical bytes of the event's state).
The canonical bytes come from the event's values, not from how the store encoded them, so a
chain computed when the event was decided can be recomputed from the stored rows by anyone.

Anyone includes whoever rewrites the rows: so the Desk saves each event with `mac`, "h1:" and
HMAC-SHA256 of its link under the chain key (domain/keys.py), which is not in the database. The
link covers every earlier event of the aggregate, so the MAC of the last event vouches for all
of them. Events saved before keys existed have no `mac` and keep their plain chain (stored
events never change); `verify` refuses an event without one after the first that has one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import MISSING, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID, uuid4

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from domain.errors import Conflict
from domain.keys import read_chain_key

GENESIS = "0" * 64
MAC = "h1:"  # the version of the MAC: HMAC-SHA256 under the chain key, hex


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


def mac(key: bytes, chain: str) -> str:
    """The keyed MAC of one chain link."""
    return MAC + hmac.new(key, chain.encode(), hashlib.sha256).hexdigest()


class KeyedMapper(Mapper[UUID]):
    """Stores each chained event with its `mac` (when the Desk has a chain key), and reads it
    back apart from the event, so no decoded event carries it."""

    key: bytes | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        chain = getattr(domain_event, "chain", None)
        if self.key is None or not isinstance(chain, str):  # snapshots have no link of their own
            return super().to_stored_event(domain_event)
        stored = object.__new__(type(domain_event))  # the event itself stays as decided
        object.__setattr__(stored, "__dict__", {**vars(domain_event), "mac": mac(self.key, chain)})
        return super().to_stored_event(stored)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.read(stored_event)[0]

    def read(self, stored_event: StoredEvent) -> tuple[Any, str | None]:
        """The event and the MAC it was stored with (None: stored without a key)."""
        event: Any = super().to_domain_event(stored_event)
        found = vars(event).pop("mac", None)
        return event, found if isinstance(found, str) else None


def keyed_mapper(app: Any) -> KeyedMapper:
    """The Desk's mapper, with the chain key its environment names (SUZ_CHAIN_KEY; generated
    when missing in demo mode). Without one, events are stored unkeyed (bare test desks)."""
    mapper = app.factory.mapper(transcoder=app.construct_transcoder(), mapper_class=KeyedMapper)
    path = app.env.get("SUZ_CHAIN_KEY")
    if path:
        demo = app.env.get("SUZ_MODE") == "demo"
        mapper.key = read_chain_key(Path(path), generate=demo)
    return cast(KeyedMapper, mapper)


def with_defaults(event_class: type[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with every defaulted field of the event given: the link is made over what the
    event will hold (`suz verify` re-hashes the stored event, defaults and all), so a field
    added later with a default, and left out by its caller, cannot break the chain."""
    missing: dict[str, Any] = {}
    for f in fields(event_class):
        if f.name in kwargs:
            continue
        if f.default is not MISSING:
            missing[f.name] = f.default
        elif f.default_factory is not MISSING:
            missing[f.name] = f.default_factory()
    return {**missing, **kwargs} if missing else kwargs


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
        kwargs = with_defaults(event_class, kwargs)
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
        kwargs = with_defaults(event_class, kwargs)
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
