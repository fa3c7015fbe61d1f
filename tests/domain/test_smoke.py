from __future__ import annotations

from tests.world import World


def test_a_request_is_filed_with_a_number(world: World) -> None:
    filed = world.file()
    ticket = world.desk.ticket(world.agent, filed.id)
    assert (ticket.number, ticket.subject, ticket.group_id) == (
        filed.number,
        "Контракт не публикуется",
        world.line1,
    )
