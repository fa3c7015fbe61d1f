"""Automatic assignment: least loaded and round robin within the group, agents away skipped,
a request someone took meanwhile left alone, and nothing assigned twice after a restart."""

from __future__ import annotations

from collections import Counter
from uuid import UUID, uuid4

import pytest

from domain.desk import SYSTEM
from domain.errors import Forbidden
from domain.people import Role
from domain.routing import Assignment, Rule
from processes.assigner import Assigner
from projections.system import Projections
from tests.world import World


def agents(world: World, n: int) -> list[UUID]:
    made = [world.agent.id]
    for i in range(n - 1):
        account = world.desk.register_account(SYSTEM, f"line1-{i}", f"Агент {i}", (Role.AGENT,)).id
        world.desk.add_to_group(SYSTEM, account, world.line1)
        made.append(account)
    return [a for a in made if a is not None]


def route(world: World, mode: Assignment) -> None:
    rule = Rule(uuid4(), "Контракты", world.line1, category_id=world.contracts, assignment=mode)
    world.desk.set_routing_rules(world.admin, (rule,))


def run(projections: Projections, assigner: Assigner) -> int:
    projections.catch_up()
    done = assigner.tick()
    projections.catch_up()
    return done


def test_least_loaded_spreads_the_requests_and_skips_who_is_away(
    world: World, projections: Projections
) -> None:
    team = agents(world, 3)
    route(world, Assignment.LEAST_LOADED)
    world.desk.set_away(world.admin, team[2], True)
    tickets = [world.file().id for _ in range(4)]
    assigner = Assigner(world.desk, projections.db)
    assert run(projections, assigner) == 4
    load = Counter(world.desk.ticket(world.admin, t).assignee_id for t in tickets)
    assert load == {team[0]: 2, team[1]: 2}, "the one away gets nothing"
    assert run(projections, assigner) == 0, "nothing is left and nothing repeats"
    assert Assigner(world.desk, projections.db).tick() == 0, "nor after a restart"


def test_round_robin_takes_turns_and_leaves_a_taken_request(
    world: World, projections: Projections
) -> None:
    team = sorted(agents(world, 3), key=str)
    route(world, Assignment.ROUND_ROBIN)
    first = [world.file().id for _ in range(3)]
    assigner = Assigner(world.desk, projections.db)
    assert run(projections, assigner) == 3
    assert sorted(str(world.desk.ticket(world.admin, t).assignee_id) for t in first) == sorted(
        map(str, team)
    )
    taken = world.file().id
    world.desk.assign(world.agent, taken, world.line1, world.agent.id)
    assert run(projections, assigner) == 0
    assert world.desk.ticket(world.admin, taken).assignee_id == world.agent.id


def test_nobody_in_leaves_the_request_with_the_group_and_only_oneself_says_away(
    world: World, projections: Projections
) -> None:
    route(world, Assignment.LEAST_LOADED)
    assert world.agent.id is not None
    world.desk.set_away(world.agent, world.agent.id, True)
    with pytest.raises(Forbidden):
        assert world.engineer.id is not None
        world.desk.set_away(world.agent, world.engineer.id, True)
    ticket = world.file().id
    assigner = Assigner(world.desk, projections.db)
    assert run(projections, assigner) == 0
    assert world.desk.ticket(world.admin, ticket).assignee_id is None
    world.desk.set_away(world.agent, world.agent.id, False)
    assert run(projections, assigner) == 1, "it is assigned once someone is back"
