"""Exactly once: crashes roll a batch back whole, restarts resume, replays agree, workers share."""

from __future__ import annotations

import logging
import random
from contextlib import closing
from typing import cast
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.desk import Desk
from domain.errors import Conflict
from domain.settings import Settings
from domain.ticket import Ticket
from processes.system import read_side
from projections.runner import Runner
from projections.system import Projections
from tests.projections.stories import busy_day, dump, fresh_store, positions, pump_lock_holders
from tests.world import World

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ONLY_POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]


class Crash(Exception):
    """What the injected faults raise."""


class Fault:
    """A runner's `fault` hook: raises once on reaching `at` (or the first position past it)."""

    def __init__(self, at: int | None = None) -> None:
        self.at, self.crashes, self.seen = at, 0, list[int]()

    def __call__(self, position: int) -> None:
        self.seen.append(position)
        if self.at is not None and position >= self.at:
            self.at, self.crashes = None, self.crashes + 1
            raise Crash(position)


def runner(p: Projections, name: str, fault: Fault | None = None, batch: int = 1000) -> Runner:
    """A new runner of one of `p`'s views, as a restarted process would make it."""
    view = p.runner(name).view
    return Runner(p.desk, p.db, view, p.positions, p.wakeup, batch=batch, fault=fault)


def rebuilt(p: Projections) -> dict[str, list[tuple[object, ...]]]:
    """The views replayed from an empty state by one full replay each."""
    for r in p.runners:
        r.rebuild()
    return dump(p)


def race(desk: Desk, ticket_id: UUID, by: UUID | None) -> None:
    """Two agents load the same version and both add a note: the second's save is refused."""
    assert by is not None
    first, second = (cast(Ticket, desk.repository.get(ticket_id)) for _ in range(2))
    if first.status == "closed":
        return
    first.add_note(by, "Беру в работу")
    desk.save(first)
    second.add_note(by, "Нет, я беру")
    if desk.group_commit is not None:  # else it knows `second` stale and refuses it unwritten
        desk.group_commit.forget()
    with pytest.raises(IntegrityError):
        desk.save(second)  # on PostgreSQL this burns notification ids: the log gets a gap
    desk.note(desk.actor_for(by), ticket_id, "Нет, я беру")  # reloaded, the second tries again


@pytest.mark.parametrize("same_runner", [False, True], ids=["new-runner", "same-runner"])
def test_a_crash_mid_batch_rolls_back_and_a_restart_repeats_nothing(
    world: World, projections: Projections, same_runner: bool
) -> None:
    d, agent = world.desk, world.agent
    tickets = [world.file(subject=f"Заявка {i}").id for i in range(3)]
    for t in tickets:
        d.reply(agent, t, "Проверьте сертификаты")
        d.note(agent, t, "Сбой сертификата")
    target = d.reply(agent, tickets[1], "Ответ, на котором упадёт проекция").position
    d.write(world.requester, tickets[2], "Спасибо, жду")
    for r in projections.runners:
        r.step(batch=2)
    before, tracked = dump(projections), positions(projections)
    crashed = [r.view.name for r in projections.runners if Ticket.Replied in r.view.handlers]
    assert sorted(crashed) == ["activity", "analytics", "knowledge", "notifications", "releases",
                              "search", "sla", "tickets", "timeline"]  # fmt: skip
    assert all(0 < tracked[name] < target for name in crashed)

    faults = {name: Fault(at=target) for name in crashed}
    crashing = {name: runner(projections, name, faults[name]) for name in crashed}
    for name, r in crashing.items():
        with pytest.raises(Crash):
            r.step()
        assert faults[name].seen[-1] == target
        assert len(faults[name].seen) > 1  # rows were written before the crash, then undone
    assert positions(projections) == tracked
    assert dump(projections) == before

    for name, r in crashing.items():
        if same_runner:
            r.fault = None
        else:
            r = runner(projections, name)
        r.catch_up()
    projections.catch_up()  # the views that did not crash
    head = d.recorder.max_notification_id()
    assert positions(projections) == {name: head for name in tracked}
    resumed = dump(projections)
    assert len(resumed["v_timeline"]) == 3 * 4 + 2  # Filed, Assigned, reply, note; 2 more
    assert resumed == rebuilt(projections)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("work"), st.integers(0, 2**32), st.integers(1, 8)),
        st.tuples(st.just("step"), st.integers(0, 2), st.integers(1, 12)),
        st.tuples(st.sampled_from(["fault", "crash"]), st.integers(0, 2), st.integers(0, 6)),
        st.tuples(st.sampled_from(["restart", "race"]), st.integers(0, 2), st.just(0)),
    ),
    min_size=4,
    max_size=30,
)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15, deadline=None)
@given(ops=OPS)
def test_random_work_crashes_and_restarts_end_where_one_replay_ends(
    backend: str, ops: list[tuple[str, int, int]]
) -> None:
    with fresh_store(backend) as store, closing(Desk(store.store_env())) as desk:
        world = World.build(desk)
        p = read_side(desk, store)
        p.migrate()
        try:
            tickets = [world.file(subject=f"Заявка {i}").id for i in range(3)]
            desk.note(world.agent, tickets[0], "Смотрю")  # a person changed it meanwhile
            with pytest.raises(Conflict):  # an agent answers a version he no longer sees
                desk.reply(world.agent, tickets[0], "Устаревший ответ", expected_version=1)
            race(desk, tickets[0], world.agent.id)
            names = [r.view.name for r in p.runners]
            faults = [Fault() for _ in names]
            runners = [runner(p, n, f) for n, f in zip(names, faults, strict=True)]
            for op, a, b in ops:
                if op == "work":
                    busy_day(world, random.Random(a), tickets, b)
                elif op == "race":
                    race(desk, tickets[a], world.engineer.id)
                elif op == "restart":
                    runners[a] = runner(p, names[a], faults[a])
                else:  # a fault armed some events ahead may strike in this batch or a later one
                    if op in ("fault", "crash"):
                        faults[a].at = positions(p)[names[a]] + 1 + b
                    if op == "fault":
                        continue
                    before, tracked = dump(p), positions(p)
                    try:
                        runners[a].step(batch=b if op == "step" else None)
                    except Crash:
                        assert (dump(p), positions(p)) == (before, tracked)
            event("crashed" if any(f.crashes for f in faults) else "no crash")
            for f in faults:
                f.at = None
            for r in runners:
                r.catch_up()
            ids = [n.id for n in desk.recorder.select_notifications(start=1, limit=10**6)]
            if backend == "postgres":
                assert ids != list(range(1, ids[-1] + 1))  # the refused save burnt ids
            assert positions(p) == dict.fromkeys(names, ids[-1])
            assert dump(p) == rebuilt(p)
        finally:
            p.db.close()


