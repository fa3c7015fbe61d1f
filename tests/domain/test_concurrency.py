"""Two agents answer one request at the same moment, each through their own Desk process."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from domain.access import Actor
from domain.desk import Desk
from domain.errors import Conflict
from domain.results import Written
from domain.ticket import Ticket
from tests.domain.support import position
from tests.world import World


class RacingDesk(Desk):
    """A Desk whose first save waits until its rival is about to save too, so the two collide."""

    name = "Desk"  # the same store (PostgreSQL table names follow the application's name)

    def __init__(self, env: dict[str, str], start: threading.Barrier) -> None:
        super().__init__(env)
        self.start, self.saves = start, 0

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        self.saves += 1
        if self.saves == 1:
            self.start.wait()
        return super().save(*objs, **kwargs)


def race(
    env: dict[str, str], ticket_id: UUID, replies: list[tuple[Actor, str]], expected: int | None
) -> tuple[list[Written | Conflict], list[RacingDesk]]:
    """Each agent replies through its own Desk, both having read the same version."""
    start = threading.Barrier(len(replies), timeout=20)
    desks = [RacingDesk(env, start) for _ in replies]
    outcomes: list[Written | Conflict | None] = [None] * len(replies)

    def reply(i: int) -> None:
        actor, body = replies[i]
        try:
            outcomes[i] = desks[i].reply(actor, ticket_id, body, expected_version=expected)
        except Conflict as conflict:
            outcomes[i] = conflict

    threads = [threading.Thread(target=reply, args=(i,)) for i in range(len(replies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for desk in desks:
        desk.close()
    assert all(o is not None for o in outcomes), outcomes
    return [o for o in outcomes if o is not None], desks


def replies(desk: Desk, ticket_id: UUID) -> list[tuple[int, str]]:
    return [
        (e.originator_version, e.body)
        for e in desk.events.get(ticket_id)
        if isinstance(e, Ticket.Replied)
    ]


def test_the_same_version_answered_twice_keeps_exactly_one_answer(
    world: World, store_env: dict[str, str]
) -> None:
    filed = world.file()
    answers = [(world.agent, "Переустановите сертификат."), (world.engineer, "Очистите кэш.")]
    outcomes, desks = race(store_env, filed.id, answers, expected=filed.version)

    won = [i for i, o in enumerate(outcomes) if isinstance(o, Written)]
    lost = [i for i, o in enumerate(outcomes) if isinstance(o, Conflict)]
    assert len(won) == 1 and len(lost) == 1
    winner, conflict = outcomes[won[0]], outcomes[lost[0]]
    assert isinstance(winner, Written) and isinstance(conflict, Conflict)
    assert (winner.id, winner.version) == (filed.id, filed.version + 1)
    assert (conflict.aggregate_id, conflict.expected, conflict.current) == (
        filed.id,
        filed.version,
        filed.version + 1,
    )
    assert f"you saw version {filed.version}, it is now at {filed.version + 1}" in conflict.message
    assert replies(world.desk, filed.id) == [(filed.version + 1, answers[won[0]][1])]
    assert world.desk.ticket(world.agent, filed.id).version == filed.version + 1
    assert position(world.desk) == winner.position
    assert [d.saves for d in desks] == [1, 1]  # the loser was refused, not retried


def test_a_stale_version_is_refused_with_the_current_one(world: World) -> None:
    filed = world.file()
    world.desk.reply(world.agent, filed.id, "Первый ответ")
    before = position(world.desk)
    try:
        world.desk.reply(world.engineer, filed.id, "Второй ответ", expected_version=filed.version)
    except Conflict as conflict:
        assert (conflict.expected, conflict.current) == (filed.version, filed.version + 1)
    else:
        raise AssertionError("a reply to a stale version was accepted")
    assert position(world.desk) == before
    assert replies(world.desk, filed.id) == [(filed.version + 1, "Первый ответ")]


def test_without_an_expected_version_both_answers_are_kept_in_order(
    world: World, store_env: dict[str, str]
) -> None:
    filed = world.file()
    answers = [(world.agent, "Проверьте подпись."), (world.engineer, "Проверьте сертификат.")]
    outcomes, desks = race(store_env, filed.id, answers, expected=None)

    assert all(isinstance(o, Written) for o in outcomes), outcomes
    written = sorted((o.version, o.position) for o in outcomes if isinstance(o, Written))
    assert [v for v, _ in written] == [filed.version + 1, filed.version + 2]
    assert written[0][1] < written[1][1]  # log order follows version order
    stored = replies(world.desk, filed.id)
    assert sorted(body for _, body in stored) == sorted(body for _, body in answers)
    assert [v for v, _ in stored] == [filed.version + 1, filed.version + 2]
    assert sorted(d.saves for d in desks) == [1, 2]  # the later one saw the earlier and retried
    assert world.desk.ticket(world.agent, filed.id).version == filed.version + 2
