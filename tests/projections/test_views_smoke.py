from __future__ import annotations

from projections.feed import changes
from projections.search import search
from projections.system import Projections
from projections.timeline import timeline
from tests.world import World


def test_views_follow_a_ticket(world: World, projections: Projections) -> None:
    filed = world.file(subject="Ошибка подписи контракта")
    world.desk.note(world.agent, filed.id, "Внутренняя заметка про сертификаты")
    w = world.desk.reply(world.agent, filed.id, "Проверьте сертификаты подписи")
    projections.catch_up()
    assert projections.wait_for(w.position, timeout=0.1)
    with projections.db.read() as tx:
        row = tx.one(
            "SELECT status, group_id, version FROM v_tickets WHERE id = %s", (str(filed.id),)
        )
        assert row == ("open", str(world.line1), 4)
        staff = [e.event for e in timeline(tx, str(filed.id), staff=True)]
        public = [e.event for e in timeline(tx, str(filed.id), staff=False)]
        assert staff == ["Filed", "Assigned", "NoteAdded", "Replied"]
        assert public == ["Filed", "Replied"]
        assert search(tx, world.requester, "подписей") == [(str(filed.id), filed.number)]
        assert search(tx, world.requester, "сертификатам") == [(str(filed.id), filed.number)]
        assert search(tx, world.requester, "заметка") == []
        assert search(tx, world.agent, "заметки") == [(str(filed.id), filed.number)]
        assert search(tx, world.stranger, "подписи") == []
        feed = changes(tx, [f"ticket:{filed.id}"], 0)
        assert [c.event for c in feed] == ["Filed", "Assigned", "NoteAdded", "Replied"]
