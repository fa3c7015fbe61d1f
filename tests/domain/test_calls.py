"""Line 1 registers phone calls as requests on the caller's behalf (issue 16, "Phone")."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from domain.access import Actor
from domain.calls import RegisterCall
from domain.errors import Forbidden, InvalidInput
from domain.ticket import Channel, Status
from tests.domain.support import history, position, refused
from tests.world import World

CONTRACT = {"contract_number": "1234567890123456789"}


def call(world: World, **changes: object) -> RegisterCall:
    base = RegisterCall(
        world.contracts, "Не публикуется контракт", "Звонок: ошибка подписи.", dict(CONTRACT),
        caller_id=world.requester.id, phone="+7 495 123-45-67",
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_call_answered_on_the_phone_is_filed_and_resolved_in_one_save(world: World) -> None:
    desk, before = world.desk, position(world.desk)
    filed = desk.register_call(world.agent, call(world, resolution="Переподписать и отправить."))
    # the number's claim, Filed, Assigned (to the agent who answered), Resolved: one save
    assert position(desk) == before + 4 == filed.position
    assert history(desk, filed.id) == ["Filed", "Assigned", "Resolved"]
    ticket = desk.ticket(world.requester, filed.id)  # the caller sees it: it is his request
    assert (ticket.status, ticket.channel, ticket.raised_by, ticket.requester_id) == (
        Status.RESOLVED, Channel.PHONE, world.agent.id, world.requester.id)  # fmt: skip
    assert (ticket.organisation_id, ticket.assignee_id, ticket.resolution) == (
        world.org, world.agent.id, "Переподписать и отправить.")  # fmt: skip
    filed_event = next(iter(desk.events.get(filed.id)))
    assert filed_event.caller_phone == "+7 495 123-45-67"  # type: ignore[attr-defined]
    # the caller rates it like any of his requests (the CSI survey)
    desk.rate(world.requester, filed.id, 5)
    assert desk.ticket(world.requester, filed.id).rating == 5


def test_a_call_escalated_to_line_2_waits_there(world: World) -> None:
    desk = world.desk
    filed = desk.register_call(world.agent, call(world, escalate_to=world.line2,
                                                 reason="Нужны логи подписи."))  # fmt: skip
    assert history(desk, filed.id) == ["Filed", "Assigned", "Escalated"]
    ticket = desk.ticket(world.engineer, filed.id)
    assert (ticket.status, ticket.line, ticket.group_id) == (Status.OPEN, 2, world.line2)


def test_a_call_left_open_is_routed_like_any_request(world: World) -> None:
    desk = world.desk
    filed = desk.register_call(world.agent, call(world))
    ticket = desk.ticket(world.agent, filed.id)
    assert (ticket.status, ticket.line, ticket.group_id, ticket.channel) == (
        Status.NEW, 1, world.line1, Channel.PHONE)  # fmt: skip


def test_a_caller_without_an_account_is_a_contact_of_an_organisation(world: World) -> None:
    desk = world.desk
    filed = desk.register_call(world.agent, call(
        world, caller_id=None, contact_name="Анна Звонова", contact_email="anna@example.ru",
        organisation_id=world.org, resolution="Объяснили порядок."))  # fmt: skip
    ticket = desk.ticket(world.agent, filed.id)
    assert ticket.contact is not None and ticket.contact.email == "anna@example.ru"
    assert (ticket.requester_id, ticket.organisation_id) == (None, world.org)
    # her organisation's people see it (filed by organisation), another organisation does not
    desk.ticket(world.colleague, filed.id)


@pytest.mark.parametrize("who", ["requester", "auditor", "curator", "quality"])
def test_only_workers_register_calls(world: World, who: str) -> None:
    with refused(world.desk, Forbidden):
        world.desk.register_call(getattr(world, who), call(world))
    with refused(world.desk, Forbidden):
        world.desk.register_call(Actor.visitor(), call(world))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"resolution": "Ответ", "escalate_to": "line2"}, "resolution"),
        ({"resolution": "   "}, "resolution"),
        ({"escalate_to": "line2", "reason": ""}, "reason"),
        ({"escalate_to": "line3", "reason": "Срочно"}, "escalate_to"),
        ({"escalate_to": "nothing", "reason": "Срочно"}, "escalate_to"),
        ({"caller_id": "nothing"}, "caller"),
        ({"caller_id": "agent"}, "caller"),
        ({"organisation_id": "other_org"}, "organisation"),
        ({"caller_id": None}, "contact_name"),
        ({"caller_id": None, "contact_name": "Анна", "phone": ""}, "contact_email"),
        ({"caller_id": None, "contact_name": "Анна", "contact_email": "анна"}, "contact_email"),
        ({"phone": "call me"}, "phone"),
        ({"category_id": "nothing"}, "category"),
        ({"fields": {}}, "contract_number"),
        ({"subject": "  "}, "subject"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    world: World, changes: dict[str, object], field: str
) -> None:
    ids = {"line2": world.line2, "line3": world.line3, "nothing": uuid4(),
           "agent": world.agent.id, "other_org": world.other_org}  # fmt: skip
    given = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    with refused(world.desk, InvalidInput) as info:
        world.desk.register_call(world.agent, call(world, **given))
    assert field in info.value.fields
