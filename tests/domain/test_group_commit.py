"""Agents answering at the same moment are written together: one transaction for a batch of
commands, and still each command's own version check (domain/group_commit.py).

Every story makes its batch for certain: a first save is held open right after its transaction
(the committer still counts it as in flight), the commands under test queue behind it, and once
they all wait it is let go, so the next leader takes them all as one batch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent, Tracking

from domain.claim import Claim, claim_id
from domain.desk import Desk
from domain.errors import Conflict
from domain.group_commit import GroupCommitter, Taken, install
from domain.integrity import verify
from domain.results import FiledTicket, Written
from domain.settings import Settings
from processes.system import read_side
from projections.feed import changes
from projections.system import Projections
from projections.timeline import timeline
from tests.domain.lost_commit_proxy import LostCommitProxy
from tests.domain.support import history, position
from tests.world import World

WAIT = 30.0  # seconds a story waits for its threads before calling it a hang


class Transactions:
    """The real recorder's insert_events calls (one transaction each), counted by the events
    each wrote; `hold_next` keeps the next call from returning until `let_go`."""

    def __init__(self, desk: Desk) -> None:
        self.events: list[int] = []
        self._insert = desk.recorder.insert_events
        self._hold = False
        self.holding, self._released = threading.Event(), threading.Event()
        setattr(desk.recorder, "insert_events", self.insert_events)  # noqa: B010 (a method)

    def insert_events(self, stored: Sequence[StoredEvent], **kwargs: Any) -> Any:
        self.events.append(len(stored))
        try:
            return self._insert(stored, **kwargs)
        finally:
            if self._hold:
                self._hold = False
                self.holding.set()
                self._released.wait(WAIT)

    def hold_next(self) -> None:
        self.holding.clear()
        self._released.clear()
        self._hold = True

    def let_go(self) -> None:
        self._released.set()


Outcome = Any  # what a command answered, or the DeskError it raised


def in_one_batch(
    committer: GroupCommitter,
    transactions: Transactions,
    plug: Callable[[], object],
    commands: Sequence[Callable[[], object]],
    before_release: Callable[[], object] = lambda: None,
) -> list[Outcome]:
    """Runs `plug`, holds its save open, queues every command's save behind it, then lets go."""
    outcomes: list[Outcome] = [None] * len(commands)

    def run(i: int) -> None:
        try:
            outcomes[i] = commands[i]()
        except Conflict as conflict:
            outcomes[i] = conflict

    transactions.hold_next()
    plugging = threading.Thread(target=plug)
    plugging.start()
    assert transactions.holding.wait(WAIT)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(commands))]
    for thread in threads:
        thread.start()
    try:
        assert committer.wait_until_queued(len(commands), WAIT)
        before_release()
    finally:
        transactions.let_go()
    for thread in [plugging, *threads]:
        thread.join(WAIT)
    assert not any(t.is_alive() for t in [plugging, *threads])
    return outcomes


@pytest.fixture
def committer(desk: Desk) -> GroupCommitter:
    installed = install(desk, window_us=200)
    assert installed is not None
    return installed


@pytest.fixture
def transactions(desk: Desk, committer: GroupCommitter) -> Transactions:
    return Transactions(desk)


def reply(world: World, ticket: FiledTicket | Written, body: str) -> Callable[[], Written]:
    return lambda: world.desk.reply(world.agent, ticket.id, body, expected_version=ticket.version)


def test_sixteen_agents_answering_at_once_are_written_in_one_transaction(
    world: World, committer: GroupCommitter, transactions: Transactions
) -> None:
    tickets = [world.file(f"Запрос {i}") for i in range(17)]
    transactions.events.clear()

    answers = [reply(world, t, f"Ответ на запрос {i}") for i, t in enumerate(tickets[1:])]
    outcomes = in_one_batch(committer, transactions, reply(world, tickets[0], "Первый"), answers)

    assert all(isinstance(o, Written) for o in outcomes), outcomes
    assert len(transactions.events) == 2  # the held save, then the sixteen answers together
    assert transactions.events[1] == 16
    for ticket, written in zip(tickets[1:], outcomes, strict=True):
        assert (written.id, written.version) == (ticket.id, ticket.version + 1)
        assert history(world.desk, ticket.id).count("Replied") == 1
        # each answer's position is its own event's place in the log
        stored = world.desk.recorder.select_notifications(written.position, 1)[0]
        assert (stored.originator_id, stored.originator_version) == (ticket.id, written.version)
    assert len({w.position for w in outcomes}) == 16
    assert max(w.position for w in outcomes) == position(world.desk)


