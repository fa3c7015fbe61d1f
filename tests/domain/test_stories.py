"""Stories of the support desk: a request from filing to rating, and what the desk refuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from domain.access import Actor
from domain.desk import SYSTEM, Desk
from domain.errors import Forbidden, InvalidInput, InvalidTransition, MissingFields, NotFound
from domain.people import Role
from domain.ticket import Channel, Contact, Status
from tests.domain.support import history, position, refused
from tests.world import World

CONTRACT = "1234567890123456789"


def test_a_request_travels_from_line_1_through_line_2_to_a_rating(world: World) -> None:
    desk = world.desk
    with refused(desk, MissingFields) as missing:
        desk.file_ticket(
            world.requester, world.contracts, "Контракт не публикуется", "Ошибка подписи.", {}
        )
    assert missing.value.fields == ("contract_number",)
    assert "Contract registry number" in missing.value.message

    filed = world.file(amount="1500,50")
    ticket = desk.ticket(world.requester, filed.id)
    assert (ticket.number, ticket.status, ticket.line, ticket.group_id, ticket.requester_id) == (
        filed.number,
        Status.NEW,
        1,
        world.line1,
        world.requester.id,
    )
    assert ticket.fields == {"contract_number": CONTRACT, "amount": Decimal("1500.50")}

    desk.request_information(
        world.agent, filed.id, ("signed_on",), ("Какой текст ошибки?",), "Уточните, пожалуйста."
    )
    ticket = desk.ticket(world.requester, filed.id)
    assert (ticket.status, ticket.requested_fields, ticket.requested_questions) == (
        Status.WAITING,
        ("signed_on",),
        ("Какой текст ошибки?",),
    )

    desk.provide_information(
        world.requester, filed.id, {"signed_on": "2024-03-01"}, ("Ошибка формирования подписи",)
    )
    ticket = desk.ticket(world.requester, filed.id)
    assert (ticket.status, ticket.requested_fields, ticket.requested_questions) == (
        Status.OPEN,
        (),
        (),
    )
    assert ticket.fields == {
        "contract_number": CONTRACT,
        "amount": Decimal("1500.50"),
        "signed_on": date(2024, 3, 1),
    }

    desk.escalate(world.agent, filed.id, world.line2, "Нужен анализ логов подписи")
    ticket = desk.ticket(world.engineer, filed.id)
    assert (ticket.line, ticket.group_id, ticket.assignee_id, ticket.status) == (
        2,
        world.line2,
        None,
        Status.OPEN,
    )

    desk.note(world.engineer, filed.id, "В логах таймаут сервиса подписи.")
    desk.resolve(world.engineer, filed.id, "Сервис подписи восстановлен; повторите публикацию.")
    rated = desk.rate(world.requester, filed.id, 5, "Спасибо!")

    ticket = desk.ticket(world.requester, filed.id)
    assert (ticket.status, ticket.rating, ticket.resolution, ticket.version) == (
        Status.RESOLVED,
        5,
        "Сервис подписи восстановлен; повторите публикацию.",
        rated.version,
    )
    assert history(desk, filed.id) == [
        "Filed",
        "Assigned",
        "InformationRequested",
        "InformationProvided",
        "Escalated",
        "NoteAdded",
        "Resolved",
        "Rated",
    ]
    escalated = list(desk.events.get(filed.id))[4]
    assert (escalated.by, escalated.from_line, escalated.to_line, escalated.reason) == (  # type: ignore[attr-defined]
        world.agent.id,
        1,
        2,
        "Нужен анализ логов подписи",
    )


def resolved(world: World) -> UUID:
    filed = world.file()
    world.desk.resolve(world.agent, filed.id, "Исправлено.")
    return filed.id


def test_a_closed_request_takes_no_more_replies(world: World) -> None:
    ticket_id = resolved(world)
    world.desk.close_ticket(world.agent, ticket_id, "Подтверждено")
    with refused(world.desk, InvalidTransition):
        world.desk.reply(world.agent, ticket_id, "Ещё один ответ")
    with refused(world.desk, InvalidTransition):
        world.desk.write(world.requester, ticket_id, "А у меня ещё вопрос")
    assert world.desk.ticket(world.agent, ticket_id).status is Status.CLOSED


def test_an_open_request_cannot_be_rated(world: World) -> None:
    filed = world.file()
    with refused(world.desk, InvalidTransition):
        world.desk.rate(world.requester, filed.id, 4)
    assert world.desk.ticket(world.requester, filed.id).rating is None


def test_a_request_is_rated_once(world: World) -> None:
    ticket_id = resolved(world)
    world.desk.rate(world.requester, ticket_id, 4)
    with refused(world.desk, InvalidTransition):
        world.desk.rate(world.requester, ticket_id, 1)
    assert world.desk.ticket(world.requester, ticket_id).rating == 4


def test_a_reopened_request_is_rated_afresh(world: World) -> None:
    ticket_id = resolved(world)
    world.desk.rate(world.requester, ticket_id, 2, "Не помогло")
    world.desk.reopen(world.requester, ticket_id, "Ошибка повторилась")
    ticket = world.desk.ticket(world.requester, ticket_id)
    assert (ticket.status, ticket.rating) == (Status.OPEN, None)
    world.desk.resolve(world.engineer, ticket_id, "Исправлено в релизе 2.4")
    world.desk.rate(world.requester, ticket_id, 5)
    assert world.desk.ticket(world.requester, ticket_id).rating == 5
    assert history(world.desk, ticket_id)[2:] == [
        "Resolved",
        "Rated",
        "Reopened",
        "Resolved",
        "Rated",
    ]


def test_only_the_requester_rates_their_request(world: World) -> None:
    ticket_id = resolved(world)
    for someone in (world.colleague, world.agent, world.curator):
        with refused(world.desk, Forbidden):
            world.desk.rate(someone, ticket_id, 1)
    with refused(world.desk, NotFound):
        world.desk.rate(world.stranger, ticket_id, 1)
    with refused(world.desk, InvalidInput) as bad:
        world.desk.rate(world.requester, ticket_id, 6)
    assert bad.value.fields == ("score",)
    assert world.desk.ticket(world.requester, ticket_id).rating is None


def test_escalation_stops_at_line_3(world: World) -> None:
    filed = world.file()
    world.desk.escalate(world.agent, filed.id, world.line2, "Нужен второй уровень")
    world.desk.escalate(world.engineer, filed.id, world.line3, "Нужна разработка")
    with refused(world.desk, InvalidTransition):
        world.desk.escalate(world.engineer, filed.id, world.line3, "Ещё выше")
    assert world.desk.ticket(world.agent, filed.id).line == 3


def test_escalation_goes_to_a_group_of_the_next_line(world: World) -> None:
    filed = world.file()
    (development,) = world.developer.group_ids
    for group in (world.line3, development, world.line1):
        with refused(world.desk, InvalidInput) as wrong:
            world.desk.escalate(world.agent, filed.id, group, "Не туда")
        assert wrong.value.fields == ("group",)
    ticket = world.desk.ticket(world.agent, filed.id)
    assert (ticket.line, ticket.group_id) == (1, world.line1)


@pytest.mark.parametrize("inn", ["7707083894", "500100732258", "770708389", "77070838931", ""])
def test_an_organisation_needs_a_valid_inn(desk: Desk, inn: str) -> None:
    with refused(desk, InvalidInput) as bad:
        desk.register_organisation(SYSTEM, "ООО Ромашка", inn)
    assert bad.value.fields == ("inn",)


def test_valid_inns_register_once(desk: Desk) -> None:
    for inn in ("7707083893", "500100732259"):
        org = desk.register_organisation(SYSTEM, "ООО Ромашка", f" {inn} ")
        assert desk.repository.get(org.id).inn == inn
    with refused(desk, InvalidInput) as taken:
        desk.register_organisation(SYSTEM, "Другая", "7707083893")
    assert taken.value.fields == ("inn",)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("amount", "сто рублей"),
        ("amount", "NaN"),
        ("signed_on", "31.12.2024"),
        ("signed_on", "2024-02-30"),
        ("law", "94-FZ"),
        ("contract_number", "12345"),
        ("contract_number", "1234567890123456789X"),
    ],
)
def test_a_malformed_field_is_refused_by_name(world: World, key: str, value: str) -> None:
    with refused(world.desk, InvalidInput) as bad:
        world.file(**{key: value})
    assert type(bad.value) is InvalidInput
    assert bad.value.fields == (key,)


def test_a_login_is_taken_once_whatever_its_case(world: World) -> None:
    for login in ("ivanova", " IVANOVA "):
        with refused(world.desk, InvalidInput) as taken:
            world.desk.register_account(SYSTEM, login, "Вторая Иванова", (Role.AGENT,))
        assert taken.value.fields == ("login",)
    account = world.desk.account_by_login("Ivanova")
    assert account is not None and account.id == world.requester.id


def test_an_anonymous_visitor_files_through_the_public_form(world: World) -> None:
    desk, visitor = world.desk, Actor.visitor()
    with refused(desk, InvalidInput) as anonymous:
        desk.file_ticket(visitor, world.contracts, "Вопрос", "Текст", {"contract_number": CONTRACT})
    assert anonymous.value.fields == ("contact",)

    contact = Contact("Иван Гостев", "guest@example.org")
    filed = desk.file_ticket(
        visitor,
        world.contracts,
        "Вопрос по реестру",
        "Не нахожу контракт в реестре.",
        {"contract_number": CONTRACT},
        channel=Channel.PUBLIC_FORM,
        contact=contact,
    )
    holder = Actor.visitor(filed.id)
    ticket = desk.ticket(holder, filed.id)
    assert (ticket.channel, ticket.contact, ticket.requester_id, ticket.organisation_id) == (
        Channel.PUBLIC_FORM,
        contact,
        None,
        None,
    )
    desk.write(holder, filed.id, "Дополняю: номер верный.")
    assert history(desk, filed.id)[-1] == "RequesterWrote"
    with refused(desk, NotFound):
        desk.ticket(visitor, filed.id)

    # the private link's key is derived, so a letter can carry it again; only it opens the request
    assert filed.visitor_key == desk.visitor_key(filed.id)
    assert desk.visitor(filed.id, desk.visitor_key(filed.id)) == holder
    for wrong in (desk.visitor_key(world.contracts), filed.visitor_key[:-1] + "A", ""):
        if wrong != filed.visitor_key:
            with refused(desk, NotFound):
                desk.visitor(filed.id, wrong)


def test_ticket_numbers_are_unique_and_increasing(world: World) -> None:
    numbers = [world.file().number for _ in range(3)]
    with refused(world.desk, InvalidInput):
        world.file(subject="   ")
    numbers.append(world.file().number)
    assert numbers == [1, 2, 3, 4]


def test_two_desks_on_one_store_number_alternately(world: World, store_env: dict[str, str]) -> None:
    other = Desk(store_env)

    def file(desk: Desk, subject: str = "Тема") -> int:
        values = {"contract_number": CONTRACT}
        return desk.file_ticket(world.requester, world.contracts, subject, "Текст", values).number

    try:
        numbers = [file(world.desk)]
        with refused(world.desk, InvalidInput):  # a refused filing takes no number
            file(world.desk, subject=" ")
        numbers += [file(desk) for desk in (world.desk, other, world.desk, other, other)]
        with refused(other, InvalidInput):
            file(other, subject=" ")
        numbers.append(file(world.desk))
        assert numbers == [1, 2, 3, 4, 5, 6, 7]
        assert position(other) == position(world.desk)
    finally:
        other.close()
