"""The notifications view on both stores: in-app rows and outbox letters written with the
pump's tracking, preferences and read marks applied from the accounts' events, and the outbox
never refilled by a rebuild, a shape bump, a restart or a first start over an existing store."""

from __future__ import annotations

import pytest

from domain.access import Actor
from domain.desk import SYSTEM, Desk
from domain.people import Role
from domain.settings import Settings
from domain.setup.people import MarkNotificationsRead, SetNotificationPreferences
from domain.ticket import Contact
from processes.system import read_side
from projections import notification_queries as nq
from projections.runner import migrate_views
from projections.system import Projections, all_views
from tests.world import World


def with_email(world: World, login: str, role: Role, email: str) -> Actor:
    org = world.org if role is Role.REQUESTER else None
    account = world.desk.register_account(SYSTEM, login, login.title(), (role,), org, email).id
    if role is Role.AGENT:
        world.desk.add_to_group(SYSTEM, account, world.line1)
    return world.desk.actor_for(account)


def outbox(p: Projections) -> list[tuple[int, str, str, str]]:
    with p.db.read() as tx:
        return nq.outbox_keys(tx)


def test_a_reply_reaches_the_requester_and_a_note_nobody_outside(
    world: World, projections: Projections
) -> None:
    anna = with_email(world, "anna", Role.REQUESTER, "anna@org.ru")
    boris = with_email(world, "boris", Role.AGENT, "boris@desk.ru")
    ticket = world.desk.file_ticket(anna, world.contracts, "Подпись", "Ошибка подписи.",
                                    {"contract_number": "1234567890123456789"}).id  # fmt: skip
    world.desk.assign(world.agent, ticket, world.line1, boris.id)
    world.desk.note(boris, ticket, "Проверить сертификат (внутреннее)")
    replied = world.desk.reply(boris, ticket, "Переподпишите контракт.").position
    projections.catch_up()
    letters = outbox(projections)
    assert [(k, r) for _, r, k, _ in letters] == [
        ("acknowledged", str(anna.id)), ("assigned", str(boris.id)), ("replied", str(anna.id)),
    ]  # fmt: skip
    with projections.db.read() as tx:
        due = nq.due(tx, 2e9, 10)
        reply = next(x for x in due if x.kind == "replied")
        assert reply.position == replied and reply.address == "anna@org.ru"
        assert reply.payload["body"] == "Переподпишите контракт."
        assert all("внутреннее" not in str(x.payload) for x in due)
        # in the app: the requester's reply (acknowledgement: e-mail only by default)
        assert [n.kind for n in nq.latest(tx, str(anna.id))] == ["replied"]
        assert nq.unread(tx, str(anna.id)) == 1
        assert [n.kind for n in nq.latest(tx, str(boris.id))] == ["assigned"]


def test_preferences_and_read_marks_are_events_the_view_applies(
    world: World, projections: Projections
) -> None:
    anna = with_email(world, "anna", Role.REQUESTER, "anna@org.ru")
    assert anna.id is not None
    world.desk.handle(anna, SetNotificationPreferences(anna.id, {"replied": "app"}, "en"))
    ticket = world.desk.file_ticket(anna, world.contracts, "Подпись", "Ошибка подписи.",
                                    {"contract_number": "1234567890123456789"}).id  # fmt: skip
    world.desk.reply(world.agent, ticket, "Первый ответ.")
    projections.catch_up()
    assert [k for _, _, k, _ in outbox(projections)] == ["acknowledged"], "reply: app only"
    with projections.db.read() as tx:
        assert nq.unread(tx, str(anna.id)) == 1
        assert nq.preferences(tx, str(anna.id), staff=False).language == "en"
        upto = nq.newest_position(tx, str(anna.id))
    world.desk.handle(anna, MarkNotificationsRead(anna.id, upto))
    world.desk.reply(world.agent, ticket, "Второй ответ.")
    projections.catch_up()
    with projections.db.read() as tx:
        assert nq.unread(tx, str(anna.id)) == 1
        assert [n.unread for n in nq.latest(tx, str(anna.id))] == [True, False]


