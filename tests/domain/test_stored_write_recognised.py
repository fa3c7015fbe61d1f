"""A write that reached the database is answered as written, even when the answer to its COMMIT
was lost on the way back (issue 13, point 5).

The connection to PostgreSQL dies right after the server committed; the event store retries the
insert, meets its own rows on the unique key, and the desk must recognise them as ours: success
with the real log position, not "changed meanwhile", and no second copy when the user sends again.

SQLite cannot lose a commit's answer (the commit is a call inside this process: it returns or
raises, and when it raises nothing was committed), so these stories run on PostgreSQL only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.claim import Claim, claim_id
from domain.desk import SYSTEM, Desk
from domain.people import Role
from domain.settings import Settings
from tests.domain.lost_commit_proxy import LostCommitProxy
from tests.domain.support import history, position
from tests.world import World

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxy() -> Iterator[LostCommitProxy]:
    with LostCommitProxy() as p:
        yield p


@pytest.fixture
def far_desk(pg_schema: str, tmp_path: Path, proxy: LostCommitProxy) -> Iterator[Desk]:
    """A Desk that reaches PostgreSQL through the proxy (the tables made directly)."""
    os.environ["SUZ_DATABASE_SCHEMA"] = pg_schema
    try:
        settings = Settings(data_dir=tmp_path / "data", database_url=proxy.url())
        Desk(settings.store_env(create_tables=True)).close()
        desk = Desk(settings.store_env())
        yield desk
        desk.close()
    finally:
        os.environ.pop("SUZ_DATABASE_SCHEMA", None)


def test_a_reply_whose_commit_answer_was_lost_is_answered_as_written(
    far_desk: Desk, proxy: LostCommitProxy
) -> None:
    world = World.build(far_desk)
    filed = world.file()

    proxy.lose_next_commit()
    written = far_desk.reply(
        world.agent, filed.id, "Переподпишите, пожалуйста.", expected_version=filed.version
    )

    assert proxy.dropped == 1  # the fault really happened
    assert written.version == filed.version + 1
    assert written.position == position(far_desk)  # the real position of the stored reply
    assert history(far_desk, filed.id).count("Replied") == 1


def test_a_filing_whose_commit_answer_was_lost_keeps_its_number(
    far_desk: Desk, proxy: LostCommitProxy
) -> None:
    world = World.build(far_desk)
    first = world.file("Первая")

    proxy.lose_next_commit()
    second = world.file("Вторая")

    assert proxy.dropped == 1
    assert second.number == first.number + 1
    assert second.position == position(far_desk)
    claim = far_desk.repository.get(claim_id(f"ticket:{second.number}"))
    assert isinstance(claim, Claim) and claim.owner_id == second.id
    assert world.file("Третья").number == second.number + 1  # no numbers burnt on the way


def test_a_registration_whose_commit_answer_was_lost_is_not_called_a_taken_login(
    far_desk: Desk, proxy: LostCommitProxy
) -> None:
    World.build(far_desk)

    proxy.lose_next_commit()
    account = far_desk.register_account(SYSTEM, "petrova", "Петрова", (Role.AGENT,))

    assert proxy.dropped == 1
    assert far_desk.account_by_login("petrova") is not None
    assert account.position == position(far_desk)
