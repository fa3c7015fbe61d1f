"""An insider with write access to the database, but not the chain key, rewrites history the
way the published code computes it: recomputed chains, forged events appended with valid
chains, events written without a MAC. `verify` and `suz verify` catch each, exactly where.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Mapper

from domain.chain import KeyedMapper, event_link, mac
from domain.desk import Desk
from domain.integrity import verify
from domain.settings import Settings
from tests.domain import test_integrity
from tests.domain.test_integrity import Rows, Story
from tests.world import World

story = test_integrity.story  # the story of tests/domain/test_integrity.py: versions 1..9


@pytest.fixture
def told(story: Story) -> Story:
    return story


def _mapper(desk: Desk) -> KeyedMapper:
    assert isinstance(desk.mapper, KeyedMapper)
    return desk.mapper


def _rewrite(told: Story, version: int, change: Callable[[dict[str, Any]], None],
             macs: Callable[[str, str | None], str | None]) -> None:  # fmt: skip
    """Changes event `version` and recomputes the chain of it and every later event, as the
    published code does; `macs(chain, stored_mac)` is the MAC the tamperer stores (None: none)."""
    desk, ticket = told.world.desk, told.ticket
    plain = Mapper[UUID](transcoder=desk.mapper.transcoder)  # anyone can build this one
    previous = ""
    for stored in desk.recorder.select_events(ticket):
        event, found = _mapper(desk).read(stored)
        if stored.originator_version < version:
            previous = event.chain
            continue
        state = vars(event)
        if stored.originator_version == version:
            change(state)
        state["chain"] = previous = event_link(previous, event)
        if (made := macs(state["chain"], found)) is not None:
            state["mac"] = made
        told.rows.set_state(ticket, stored.originator_version, plain.to_stored_event(event).state)


def _append(told: Story, mac_of: Callable[[str], str | None]) -> None:
    """Appends a copy of the last event (a second rating) as version 10, with a valid chain."""
    desk, ticket = told.world.desk, told.ticket
    plain = Mapper[UUID](transcoder=desk.mapper.transcoder)
    *_, last = desk.recorder.select_events(ticket)
    event, _ = _mapper(desk).read(last)
    vars(event)["originator_version"] = 10
    vars(event)["chain"] = event_link(event.chain, event)
    if (made := mac_of(event.chain)) is not None:
        vars(event)["mac"] = made
    forged = plain.to_stored_event(event)
    told.rows.run(
        f"INSERT INTO {told.rows.events} (originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?)",
        ticket,
        10,
        forged.topic,
        forged.state,
    )


def _note(state: dict[str, Any]) -> None:
    state["body"] = "Всё работало"


def _assert_cli_names(told: Story, kind: str, versions: list[int]) -> None:
    run = told.cli()
    assert run.returncode == 1, run.stdout + run.stderr
    tampered = [line for line in run.stdout.splitlines() if line.startswith("TAMPERED")]
    assert [line.split(" version ")[1].split(" ")[0] for line in tampered] == [
        str(v) for v in versions
    ]
    assert all(line.startswith(f"TAMPERED {kind}: aggregate {told.ticket}") for line in tampered)


def test_every_event_is_stored_with_a_mac_of_its_chain_under_the_chain_key(told: Story) -> None:
    desk = told.world.desk
    key = bytes.fromhex((told.settings.data_dir / "chain_key").read_text())  # demo: generated
    stored = list(desk.recorder.select_events(told.ticket))
    read = [_mapper(desk).read(s) for s in stored]
    assert [found for _, found in read] == [mac(key, event.chain) for event, _ in read]
    assert all(not hasattr(event, "mac") for event, _ in read)  # no decoded event carries it
    assert verify(desk).problems == []


def test_an_edit_whose_chain_was_recomputed_is_caught_by_the_macs(told: Story) -> None:
    _rewrite(told, 7, _note, lambda _chain, kept: kept)  # the old MACs kept in place
    assert told.world.desk.ticket(told.world.agent, told.ticket).version == 9
    assert told.problems() == [("forged", told.ticket, v) for v in (7, 8, 9)]
    _assert_cli_names(told, "forged", [7, 8, 9])


def test_an_edit_whose_chain_was_recomputed_without_macs_is_caught_as_unkeyed(
    told: Story,
) -> None:
    _rewrite(told, 7, _note, lambda _chain, _kept: None)
    assert told.problems() == [("unkeyed", told.ticket, v) for v in (7, 8, 9)]


def test_an_edit_with_macs_under_another_key_is_caught(told: Story) -> None:
    _rewrite(told, 7, _note, lambda chain, _kept: mac(b"k" * 32, chain))
    assert told.problems() == [("forged", told.ticket, v) for v in (7, 8, 9)]


@pytest.mark.parametrize(
    ("mac_of", "kind"),
    [(lambda _chain: None, "unkeyed"), (lambda chain: mac(b"k" * 32, chain), "forged")],
    ids=["without-a-mac", "with-the-tamperers-key"],
)
def test_a_forged_event_appended_with_a_valid_chain_is_caught(
    told: Story, mac_of: Callable[[str], str | None], kind: str
) -> None:
    _append(told, mac_of)
    assert told.problems() == [(kind, told.ticket, 10)]
    _assert_cli_names(told, kind, [10])


def test_events_stored_before_the_key_keep_their_plain_chain_and_none_may_follow_the_keyed(
    settings: Settings, pg_or_none: str | None
) -> None:
    env = settings.store_env(create_tables=True)
    bare = Desk({k: v for k, v in env.items() if k != "SUZ_CHAIN_KEY"})  # a desk of before
    world = World.build(bare)
    old = world.file(subject="Заявка до ключей").id
    bare.close()
    desk = Desk(settings.store_env())
    world.desk = desk
    desk.reply(world.agent, old, "Отвечаем уже с ключом")
    new = world.file(subject="Заявка с ключом").id
    read = [_mapper(desk).read(s)[1] for s in desk.recorder.select_events(old)]
    assert [found is not None for found in read] == [False, False, True]  # filed, assigned
    assert verify(desk).problems == []

    # a tamperer writes around the Desk: an unkeyed reply to the old request, after keyed ones
    rows = Rows(settings, pg_or_none)
    plain = Mapper[UUID](transcoder=desk.mapper.transcoder)
    *_, last = desk.recorder.select_events(old)
    event, _ = _mapper(desk).read(last)
    vars(event)["originator_version"] = 4
    vars(event)["chain"] = event_link(event.chain, event)
    forged = plain.to_stored_event(event)
    rows.run(
        f"INSERT INTO {rows.events} (originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?)",
        old,
        4,
        forged.topic,
        forged.state,
    )
    problems = [(p.kind, p.aggregate_id, p.version) for p in verify(desk).problems]
    assert problems == [("unkeyed", old, 4)]
    assert new != old
    (rows.pg if rows.postgres else rows.lite).close()
    desk.close()


@pytest.fixture
def pg_or_none(settings: Settings, request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_schema") if settings.uses_postgres else None
