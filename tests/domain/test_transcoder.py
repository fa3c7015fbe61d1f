"""Every event of every aggregate survives the store: the transcoder and mapper lose nothing."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.category import Category
from domain.chain import GENESIS, ChainedAggregate, event_link
from domain.claim import Claim
from domain.desk import Desk
from domain.people import Account, Group, Organisation
from domain.settings import Settings
from domain.ticket import Ticket
from domain.transcoder import OrjsonTranscoder

AGGREGATES = (Ticket, Organisation, Account, Group, Category, Claim)
EVENTS = [
    event
    for aggregate in AGGREGATES
    for name, event in vars(aggregate).items()
    if isinstance(event, type)
    and issubclass(event, ChainedAggregate.Event)
    and name not in ("Event", "Created")
]
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
INT64 = st.integers(-(2**63), 2**63 - 1)


def strategy(hint: Any) -> st.SearchStrategy[Any]:
    """Values of the type `hint`, as events hold them (timestamps always carry a time zone)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return st.one_of(*(strategy(a) for a in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy(a) for a in args))
    if origin is dict:
        return st.dictionaries(strategy(args[0]), strategy(args[1]), max_size=4)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        bool: st.booleans(),
        int: INT64,
        str: st.text(max_size=30),
        UUID: st.uuids(),
        datetime: st.datetimes(timezones=OFFSETS),
        date: st.dates(),
        Decimal: st.decimals(allow_nan=False, allow_infinity=False),
    }
    if hint in simple:
        return simple[hint]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        fields = {f.name: strategy(hints[f.name]) for f in dataclasses.fields(hint)}
        return st.builds(hint, **fields)
    raise AssertionError(f"no strategy for {hint!r}: teach this test the new type")


def event_of(cls: type[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    values = {
        f.name: strategy(UUID if f.name == "originator_id" else hints[f.name])
        for f in dataclasses.fields(cls)
    }
    values["originator_version"] = st.integers(1, 2**31)
    return st.builds(cls, **values)


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (Decimal digits and UTC offsets too)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, datetime):
        return bool(a == b and a.utcoffset() == b.utcoffset())
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(same, a, b))
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return bool(a == b)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    store = Settings(data_dir=Path(tmp_path_factory.mktemp("transcoder")), database_url=None)
    app = Desk(store.store_env(create_tables=True))
    yield app
    app.close()


def test_every_aggregate_has_its_events_listed() -> None:
    names = {f"{e.__qualname__}" for e in EVENTS}
    assert {"Ticket.Filed", "Ticket.Escalated", "Category.Defined", "Claim.Taken"} <= names
    assert len(EVENTS) >= 29


@settings(max_examples=15, deadline=None)
@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.__qualname__)
@given(data=st.data())
def test_every_event_round_trips_through_the_transcoder(
    cls: type[Any], data: st.DataObject
) -> None:
    event = data.draw(event_of(cls))
    transcoder = OrjsonTranscoder()
    state = dict(vars(event))
    decoded = transcoder.decode(transcoder.encode(state))
    assert same(decoded, state), (decoded, state)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.__qualname__)
@given(data=st.data())
def test_every_event_round_trips_through_the_desks_mapper(
    desk: Desk, cls: type[Any], data: st.DataObject
) -> None:
    event = data.draw(event_of(cls))
    stored = desk.mapper.to_stored_event(event)
    assert (stored.originator_id, stored.originator_version) == (
        event.originator_id,
        event.originator_version,
    )
    decoded = desk.mapper.to_domain_event(stored)
    assert type(decoded) is cls
    assert same(dict(vars(decoded)), dict(vars(event)))
    assert event_link(GENESIS, decoded) == event_link(GENESIS, event)


@given(st.dictionaries(st.sampled_from(["_type_", "_data_", "x"]), st.text(max_size=5)))
def test_field_values_that_look_like_tags_stay_plain(values: dict[str, str]) -> None:
    transcoder = OrjsonTranscoder()
    assert same(transcoder.decode(transcoder.encode({"fields": values})), {"fields": values})


def test_a_snapshot_of_a_full_ticket_round_trips(desk: Desk) -> None:
    ticket = Ticket.file(
        ticket_id=uuid4(),
        number=7,
        channel=typing.cast(Any, "api"),
        category_id=uuid4(),
        subject="Тема",
        description="Описание",
        fields={"amount": Decimal("10.50"), "signed_on": date(2024, 3, 1), "law": "44-FZ"},
        requester_id=uuid4(),
        organisation_id=uuid4(),
    )
    ticket.link(uuid4(), uuid4())
    snapshot = Ticket.Snapshot.take(ticket)
    decoded = desk.mapper.to_domain_event(desk.mapper.to_stored_event(snapshot))
    assert same(decoded.state, snapshot.state)  # type: ignore[attr-defined]
    assert same(dict(vars(decoded.mutate(None))), dict(vars(ticket)) | {"_pending_events": []})  # type: ignore[attr-defined]
