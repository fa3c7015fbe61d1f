"""A long-running request: over a thousand events load from snapshots exactly as replayed."""

from __future__ import annotations

from decimal import Decimal

from domain.desk import Desk
from domain.integrity import verify
from domain.ticket import Attachment, Priority, Status
from tests.domain.support import history, replayed_without_snapshots, state_of, uncached
from tests.world import World

LOG = Attachment("trace.log", 512, "0a" * 32, "text/plain")


def test_a_thousand_event_request_loads_from_snapshots_as_replayed(
    world: World, store_env: dict[str, str]
) -> None:
    desk, agent, requester = world.desk, world.agent, world.requester
    filed = world.file()
    day = 0
    while desk.ticket(agent, filed.id).version < 1_020:
        day += 1
        desk.reply(agent, filed.id, f"День {day}: проверяем.", attachments=(LOG,))
        desk.note(world.engineer, filed.id, f"День {day}: гипотеза.", attachments=(LOG,))
        desk.change_priority(agent, filed.id, (Priority.HIGH, Priority.LOW)[day % 2])
        desk.request_information(agent, filed.id, ("amount",), ("Что изменилось?",), "Уточните")
        desk.provide_information(requester, filed.id, {"amount": f"{day},50"}, (f"Ничего {day}",))
        desk.write(requester, filed.id, f"День {day}: всё ещё ошибка.")
        desk.resolve(agent, filed.id, f"День {day}: исправлено.")
        desk.reopen(requester, filed.id, "Снова")
    desk.resolve(agent, filed.id, "Исправлено окончательно.")
    desk.rate(requester, filed.id, 4)

    version = desk.ticket(agent, filed.id).version
    assert version > 1_000 and version % 50 != 0  # the last snapshot is followed by more events
    snapshots = [s.originator_version for s in desk.snapshots.get(filed.id)]  # type: ignore[union-attr]
    assert snapshots == list(range(50, version + 1, 50))

    fresh: Desk = uncached(store_env)
    try:
        loaded = fresh.ticket(agent, filed.id)
        replayed = replayed_without_snapshots(fresh, filed.id)
        assert state_of(loaded) == state_of(replayed)
        assert (loaded.version, loaded.status, loaded.rating) == (version, Status.RESOLVED, 4)
        assert loaded.fields["amount"] == Decimal(f"{day}.50")
        assert len(loaded.attachments) == 2 * day  # each reply's log and each note's copy
        assert sum(1 for a in loaded.attachments if a.internal) == day
        assert len(history(fresh, filed.id)) == version
        assert verify(fresh).problems == []
    finally:
        fresh.close()
