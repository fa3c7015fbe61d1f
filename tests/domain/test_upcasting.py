"""Tickets stored before later attributes existed still load, work and verify.

A snapshot keeps a ticket's attributes as they were when it was taken: one taken before
urgency, knowledge-base links, SLA alarms, follow-ups and quality reviews existed has none of
them. The Ticket's class-version upcaster gives such a snapshot the values a ticket had then;
events stored without a later field read it as the field's default.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from domain.chain import GENESIS, event_link
from domain.desk import Desk
from domain.integrity import verify
from domain.people import Account, Group, GroupKind, Role
from domain.settings import Settings
from domain.ticket import Channel, Priority, Ticket, Urgency
from tests.domain.support import replayed_without_snapshots, state_of, uncached
from tests.domain.test_integrity import Rows
from tests.world import World

# What a snapshot held before issue 7 (the attributes its tickets were filed with then).
LATER = ("class_version", "urgency", "visitor_key_hash", "kind", "raised_by", "articles",
         "sla_alarms", "follow_ups", "follow_ups_done", "quality_reviewed")  # fmt: skip


@pytest.fixture
def rows(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Rows]:
    schema = request.getfixturevalue("pg_schema") if settings.uses_postgres else None
    rows = Rows(settings, schema)
    yield rows
    (rows.pg if rows.postgres else rows.lite).close()


def _make_old(desk: Desk, rows: Rows, ticket_id: UUID, version: int) -> None:
    """Rewrites the stored snapshot as the code of that time wrote it: without the later ones."""
    transcoder = desk.mapper.transcoder
    stored: dict[str, Any] = transcoder.decode(rows.state(ticket_id, version, rows.snapshots))
    for name in LATER:
        stored["state"].pop(name, None)
    rows.set_state(ticket_id, version, transcoder.encode(stored), rows.snapshots)


def test_a_ticket_snapshotted_before_the_later_attributes_loads_works_and_verifies(
    world: World, settings: Settings, rows: Rows
) -> None:
    desk = world.desk
    filed = world.file()
    for n in range(49):
        desk.note(world.engineer, filed.id, f"Попытка {n}")
    assert rows.snapshot_versions(filed.id) == [50]
    _make_old(desk, rows, filed.id, 50)

    old = uncached(settings.store_env())
    try:
        ticket = old.ticket(world.agent, filed.id)
        assert ticket.version == 51  # the snapshot at 50, then one more event
        assert (ticket.urgency, ticket.kind.value, ticket.raised_by) == (
            Urgency.NORMAL, "request", None)  # fmt: skip
        assert (ticket.articles, ticket.sla_alarms, ticket.follow_ups) == ((), (), ())
        assert (ticket.follow_ups_done, ticket.quality_reviewed) == ((), False)
        assert state_of(ticket) == state_of(replayed_without_snapshots(old, filed.id))
        assert verify(old).problems == []  # the old snapshot is what its events replay to

        due = ticket.modified_on
        assert ticket.raise_sla_alarm("first_response_breach", due, "Стандарт")
        assert not ticket.raise_sla_alarm("first_response_breach", due, "Стандарт")
        old.save(ticket)
        again = uncached(settings.store_env())
        try:
            assert again.ticket(world.agent, filed.id).sla_alarms == (
                ("first_response_breach", due),)  # fmt: skip
        finally:
            again.close()
    finally:
        old.close()


def test_a_filing_stored_before_urgency_existed_reads_as_normal_and_verifies(
    world: World, settings: Settings
) -> None:
    desk = world.desk
    ticket = Ticket.file(
        ticket_id=UUID("00000000-0000-4000-8000-000000000013"),
        number=913,
        channel=Channel.CABINET,
        category_id=world.contracts,
        subject="Заявка до issue 13",
        description="Подана, когда срочности ещё не было.",
        fields={},
        requester_id=world.requester.id,
        priority=Priority.NORMAL,
    )
    (filing,) = ticket.pending_events
    del vars(filing)["urgency"]  # the event as it was decided, chained and stored then
    object.__setattr__(filing, "chain", event_link(GENESIS, filing))
    desk.save(ticket)

    fresh = uncached(settings.store_env())
    try:
        (stored,) = fresh.events.get(ticket.id)
        assert "urgency" not in vars(stored)  # read as stored: its chain still holds
        loaded = fresh.ticket(world.requester, ticket.id)
        assert (loaded.urgency, loaded.subject) == (Urgency.NORMAL, "Заявка до issue 13")
        assert verify(fresh).problems == []
    finally:
        fresh.close()


def test_account_and_group_snapshots_of_version_one_get_their_later_attributes() -> None:
    account = Account.register("petrov", "Пётр Петров", (Role.AGENT,))
    group = Group.form("Первая линия", GroupKind.LINE_1)
    for aggregate, later in ((account, "away"), (group, "lead_id")):
        snapshot = type(aggregate).Snapshot.take(aggregate)
        assert snapshot.state.pop("class_version") == 2
        snapshot.state.pop(later)  # as taken before the attribute existed
        loaded = snapshot.mutate(None)
        assert getattr(loaded, later) in (False, None)
    assert (account.away, group.lead) == (False, None)


def test_values_stored_under_their_old_topic_still_load() -> None:
    """Events written before the ticket's values moved to domain/tickets/values.py name them
    `domain.ticket:Status`...; the transcoder still reads them, as the same objects."""
    from eventsourcing.utils import get_topic

    from domain.ticket import Attachment, Status
    from domain.transcoder import from_plain

    assert get_topic(Status) == "domain.tickets.values:Status"
    old = {"_type_": "enum", "_data_": ["domain.ticket:Status", "open"]}
    assert from_plain(old) is Status.OPEN
    file = {"_type_": "object", "_data_": ["domain.ticket:Attachment", {
        "name": "a.pdf", "size": 1, "sha256": "ab" * 32, "media_type": "application/pdf",
        "internal": False}]}  # fmt: skip
    assert from_plain(file) == Attachment("a.pdf", 1, "ab" * 32, "application/pdf")
