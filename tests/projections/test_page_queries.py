"""The read side answers the pages' questions itself: names for ids, a category's form, a request
by its number, search results in their order, and what a timeline holds after a version.

Web pages call these functions and never name a view table (issue 14)."""

from __future__ import annotations

from domain.ticket import ACTIVE_STATUSES, Status
from projections import catalog, queues, timeline
from projections.system import Projections
from projections.tickets import OPEN_STATUSES
from tests.world import CONTRACT_FORM, World


def test_names_for_the_ids_a_page_shows(world: World, projections: Projections) -> None:
    projections.catch_up()
    agent, requester = str(world.agent.id), str(world.requester.id)
    with projections.db.read() as tx:
        assert catalog.account_names(tx, [agent, None, requester, agent, ""]) == {
            agent: "Agent1",
            requester: "Ivanova",
        }
        assert catalog.account_names(tx, [None]) == {}
        assert catalog.group_names(tx, [str(world.line1), "no-such-group"]) == {
            str(world.line1): "line1"
        }
        assert catalog.organisation_names(tx, [str(world.org)]) == {str(world.org): "ГКУ Заказчик"}
        assert catalog.category_names(tx) == {
            str(world.contracts): {"name_ru": "Реестр контрактов", "name_en": "Contracts register"}
        }
        assert catalog.organisations(tx) == [
            {"id": str(world.org), "name": "ГКУ Заказчик"},
            {"id": str(world.other_org), "name": "ООО Поставщик"},
        ]


def test_a_category_with_its_form_as_stored(world: World, projections: Projections) -> None:
    projections.catch_up()
    with projections.db.read() as tx:
        found = catalog.category(tx, str(world.contracts))
        missing = catalog.category(tx, "00000000-0000-0000-0000-000000000000")
    assert found is not None and missing is None
    assert (found["id"], found["name_ru"], found["name_en"], found["archived"]) == (
        str(world.contracts), "Реестр контрактов", "Contracts register", False,
    )  # fmt: skip
    assert [f["key"] for f in found["form"]] == [f.key for f in CONTRACT_FORM]
    assert found["form"][3]["choices"] == ["44-FZ", "223-FZ"]


def test_search_results_keep_their_order_after_the_numbered_one(
    world: World, projections: Projections
) -> None:
    first, second, third = world.file("Первая"), world.file("Вторая"), world.file("Третья")
    projections.catch_up()
    ids = [str(third.id), "no-such-ticket", str(first.id), str(second.id)]
    with projections.db.read() as tx:
        assert queues.ticket_id_by_number(tx, second.number) == str(second.id)
        assert queues.ticket_id_by_number(tx, 999_999) is None
        numbered = queues.rows_in_order(tx, ids, numbered=second.number)
        plain = queues.rows_in_order(tx, ids, numbered=None)
        nothing = queues.rows_in_order(tx, [], numbered=None)
    assert [r.subject for r in numbered] == ["Вторая", "Третья", "Первая"]
    assert [r.subject for r in plain] == ["Третья", "Первая", "Вторая"]
    assert nothing == []


def test_what_a_timeline_holds_after_a_version(world: World, projections: Projections) -> None:
    d, agent = world.desk, world.agent
    filed = world.file()
    d.note(agent, filed.id, "Проверю подпись")  # internal: the requester never sees it
    noted = d.note(agent, filed.id, "Подпись просрочена")
    replied = d.reply(agent, filed.id, "Обновите сертификат")
    projections.catch_up()
    ticket = str(filed.id)
    with projections.db.read() as tx:
        assert timeline.last_version(tx, ticket) == replied.version
        assert timeline.last_version(tx, "no-such-ticket") is None
        assert timeline.changes_after(tx, ticket, 1) == timeline.Changes(replied.version, 1)
        assert timeline.changes_after(tx, ticket, noted.version - 1) == timeline.Changes(
            replied.version, 1
        )
        assert timeline.changes_after(tx, ticket, replied.version) == timeline.Changes(None, 0)
        times = timeline.times_of(tx, [(ticket, 1), (ticket, replied.version), (ticket, 99)])
        entries = {e.version: e.at for e in timeline.timeline(tx, ticket, staff=True)}
    assert times == {(ticket, 1): entries[1], (ticket, replied.version): entries[replied.version]}
    with projections.db.read() as tx:
        assert timeline.times_of(tx, []) == {}


def test_active_statuses_are_the_ones_someone_still_acts_on() -> None:
    assert ACTIVE_STATUSES == (Status.NEW, Status.OPEN, Status.WAITING)
    assert OPEN_STATUSES == ("new", "open", "waiting")  # the view's spelling of the same set
