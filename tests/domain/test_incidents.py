"""Triggers and mass incidents in the domain: who may do what, rules checked, a rule firing once
per window, and every linked requester told each thing exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.access import Actor
from domain.desk import SYSTEM, Desk
from domain.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from domain.incidents import Criteria, IncidentStatus, MassIncident, TriggerRule
from domain.integrity import verify
from domain.people import Role
from domain.ticket import Status, Ticket
from tests.world import World


def person(world: World, login: str, *roles: Role) -> Actor:
    account = world.desk.register_account(SYSTEM, login, login.title(), roles).id
    return world.desk.actor_for(account)


def rule(world: World, **changes: object) -> TriggerRule:
    values: dict[str, object] = {
        "id": uuid4(),
        "name": "Сбой подписи",
        "criteria": Criteria(world.contracts),
        "threshold": 3,
        "window_minutes": 10,
    }
    values.update(changes)
    return TriggerRule(**values)  # type: ignore[arg-type]


def told(desk: Desk, ticket_id: UUID) -> list[tuple[str, str]]:
    """The public things the request's requester was told, in order: (event, text)."""
    found = []
    for e in desk.repository.event_store.get(ticket_id):
        if isinstance(e, Ticket.Replied):
            found.append(("Replied", e.body))
        elif isinstance(e, Ticket.Resolved):
            found.append(("Resolved", e.resolution))
    return found


def test_criteria_match_category_field_and_any_word() -> None:
    category = uuid4()
    c = Criteria(category, "law", "223-fz", ("подпис", "ЭЦП"))
    assert c.matches(category, {"law": "223-FZ"}, "Ошибка ПОДПИСИ контракта")
    assert c.matches(str(category), {"law": " 223-fz "}, "не работает эцп")
    assert not c.matches(uuid4(), {"law": "223-FZ"}, "ошибка подписи")
    assert not c.matches(category, {"law": "44-FZ"}, "ошибка подписи")
    assert not c.matches(category, {}, "ошибка подписи")
    assert not c.matches(category, {"law": "223-FZ"}, "не грузится файл")
    assert Criteria().empty and not Criteria(words=("x",)).empty


def test_rules_are_set_by_administrators_and_analysts_and_checked(world: World) -> None:
    desk = world.desk
    analyst = person(world, "analyst", Role.ANALYST)
    for who in (world.agent, world.developer, world.curator, world.requester):
        with pytest.raises(Forbidden):
            desk.set_trigger_rules(who, (rule(world),))
    for wrong in (
        rule(world, name=" "),
        rule(world, criteria=Criteria()),
        rule(world, threshold=0),
        rule(world, window_minutes=0),
        rule(world, window_minutes=24 * 60 + 1),
        rule(world, rate_factor=Decimal(-1)),
        rule(world, criteria=Criteria(words=("подпись",)), rate_factor=Decimal(3)),
        rule(world, criteria=Criteria(world.contracts, field_key="law")),
    ):
        with pytest.raises(InvalidInput):
            desk.set_trigger_rules(analyst, (wrong,))
    assert desk.triggers().rules == (), "nothing was saved"
    r = rule(
        world,
        criteria=Criteria(world.contracts, words=(" подпись ", "", "подпись")),
        rate_factor=Decimal("2.50"),
        groups=(world.line3,),
    )
    w = desk.set_trigger_rules(analyst, (r,), expected_version=0)
    fresh = Desk(desk.env)  # read back through the store, not the cache
    saved = fresh.triggers()
    fresh.close()
    assert saved.rules[0].criteria.words == ("подпись",)
    assert saved.rules[0].rate_factor == Decimal("2.5") and saved.rules[0].groups == (world.line3,)
    with pytest.raises(Conflict):
        desk.set_trigger_rules(world.admin, (), expected_version=0)
    desk.set_trigger_rules(world.admin, (), expected_version=w.version)
    assert desk.triggers().rules == ()


def test_a_rule_fires_once_per_window_and_not_while_its_proposal_stands(world: World) -> None:
    desk = world.desk
    r = rule(world)
    desk.set_trigger_rules(world.admin, (r,))
    now = datetime.now(UTC)
    first = desk.fire_trigger(r.id, now, 3)
    assert first is not None
    proposal = desk.incident(world.developer, first.id)
    assert proposal.status is IncidentStatus.PROPOSED and proposal.count == 3
    assert proposal.since == now - timedelta(minutes=10) and proposal.rule_id == r.id
    assert desk.fire_trigger(r.id, now, 4) is None, "once per window"
    assert desk.fire_trigger(r.id, now + timedelta(minutes=11), 5) is None, "the proposal stands"
    desk.dismiss_incident(world.developer, first.id, "Ложная тревога")
    assert desk.fire_trigger(r.id, now + timedelta(minutes=5), 5) is None, "still in the window"
    again = desk.fire_trigger(r.id, now + timedelta(minutes=11), 5)
    assert again is not None and again.id != first.id
    assert desk.fire_trigger(uuid4(), now, 10) is None, "an unknown rule fires nothing"
    assert desk.triggers().fired[r.id] == (now + timedelta(minutes=11), again.id)


