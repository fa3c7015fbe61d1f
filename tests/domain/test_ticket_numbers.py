"""Ticket numbers only ever go up: across refused commands, failed saves and restarts
(issue 13, point 13)."""

from __future__ import annotations

from uuid import uuid4

from domain.claim import Claim
from domain.desk import Desk
from domain.errors import InvalidInput
from tests.domain.support import refused
from tests.world import World


def file_through(desk: Desk, world: World, subject: str) -> int:
    filed = desk.file_ticket(world.requester, world.contracts, subject, "Описание.",
                             {"contract_number": "1234567890123456789"})  # fmt: skip
    return filed.number


def test_a_refused_knowledge_gap_then_a_restart_never_hands_out_a_lower_number(
    desk: Desk, store_env: dict[str, str]
) -> None:
    world = World.build(desk)
    numbers = [world.file(f"Запрос {i}").number for i in range(5)]
    with refused(desk, InvalidInput):  # an empty subject: refused after a number was taken
        desk.raise_knowledge_gap(world.agent, "", "Нет статьи.", world.line1, (), world.contracts)
    numbers.append(world.file("После отказа").number)
    desk.close()

    restarted = Desk(store_env)
    try:
        after_restart = file_through(restarted, world, "После перезапуска")
    finally:
        restarted.close()

    assert after_restart > max(numbers), (numbers, after_restart)


def test_numbers_follow_on_without_holes_after_refusals(desk: Desk) -> None:
    world = World.build(desk)
    first = world.file("Первый").number
    with refused(desk, InvalidInput):
        desk.raise_knowledge_gap(world.agent, "", "Нет статьи.", world.line1, (), world.contracts)
    with refused(desk, InvalidInput):
        file_through(desk, world, "")

    assert world.file("Второй").number == first + 1


def test_a_second_process_numbers_above_what_the_first_took(
    desk: Desk, store_env: dict[str, str]
) -> None:
    world = World.build(desk)
    other = Desk(store_env)
    try:
        mine = [world.file(f"Запрос {i}").number for i in range(3)]
        theirs = file_through(other, world, "Из другого процесса")
        assert theirs == max(mine) + 1
        assert world.file("Снова здесь").number == theirs + 1
    finally:
        other.close()


def test_numbers_continue_above_the_highest_even_over_a_hole_left_by_older_versions(
    desk: Desk, store_env: dict[str, str]
) -> None:
    """Logs written before the fix may have holes below their highest number."""
    world = World.build(desk)
    for i in range(3):
        world.file(f"Запрос {i}")
    desk.save(Claim.take("ticket:12", uuid4()))  # 4..11 were never stored
    desk.close()

    restarted = Desk(store_env)
    try:
        assert file_through(restarted, world, "Следующий") == 13
    finally:
        restarted.close()
