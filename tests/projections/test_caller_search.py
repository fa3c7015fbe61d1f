"""Line 1 finds a caller by name, INN, login, e-mail or phone (projections/caller_search.py)."""

from __future__ import annotations

from domain.desk import SYSTEM
from domain.people import Role
from domain.setup.people import DisableAccount, RegisterAccount
from projections import caller_search
from projections.system import Projections
from tests.world import World


def found(projections: Projections, text: str) -> list[str]:
    projections.catch_up()
    with projections.db.read() as tx:
        return [c.name for c in caller_search.search(tx, text)]


def test_a_caller_is_found_by_each_thing_he_may_say(world: World, projections: Projections) -> None:
    desk = world.desk
    desk.handle(SYSTEM, RegisterAccount("zvonova", "Анна Звонова", (Role.REQUESTER,), world.org,
                                        "anna@zakazchik.ru", "+7 (495) 123-45-67"))  # fmt: skip
    assert found(projections, "звонова") == ["Анна Звонова"]
    assert found(projections, "АННА зв") == ["Анна Звонова"]
    assert found(projections, "anna@zak") == ["Анна Звонова"]
    assert found(projections, "8 495 123 45 67") == ["Анна Звонова"]  # the same number
    assert found(projections, "123-45-67") == ["Анна Звонова"]
    assert found(projections, "7707083893") == ["ГКУ Заказчик"]  # an organisation by its INN
    assert found(projections, "заказчик") == ["ГКУ Заказчик"]
    assert found(projections, "Ivanova") == ["Ivanova"]  # by login
    assert found(projections, "") == [] and found(projections, "100%_") == []
    # staff accounts are not callers; a disabled account is not found
    assert found(projections, "agent1") == []
    assert world.requester.id is not None
    desk.handle(SYSTEM, DisableAccount(world.requester.id))
    assert found(projections, "ivanova") == []
    with projections.db.read() as tx:
        people = caller_search.people_of(tx, str(world.org))
        org = caller_search.caller(tx, str(world.org))
    assert {p.name for p in people} >= {"Анна Звонова", "Petrov"}
    assert org is not None and (org.kind, org.inn, org.organisation) == (
        "organisation", "7707083893", "ГКУ Заказчик")  # fmt: skip