def test_who_manages_incidents(world: World) -> None:
    desk = world.desk
    ops = person(world, "ops", Role.OPERATIONS)
    for who in (world.agent, world.curator, world.auditor, world.requester, world.quality):
        with pytest.raises(Forbidden):
            desk.open_incident(who, "Сбой", "Мы знаем о сбое.")
    w = desk.open_incident(ops, "Сбой", "Мы знаем о сбое.")
    filed = world.file()
    for who in (world.requester, world.curator, world.auditor):
        with pytest.raises((Forbidden, InvalidTransition)):
            desk.link_to_incident(who, w.id, (filed.id,))
    desk.link_to_incident(world.agent, w.id, (filed.id,))  # whoever works requests links them
    for who in (world.agent, world.curator, world.requester):
        with pytest.raises(Forbidden):
            desk.publish_incident_update(who, w.id, "Новости")
        with pytest.raises(Forbidden):
            desk.resolve_incident(who, w.id, "Исправлено")
    with pytest.raises(Forbidden):
        desk.incident(world.requester, w.id)


def test_linked_requesters_are_told_the_notice_each_update_and_the_answer_once(
    world: World,
) -> None:
    desk = world.desk
    w = desk.open_incident(
        world.developer,
        "Не подписываются контракты",
        "Мы знаем о сбое подписи и исправляем его.",
        Criteria(world.contracts),
    )
    first, second, done = world.file().id, world.file().id, world.file().id
    desk.resolve(world.agent, done, "Решено отдельно")
    desk.link_to_incident(world.agent, w.id, (first, done))
    notice = "**Не подписываются контракты**\n\nМы знаем о сбое подписи и исправляем его."
    assert told(desk, first) == [("Replied", notice)]
    assert told(desk, done) == [("Resolved", "Решено отдельно")], "a resolved one is not told"
    with pytest.raises(InvalidTransition):
        desk.link_to_incident(world.agent, w.id, (first,))
    desk.publish_incident_update(world.developer, w.id, "Исправление к 15:00.")
    assert desk.auto_link(w.id, (second, first)) is not None
    assert told(desk, second) == [("Replied", notice + "\n\nИсправление к 15:00.")]
    assert told(desk, first) == [("Replied", notice), ("Replied", "Исправление к 15:00.")]
    assert desk.deliver_incident(w.id) is None, "nothing more to tell"
    desk.unlink_from_incident(world.agent, w.id, second)
    assert desk.auto_link(w.id, (second,)) is None, "taken out by hand: not linked again"
    desk.resolve_incident(world.developer, w.id, "Сбой устранён, подпишите снова.")
    ticket = desk.ticket(world.admin, first)
    assert ticket.status is Status.RESOLVED and ticket.resolution.startswith("Сбой устранён")
    assert desk.ticket(world.admin, second).status is Status.OPEN, "unlinked: left alone"
    assert desk.deliver_incident(w.id) is None
    incident = desk.incident(world.developer, w.id)
    assert incident.status is IncidentStatus.RESOLVED and set(incident.links) == {first, done}
    with pytest.raises(InvalidTransition):
        desk.publish_incident_update(world.developer, w.id, "Ещё")
    assert desk.auto_link(w.id, (second,)) is None, "a resolved incident takes no requests"
    with pytest.raises(InvalidTransition):
        desk.link_to_incident(world.agent, w.id, (second,))
    fresh = Desk(desk.env)  # through the store, not the cache
    try:
        assert verify(fresh).ok, "every event chains and decodes"
        assert fresh.incident(world.developer, w.id).links == incident.links
    finally:
        fresh.close()


def test_an_answer_can_be_offered_without_resolving(world: World) -> None:
    desk = world.desk
    proposal = desk.fire_trigger(_rule_set(world), datetime.now(UTC), 3)
    assert proposal is not None
    with pytest.raises(InvalidInput):
        desk.open_incident(world.developer, "", "Описание", proposal_id=proposal.id)
    desk.open_incident(world.developer, "Сбой", "Мы знаем.", proposal_id=proposal.id)
    with pytest.raises(InvalidTransition):
        desk.open_incident(world.developer, "Сбой", "Мы знаем.", proposal_id=proposal.id)
    t = world.file().id
    desk.auto_link(proposal.id, (t,))
    desk.resolve_incident(world.developer, proposal.id, "Обходной путь: ...", False)
    assert told(desk, t)[-1] == ("Replied", "Обходной путь: ...")
    assert desk.ticket(world.admin, t).status is Status.OPEN, "left to its agent"
    fresh = Desk(desk.env)
    loaded = fresh.repository.get(proposal.id)
    fresh.close()
    assert isinstance(loaded, MassIncident) and loaded.resolve_requests is False


def _rule_set(world: World) -> UUID:
    r = rule(world)
    world.desk.set_trigger_rules(world.admin, (r,))
    return r.id
