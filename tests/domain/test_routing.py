"""Routing rules: the first matching rule routes a new request, and is recorded on it."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.desk import Desk
from domain.errors import Forbidden, InvalidInput
from domain.routing import Assignment, Rule
from domain.ticket import Channel, Priority, Ticket
from tests.world import World


@pytest.fixture
def world(desk: Desk) -> World:
    return World.build(desk)


def test_the_first_matching_rule_routes_and_is_recorded(world: World) -> None:
    desk = world.desk
    by_law = Rule(uuid4(), "223-ФЗ → 2 линия", world.line2, category_id=world.contracts,
                  field_key="law", field_value="223-fz", priority=Priority.HIGH,
                  assignment=Assignment.ROUND_ROBIN)  # fmt: skip
    catch_all = Rule(uuid4(), "Все контракты → 3 линия", world.line3, category_id=world.contracts)
    desk.set_routing_rules(world.admin, (by_law, catch_all))
    routed = desk.ticket(world.admin, world.file(law="223-FZ").id)
    assert (routed.group_id, routed.priority) == (world.line2, Priority.HIGH)
    assigned = [e for e in desk.repository.event_store.get(routed.id)
                if isinstance(e, Ticket.Assigned)]  # fmt: skip
    assert assigned[0].rule_id == by_law.id and assigned[0].rule_name == "223-ФЗ → 2 линия"
    other = desk.ticket(world.admin, world.file(law="44-FZ").id)
    assert other.group_id == world.line3 and other.priority == Priority.NORMAL


def test_without_a_matching_rule_the_category_decides(world: World) -> None:
    desk = world.desk
    only_api = Rule(uuid4(), "API → 2 линия", world.line2, channel=Channel.API)
    desk.set_routing_rules(world.admin, (only_api,))
    assert desk.ticket(world.admin, world.file().id).group_id == world.line1


def test_rules_are_checked_and_only_administrators_set_them(world: World) -> None:
    desk = world.desk
    rule = Rule(uuid4(), "x", world.line2, category_id=world.contracts)
    with pytest.raises(Forbidden):
        desk.set_routing_rules(world.agent, (rule,))
    with pytest.raises(InvalidInput):
        desk.set_routing_rules(world.admin, (Rule(uuid4(), "no condition", world.line2),))
    with pytest.raises(InvalidInput):
        desk.set_routing_rules(world.admin, (Rule(uuid4(), "half", world.line2, field_key="law"),))
    with pytest.raises(InvalidInput):
        desk.set_routing_rules(world.admin, (rule, rule))
    first = desk.set_routing_rules(world.admin, (rule,))
    assert desk.routing().rules == (rule,)
    second = desk.set_routing_rules(world.admin, (), expected_version=first.version)
    assert second.version == first.version + 1 and desk.routing().rules == ()