def test_an_anonymous_contact_is_mailed_in_russian(world: World, projections: Projections) -> None:
    ticket = world.desk.file_ticket(Actor.visitor(), world.contracts, "Подпись", "Ошибка.",
                                    {"contract_number": "1234567890123456789"},
                                    contact=Contact("Анна", "anna@mail.ru")).id  # fmt: skip
    world.desk.reply(world.agent, ticket, "Ответ.")
    projections.catch_up()
    with projections.db.read() as tx:
        due = nq.due(tx, 2e9, 10)
    assert [(x.kind, x.recipient, x.language) for x in due] == [
        ("acknowledged", "anna@mail.ru", "ru"), ("replied", "anna@mail.ru", "ru")]  # fmt: skip


def test_rebuild_restart_and_shape_bump_write_no_letter_again(
    world: World, projections: Projections, desk: Desk, settings: Settings
) -> None:
    anna = with_email(world, "anna", Role.REQUESTER, "anna@org.ru")
    ticket = world.desk.file_ticket(anna, world.contracts, "Подпись", "Ошибка подписи.",
                                    {"contract_number": "1234567890123456789"}).id  # fmt: skip
    world.desk.reply(world.agent, ticket, "Ответ.")
    projections.catch_up()
    before = outbox(projections)
    assert len(before) == 2
    with projections.db.tx() as tx:  # one was sent meanwhile
        nq.sent(tx, nq.due(tx, 2e9, 1), 1.0)
    sent = outbox(projections)
    projections.runner("notifications").rebuild()
    assert outbox(projections) == sent, "a rebuild writes no letter and resets none"
    with projections.db.read() as tx:
        assert [n.kind for n in nq.latest(tx, str(anna.id))] == ["replied"], "in-app rebuilt"
    # a restart (a new process over the same stores) and a shape bump: nothing again
    projections.stop()
    view = next(v for v in all_views() if v.name == "notifications")
    type(view).shape += 1
    try:
        again = read_side(desk, settings)
        again.migrate()
        again.catch_up()
        assert outbox(again) == sent
        world.desk.reply(world.agent, ticket, "Ещё ответ.")
        again.catch_up()
        assert len(outbox(again)) == 3, "new events are mailed"
        again.stop()
        again.db.close()
    finally:
        type(view).shape -= 1


@pytest.mark.first_start
def test_a_first_start_over_an_existing_store_mails_no_history(
    world: World, desk: Desk, settings: Settings
) -> None:
    anna = with_email(world, "anna", Role.REQUESTER, "anna@org.ru")
    ticket = world.desk.file_ticket(anna, world.contracts, "Подпись", "Ошибка подписи.",
                                    {"contract_number": "1234567890123456789"}).id  # fmt: skip
    world.desk.reply(world.agent, ticket, "Ответ до почты.")
    older = Projections(desk, settings, [v for v in all_views() if v.name != "notifications"])
    older.migrate()
    older.catch_up()  # the desk ran without notifications up to here
    older.stop()
    p = read_side(desk, settings)
    p.migrate()
    p.catch_up()
    assert outbox(p) == [], "history is not mailed"
    with p.db.read() as tx:
        assert [n.kind for n in nq.latest(tx, str(anna.id))] == ["replied"], "but listed in-app"
    world.desk.reply(world.agent, ticket, "Ответ после.")
    p.catch_up()
    assert [k for _, _, k, _ in outbox(p)] == ["replied"]
    p.stop()
    p.db.close()
    older.db.close()


def test_migrating_twice_records_the_origin_once(projections: Projections) -> None:
    migrate_views(projections.db, projections.views)
    with projections.db.read() as tx:
        assert tx.all("SELECT id FROM mail_outbox_mark") == [(1,)]


def test_a_replay_below_the_marks_still_makes_no_second_letter(
    world: World, projections: Projections
) -> None:
    """The key (position, recipient, kind) with ON CONFLICT DO NOTHING is the last guard: even
    with the marks wiped (what a crash between a letter and its mark cannot do, since both
    commit with the tracking), replaying every event leaves each letter as it was."""
    anna = with_email(world, "anna", Role.REQUESTER, "anna@org.ru")
    ticket = world.desk.file_ticket(anna, world.contracts, "Подпись", "Ошибка подписи.",
                                    {"contract_number": "1234567890123456789"}).id  # fmt: skip
    world.desk.reply(world.agent, ticket, "Ответ.")
    projections.catch_up()
    with projections.db.tx() as tx:
        nq.sent(tx, nq.due(tx, 2e9, 1), 1.0)
    before = outbox(projections)
    with projections.db.tx() as tx:
        tx.execute("UPDATE mail_outbox_mark SET origin = 0, reached = 0")
    projections.runner("notifications").rebuild()
    assert outbox(projections) == before