def test_two_answers_to_one_version_in_a_batch_refuse_only_the_later(
    world: World, committer: GroupCommitter, transactions: Transactions
) -> None:
    contested, *others = [world.file(f"Запрос {i}") for i in range(5)]
    plug = world.file("Другой запрос")
    transactions.events.clear()

    commands = [
        reply(world, contested, "Переустановите сертификат."),
        reply(world, contested, "Очистите кэш браузера."),
        *[reply(world, t, f"Ответ {i}") for i, t in enumerate(others)],
    ]
    outcomes = in_one_batch(committer, transactions, reply(world, plug, "Держим"), commands)

    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1
    assert (refused[0].expected, refused[0].current) == (contested.version, contested.version + 1)
    assert all(isinstance(o, Written) for o in outcomes[2:])  # the neighbours were written
    assert history(world.desk, contested.id).count("Replied") == 1
    for ticket in others:
        assert history(world.desk, ticket.id).count("Replied") == 1
    # the later answer meets the earlier's key: the other five go in one transaction and it is
    # refused without an insert (no batch refused whole, nothing written save by save)
    assert transactions.events == [1, 5]
    assert committer.taken == 1


def test_filings_in_one_batch_take_distinct_numbers(
    world: World, committer: GroupCommitter, transactions: Transactions
) -> None:
    first = world.file("Первый")

    filings: list[Callable[[], object]] = [lambda: world.file("В пачке") for _ in range(12)]
    outcomes = in_one_batch(committer, transactions, lambda: world.file("Держим"), filings)

    numbers = sorted(o.number for o in outcomes)
    assert numbers == list(range(first.number + 2, first.number + 14))
    for filed in outcomes:
        claim = world.desk.repository.get(claim_id(f"ticket:{filed.number}"))
        assert isinstance(claim, Claim) and claim.owner_id == filed.id


def test_a_batch_meeting_another_process_s_numbers_refiles_only_the_clashing(
    world: World, store_env: dict[str, str], committer: GroupCommitter
) -> None:
    other = Desk(store_env)  # a second process, its numbers read once at its first filing
    try:
        install(other, window_us=200)
        other_world = World(**{**vars(world), "desk": other})
        last = other_world.file("Из второго процесса")
        taken = [world.file(f"Занят {i}") for i in range(3)]  # numbers the other has not seen
        transactions = Transactions(other)

        filings: list[Callable[[], object]] = [
            lambda: other_world.file("В пачке") for _ in range(5)
        ]
        committer_of_other = other.events.recorder
        assert isinstance(committer_of_other, GroupCommitter)
        hold = reply(other_world, last, "Держим")
        outcomes = in_one_batch(committer_of_other, transactions, hold, filings)
    finally:
        other.close()

    ours = [o.number for o in outcomes]
    everyone = [last.number, *(t.number for t in taken), *ours]
    assert len(set(everyone)) == len(everyone)  # no number twice
    assert [t.number for t in taken] == [last.number + 1, last.number + 2, last.number + 3]
    # the batch's numbers were last+1..last+5: the two that did not clash were kept, the three
    # that clashed were filed again above them
    assert sorted(ours) == list(range(last.number + 4, last.number + 9))
    for filed in [*taken, *outcomes]:
        claim = world.desk.repository.get(claim_id(f"ticket:{filed.number}"))
        assert isinstance(claim, Claim) and claim.owner_id == filed.id


def test_answers_in_a_batch_that_reach_the_fiftieth_event_are_snapshotted(
    world: World, committer: GroupCommitter, transactions: Transactions
) -> None:
    desk = world.desk
    tickets = [world.file(f"Долгий {i}") for i in range(4)]
    for ticket in tickets:
        for day in range(49 - ticket.version):
            desk.note(world.engineer, ticket.id, f"День {day}")
    at_49 = [desk.ticket(world.agent, t.id) for t in tickets]
    assert [t.version for t in at_49] == [49] * 4
    plug = world.file("Держим")

    answers = [reply(world, Written(t.id, 0, t.version), "Исправлено.") for t in at_49]
    outcomes = in_one_batch(committer, transactions, reply(world, plug, "Держим"), answers)

    assert [o.version for o in outcomes] == [50] * 4
    assert transactions.events[-1] == 4  # the four answers together
    for ticket in tickets:
        snapshots = [s.originator_version for s in desk.snapshots.get(ticket.id)]  # type: ignore[union-attr]
        assert snapshots == [50]
    assert verify(desk).problems == []


@pytest.fixture
def projections(desk: Desk, settings: Settings) -> Iterator[Projections]:
    p = read_side(desk, settings)
    p.migrate()
    yield p
    p.stop()
    p.db.close()


def test_the_views_see_every_batched_event_once(
    world: World,
    committer: GroupCommitter,
    transactions: Transactions,
    projections: Projections,
) -> None:
    tickets = [world.file(f"Запрос {i}") for i in range(5)]
    transactions.events.clear()
    commands: list[Callable[[], object]] = [
        *[reply(world, t, "Ответ") for t in tickets[:4]],
        *[lambda: world.file("Новый") for _ in range(3)],
        lambda: world.desk.note(world.engineer, tickets[4].id, "Заметка"),
    ]
    outcomes = in_one_batch(committer, transactions, lambda: world.file("Держим"), commands)
    assert len(transactions.events) == 2  # the held filing, then the eight commands together

    projections.catch_up()

    ids = {t.id for t in tickets} | {o.id for o in outcomes}
    with projections.db.read() as tx:
        for ticket_id in ids:
            seen = [e.event for e in timeline(tx, str(ticket_id), staff=True)]
            assert seen == history(world.desk, ticket_id)
            fed = [c.event for c in changes(tx, [f"ticket:{ticket_id}"], 0)]
            assert fed == history(world.desk, ticket_id)
            version = tx.one("SELECT version FROM v_tickets WHERE id = %s", (str(ticket_id),))
            assert version == (len(history(world.desk, ticket_id)),)