def test_a_crashed_runner_thread_restarts_by_itself(
    world: World, projections: Projections, caplog: pytest.LogCaptureFixture
) -> None:
    d = world.desk
    tickets = [world.file(subject=f"Заявка {i}").id for i in range(3)]
    target = d.reply(world.agent, tickets[0], "Ответ, на котором упадёт проекция").position
    last = d.reply(world.agent, tickets[2], "Последний ответ").position
    replies = [r for r in projections.runners if Ticket.Replied in r.view.handlers]
    faults = {r.view.name: Fault(at=target) for r in replies}
    for r in replies:
        r.fault = faults[r.view.name]
    with caplog.at_level(logging.ERROR, logger="suz.projections"):
        projections.start()
        assert projections.wait_for(last, timeout=20)
        more = d.note(world.agent, tickets[1], "После сбоя всё работает").position
        assert projections.wait_for(more, timeout=20)
        projections.stop()
    assert {n: f.crashes for n, f in faults.items()} == dict.fromkeys(faults, 1)
    failed = [r.getMessage() for r in caplog.records if r.exc_info and r.exc_info[0] is Crash]
    assert len(failed) == len(faults)  # each view's crash was logged, with its traceback
    assert all(any(name in message for message in failed) for name in faults)
    for f in faults.values():  # after the crash the batch was redone from its start, once
        assert f.seen.count(target) == 2
    assert dump(projections) == rebuilt(projections)


@pytest.mark.parametrize("settings", ONLY_POSTGRES, indirect=True)
def test_two_workers_run_each_view_once_and_the_second_takes_over(
    world: World, projections: Projections, settings: Settings
) -> None:
    d = world.desk
    ticket = world.file(subject="Заявка для двух процессов").id
    notes = [r.view.name for r in projections.runners if Ticket.NoteAdded in r.view.handlers]
    first_faults = {name: Fault() for name in notes}
    for name in notes:
        projections.runner(name).fault = first_faults[name]
    with closing(Desk(settings.store_env())) as other_desk:
        second = read_side(other_desk, settings)
        second_faults = {name: Fault() for name in notes}
        for name in notes:
            second.runner(name).fault = second_faults[name]
        try:
            projections.start()
            assert projections.wait_for(d.reply(world.agent, ticket, "Раз").position, 10)
            second.start()
            both = d.reply(world.agent, ticket, "Два").position
            assert projections.wait_for(both, 10) and second.wait_for(both, 10)
            assert len(pump_lock_holders(second)) == 1
            assert all(f.seen == [] for f in second_faults.values())  # standing by
            assert all(both in f.seen for f in first_faults.values())

            projections.stop()
            after = d.note(world.agent, ticket, "Первый процесс остановлен").position
            assert second.wait_for(after, timeout=15)
            assert all(f.seen == [after] for f in second_faults.values())
            assert all(after not in f.seen for f in first_faults.values())
            assert len(pump_lock_holders(second)) == 1
        finally:
            second.stop()
            second.db.close()
    assert dump(projections) == rebuilt(projections)


@pytest.mark.parametrize("settings", ONLY_POSTGRES, indirect=True)
def test_two_desks_in_two_schemas_of_one_database_keep_to_their_own(
    world: World, projections: Projections
) -> None:
    """Advisory locks and NOTIFY are per database: each schema's views run and report alone."""
    with fresh_store("postgres") as store, closing(Desk(store.store_env())) as desk:
        other = read_side(desk, store)
        other.migrate()
        try:
            projections.start()
            other.start()
            own = World.build(desk).file().position
            assert other.wait_for(own, timeout=10)
            far = max(world.file(subject=f"Заявка {i}").position for i in range(20))
            assert far > own + 10
            assert projections.wait_for(far, timeout=10)
            assert not other.wait_for(own + 1, timeout=1.0)  # the first desk's positions
            assert {r.view.name: other.positions.reached(r.view.name) for r in other.runners} == {
                r.view.name: own for r in other.runners
            }
            assert len(pump_lock_holders(projections, other)) == 2
        finally:
            other.stop()
            other.db.close()


def test_ticket_events_are_what_the_views_count(world: World, projections: Projections) -> None:
    busy_day(world, random.Random(7), [world.file().id], 30)
    projections.catch_up()
    with projections.db.read() as tx:
        timeline_rows = tx.one("SELECT COUNT(*) FROM v_timeline")
    events = world.desk.recorder.select_notifications(start=1, limit=10**6)
    ticket_events = [n for n in events if ":Ticket." in n.topic]
    assert timeline_rows == (len(ticket_events),)
    assert {n.topic.rsplit(".", 1)[1] for n in ticket_events} <= set(vars(Ticket))
