"""CSI follow-ups and quality review: a low rating raises exactly one follow-up (even after the
process restarts), reviews roll up exactly per agent and group, and only reviewers review."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from uuid import UUID, uuid4

import pytest

from domain.access import Actor, visible_data
from domain.errors import Forbidden, InvalidInput, InvalidTransition
from domain.people import Role
from domain.quality import ChecklistItem
from domain.ticket import Ticket
from processes.follow_ups import FollowUpProcess
from projections import catalog, quality
from projections.system import Projections
from tests.world import World

ALL_YES = {"correct": 2, "complete": 2, "polite": 2, "template": 2, "sla": 2}


def resolved(world: World, by: Actor, rating: int | None = None) -> UUID:
    ticket = world.file().id
    if by is world.engineer:
        world.desk.escalate(world.agent, ticket, world.line2, "нужен второй уровень")
    world.desk.resolve(by, ticket, "Переподпишите контракт.")
    if rating is not None:
        world.desk.rate(world.requester, ticket, rating, "плохо" if rating < 3 else "")
    return ticket


def test_a_low_rating_raises_one_follow_up_even_after_a_restart(
    world: World, projections: Projections
) -> None:
    low, fine = resolved(world, world.agent, 1), resolved(world, world.agent, 4)
    projections.catch_up()
    assert FollowUpProcess(world.desk, projections.db).tick() == 1
    projections.catch_up()
    assert FollowUpProcess(world.desk, projections.db).tick() == 0, "a restart raises nothing"
    assert world.desk.raise_follow_up(low, 99, 1) is not None  # another rating: another one
    events = list(world.desk.events.get(low))
    raised = [e for e in events if isinstance(e, Ticket.FollowUpRaised)]
    rated = next(e for e in events if isinstance(e, Ticket.Rated))
    assert [e.rated_version for e in raised if e.rated_version != 99] == [rated.originator_version]
    assert raised[0].group_id == world.line1
    assert world.desk.raise_follow_up(low, rated.originator_version, 1) is None, "idempotent"
    assert not [e for e in world.desk.events.get(fine) if isinstance(e, Ticket.FollowUpRaised)]
    projections.catch_up()
    with projections.db.read() as tx:
        todo = quality.follow_ups(tx, [str(world.line1)])
        assert [(f.ticket_id, f.score, f.comment) for f in todo] == [
            (str(low), 1, "плохо"),
            (str(low), 1, "плохо"),
        ]
        assert quality.follow_ups(tx, [str(world.line2)]) == []
    # the requester never sees it; the group's agent closes it, a curator may not
    for name in ("FollowUpRaised", "FollowUpDone", "QualityReviewed"):
        assert visible_data(world.requester, name, {}) is None
    with pytest.raises(Forbidden):
        world.desk.finish_follow_up(world.curator, low, rated.originator_version, "звонили")
    with pytest.raises(Forbidden):
        world.desk.finish_follow_up(world.engineer, low, rated.originator_version, "звонили")
    world.desk.finish_follow_up(world.agent, low, rated.originator_version, "Позвонили, помогли.")
    with pytest.raises(InvalidTransition):
        world.desk.finish_follow_up(world.agent, low, rated.originator_version, "ещё раз")
    projections.catch_up()
    with projections.db.read() as tx:
        assert [f.rated_version for f in quality.follow_ups(tx)] == [99]


def test_reviews_roll_up_exactly_per_agent_and_group(
    world: World, projections: Projections
) -> None:
    a1, a2 = resolved(world, world.agent, 2), resolved(world, world.agent)
    e1 = resolved(world, world.engineer, 5)
    projections.catch_up()
    with projections.db.read() as tx:
        picked = quality.sample(tx, date(2026, 11, 29))
        assert picked[0].ticket_id == str(a1), "low-rated first"
        assert {c.ticket_id for c in picked} == {str(a1), str(a2), str(e1)}
        assert picked == quality.sample(tx, date(2026, 11, 29)), "the same all day"
    # weights 3, 2, 1, 1, 1: the maximum is 16 points
    world.desk.review_quality(world.quality, a1, {**ALL_YES, "correct": 0}, "неверно")  # 10/16
    world.desk.review_quality(world.quality, a2, {**ALL_YES, "polite": 1})  # 15/16
    world.desk.review_quality(world.quality, e1, ALL_YES)  # 16/16
    with pytest.raises(InvalidTransition):
        world.desk.review_quality(world.quality, e1, ALL_YES)
    projections.catch_up()
    with projections.db.read() as tx:
        agents = {r.key: r for r in quality.rollups(tx, "resolver_id")}
        groups = {r.key: r for r in quality.rollups(tx, "group_id")}
        assert agents[str(world.agent.id)].share == Fraction(25, 32)
        assert agents[str(world.agent.id)].count == 2
        assert agents[str(world.engineer.id)].share == 1
        assert groups[str(world.line1)].share == Fraction(25, 32)
        assert groups[str(world.line2)].percent == "100.0"
        mine = quality.reviews(tx, str(world.agent.id))
        assert {r.ticket_id for r in mine} == {str(a1), str(a2)}
        assert quality.agent_rollup(tx, str(world.agent.id)).points == 25
        assert quality.sample(tx, date(2026, 11, 29)) == [], "reviewed requests leave the sample"


def test_only_quality_reviewers_review_and_bad_scores_write_nothing(
    world: World, projections: Projections
) -> None:
    ticket = resolved(world, world.agent)
    version = world.desk.ticket(world.admin, ticket).version
    for who in (world.requester, world.auditor, world.curator, world.agent):
        with pytest.raises(Forbidden):
            world.desk.review_quality(who, ticket, ALL_YES)
    for bad in ({**ALL_YES, "sla": 3}, {"correct": 2}, {**ALL_YES, "extra": 1}):
        with pytest.raises(InvalidInput):
            world.desk.review_quality(world.quality, ticket, bad)
    open_one = world.file().id
    with pytest.raises(InvalidTransition):
        world.desk.review_quality(world.quality, open_one, ALL_YES)
    assert world.desk.ticket(world.admin, ticket).version == version


def test_the_quality_group_edits_the_checklist(world: World) -> None:
    assert [i.key for i in world.desk.quality_checklist().items] == [
        "correct",
        "complete",
        "polite",
        "template",
        "sla",
    ]
    items = (ChecklistItem("correct", "Верный ответ", 5), ChecklistItem("polite", "Вежливо"))
    with pytest.raises(Forbidden):
        world.desk.set_quality_checklist(world.curator, items)
    with pytest.raises(InvalidInput):
        world.desk.set_quality_checklist(world.quality, (ChecklistItem("correct", "x", 11),))
    world.desk.set_quality_checklist(world.quality, items, 0)
    assert world.desk.quality_checklist().items == items
    ticket = resolved(world, world.agent)
    written = world.desk.review_quality(world.quality, ticket, {"correct": 1, "polite": 2})
    event = list(world.desk.events.get(ticket))[-1]
    assert isinstance(event, Ticket.QualityReviewed) and written.version == event.originator_version
    assert (event.points, event.max_points) == (7, 12)


def test_a_groups_lead_gets_its_follow_ups_and_the_other_agents_do_not(
    world: World, projections: Projections
) -> None:
    d = world.desk
    second = d.register_account(world.admin, "agent2", "Agent Two", (Role.AGENT,), None).id
    d.add_to_group(world.admin, second, world.line1)
    other = d.actor_for(second)
    # only an administrator appoints, and only an active agent of that very group
    with pytest.raises(Forbidden):
        d.appoint_group_lead(world.agent, world.line1, world.agent.id)
    for wrong in (world.engineer.id, world.quality.id, uuid4()):
        with pytest.raises(InvalidInput):
            d.appoint_group_lead(world.admin, world.line1, wrong)
    d.appoint_group_lead(world.admin, world.line1, second)
    with pytest.raises(InvalidTransition):
        d.appoint_group_lead(world.admin, world.line1, second)

    low = resolved(world, world.agent, 2)
    projections.catch_up()
    assert FollowUpProcess(d, projections.db).tick() == 1
    projections.catch_up()
    rated = next(e for e in d.events.get(low) if isinstance(e, Ticket.Rated))
    with projections.db.read() as tx:
        mine = catalog.follow_up_groups(tx, str(second), [str(world.line1)])
        theirs = catalog.follow_up_groups(tx, str(world.agent.id), [str(world.line1)])
        assert mine == [str(world.line1)] and theirs == []
        assert [f.ticket_id for f in quality.follow_ups(tx, mine)] == [str(low)]
    with pytest.raises(Forbidden):  # the agent who resolved it is not the lead
        d.finish_follow_up(world.agent, low, rated.originator_version, "звонил")
    d.finish_follow_up(other, low, rated.originator_version, "Позвонил, разобрались.")

    d.appoint_group_lead(world.admin, world.line1, None)  # no lead: back to the group's agents
    projections.catch_up()
    with projections.db.read() as tx:
        assert catalog.follow_up_groups(tx, str(world.agent.id), [str(world.line1)]) == [
            str(world.line1)
        ]
