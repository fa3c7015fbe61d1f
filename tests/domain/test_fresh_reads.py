"""Filing reads its category and the routing rules as stored now, in one read on PostgreSQL
(domain/fresh_reads.py): a change another process made a moment before is never missed, on
both stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.category import FieldSpec, FieldType
from domain.desk import Desk
from domain.errors import InvalidInput
from domain.routing import ROUTING_ID, Rule
from domain.setup.categories import ChangeCategoryForm
from tests.world import CONTRACT_FORM, World


@contextmanager
def library_reads(desk: Desk, ids: set[UUID]) -> Iterator[list[UUID]]:
    """Records the library's reads of these aggregates' events (fast-forwards, loads)."""
    store = desk.events
    calls: list[UUID] = []
    original: Callable[..., Any] = store.get

    def get(originator_id: UUID, *args: Any, **kwargs: Any) -> Any:
        if originator_id in ids:
            calls.append(originator_id)
        return original(originator_id, *args, **kwargs)

    store.get = get  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        del store.get


@pytest.fixture
def other(store_env: dict[str, str]) -> Iterator[Desk]:
    """A second process's desk on the same store (its own aggregate cache)."""
    desk = Desk(store_env)
    yield desk
    desk.close()


def on_postgres(desk: Desk) -> bool:
    return hasattr(getattr(desk.recorder, "datastore", None), "schema")


def test_a_filing_reads_its_category_and_the_rules_in_one_query(world: World) -> None:
    desk = world.desk
    desk.set_routing_rules(world.admin, (Rule(uuid4(), "Контракты", world.line2,
                                              category_id=world.contracts),))  # fmt: skip
    world.file("Первый")  # both cached now
    reads = desk.fresh.reads
    with library_reads(desk, {world.contracts, ROUTING_ID}) as calls:
        filed = world.file("Второй")
    assert desk.ticket(world.admin, filed.id).group_id == world.line2
    if on_postgres(desk):
        assert calls == [] and desk.fresh.reads == reads + 1
    else:  # SQLite: no round trips to save; the library's reads as before
        assert sorted(map(str, calls)) == sorted(map(str, [world.contracts, ROUTING_ID]))


def test_a_filing_sees_rules_and_a_form_another_process_changed_a_moment_before(
    world: World, other: Desk
) -> None:
    desk = world.desk
    world.file("Кэширует категорию")  # no routing rules yet: remembered as never stored
    assert desk.ticket(world.admin, world.file().id).group_id == world.line1

    other.set_routing_rules(world.admin, (Rule(uuid4(), "В третью", world.line3,
                                               category_id=world.contracts),))  # fmt: skip
    assert desk.ticket(world.admin, world.file().id).group_id == world.line3

    other.set_routing_rules(world.admin, (Rule(uuid4(), "Во вторую", world.line2,
                                               category_id=world.contracts),))  # fmt: skip
    assert desk.ticket(world.admin, world.file().id).group_id == world.line2

    inn = FieldSpec("inn", "ИНН", "INN", FieldType.INN, required=True)
    other.handle(world.admin, ChangeCategoryForm(world.contracts, (*CONTRACT_FORM, inn)))
    with pytest.raises(InvalidInput):
        world.file()  # the new required field is missing: the new form was read
    filed = world.file(inn="7707083893")
    assert desk.ticket(world.admin, filed.id).group_id == world.line2