def test_a_save_with_a_tracking_record_does_not_wait_for_the_batch(
    desk: Desk, committer: GroupCommitter, transactions: Transactions
) -> None:
    claim = Claim.take(f"key:{uuid4()}", uuid4())
    stored = [desk.mapper.to_stored_event(e) for e in claim.collect_events()]
    transactions.hold_next()
    holder = threading.Thread(target=lambda: desk.save(Claim.take(f"key:{uuid4()}", uuid4())))
    holder.start()
    assert transactions.holding.wait(WAIT)
    try:
        alone = threading.Thread(
            target=committer.insert_events, args=(stored,), kwargs={"tracking": Tracking("x", 1)}
        )
        alone.start()
        alone.join(WAIT)
        written_while_held = not alone.is_alive()
    finally:
        transactions.let_go()
    holder.join(WAIT)
    assert written_while_held
    assert len(desk.recorder.select_events(claim.id)) == 1


def test_installing_twice_keeps_one_committer(desk: Desk, settings: Settings) -> None:
    first = install(desk)
    assert first is not None and first.window_us == settings.group_commit_us
    assert install(desk, window_us=300) is first
    assert first.window_us == 300 and first.recorder is desk.recorder
    switched_off = Desk({**settings.store_env(), "SUZ_GROUP_COMMIT_US": "0"})
    try:
        assert install(switched_off) is None
        assert switched_off.events.recorder is switched_off.recorder
    finally:
        switched_off.close()


# -- a batch whose COMMIT answer was lost (PostgreSQL only: SQLite's commit cannot lose it) ---


@pytest.fixture
def proxy() -> Iterator[LostCommitProxy]:
    with LostCommitProxy() as p:
        yield p


@pytest.fixture
def far_desk(pg_schema: str, tmp_path: Path, proxy: LostCommitProxy) -> Iterator[Desk]:
    os.environ["SUZ_DATABASE_SCHEMA"] = pg_schema
    try:
        settings = Settings(data_dir=tmp_path / "data", database_url=proxy.url())
        Desk(settings.store_env(create_tables=True)).close()
        desk = Desk(settings.store_env())
        yield desk
        desk.close()
    finally:
        os.environ.pop("SUZ_DATABASE_SCHEMA", None)


@pytest.mark.postgres
def test_a_batch_whose_commit_answer_was_lost_is_answered_as_written_to_each(
    far_desk: Desk, proxy: LostCommitProxy
) -> None:
    world = World.build(far_desk)
    committer = install(far_desk, window_us=200)
    assert committer is not None
    tickets = [world.file(f"Запрос {i}") for i in range(4)]
    transactions = Transactions(far_desk)

    answers = [reply(world, t, f"Ответ {i}") for i, t in enumerate(tickets[1:])]
    outcomes = in_one_batch(
        committer, transactions, reply(world, tickets[0], "Держим"), answers, proxy.lose_next_commit
    )

    assert proxy.dropped == 1  # the batch's COMMIT answer was lost
    assert transactions.events == [1, 3, 1, 1, 1]  # retried whole, met itself, then alone
    for ticket, written in zip(tickets[1:], outcomes, strict=True):
        assert isinstance(written, Written), written
        assert written.version == ticket.version + 1
        assert history(far_desk, ticket.id).count("Replied") == 1
        stored = far_desk.recorder.select_notifications(written.position, 1)[0]
        assert (stored.originator_id, stored.originator_version) == (ticket.id, written.version)


def test_a_save_at_a_version_committed_here_before_is_refused_without_an_insert(
    world: World, committer: GroupCommitter, transactions: Transactions
) -> None:
    """What two agents answering one ticket at once give when the first's batch commits before
    the second's save arrives: the second's key is known to be stored, so it costs no insert."""
    ticket = world.file("Запрос")
    world.desk.reply(world.agent, ticket.id, "Ответ", expected_version=ticket.version)
    last = world.desk.recorder.select_events(ticket.id, desc=True, limit=1)[0]
    transactions.events.clear()

    with pytest.raises(Taken):
        committer.insert_events([last])
    assert transactions.events == []  # no transaction for it
    assert history(world.desk, ticket.id).count("Replied") == 1

    # a version above it is not refused on the committer's word: the store decides
    again = world.desk.reply(world.agent, ticket.id, "Ещё", expected_version=ticket.version + 1)
    assert again.version == ticket.version + 2
    assert transactions.events == [1]
