"""What a requester's timeline holds of the request he filed: not the private link's key hash,
not the priority the staff gave (the staff's timeline keeps both)."""

from __future__ import annotations

from projections.system import Projections
from projections.timeline import timeline
from tests.world import World


def test_the_filed_entry_a_requester_reads_has_no_key_hash_and_no_priority(
    world: World, projections: Projections
) -> None:
    filed = world.file(subject="Не подписывается")
    projections.catch_up()
    with projections.db.read() as tx:
        public = timeline(tx, str(filed.id), staff=False)[0]
        staff = timeline(tx, str(filed.id), staff=True)[0]
    assert public.event == staff.event == "Filed"
    assert {"visitor_key_hash", "priority"} & set(public.data) == set()
    assert {"visitor_key_hash", "priority"} <= set(staff.data)
    assert public.data["subject"] == "Не подписывается"
