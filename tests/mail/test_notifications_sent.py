"""Notifications out, the whole path on both stores: events -> the notifications view (pump) ->
the outbox -> the mail sender -> a real SMTP server (aiosmtpd), whose received bytes are parsed.
A reply reaches the requester with threading headers; a note reaches nobody outside; a 451 is
tried again after its backoff; a 550 makes a dead letter that an administrator sends again."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from email.message import EmailMessage
from uuid import UUID

import pytest

from domain.access import Actor
from domain.desk import SYSTEM, Desk
from domain.people import Role
from domain.settings import Settings
from domain.ticket import Contact
from mail.threads import message_id, reply_address, reply_token, token_ticket
from processes.mail_sender import MailSender
from processes.system import read_side
from projections import notification_queries as nq
from projections.system import Projections
from tests.mail.smtp_server import RunningServer, smtp_server  # noqa: F401
from tests.world import World

FROM = "Support <support@desk.test>"
DOMAIN = "desk.test"


class Clock:
    def __init__(self) -> None:
        self.t = time.time() + 1  # a moment after the events the test writes

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def mailing(
    desk: Desk,
    settings: Settings,
    smtp_server: RunningServer,  # noqa: F811
) -> Iterator[tuple[Projections, MailSender, Clock]]:
    s = dataclasses.replace(settings, smtp_url=smtp_server.url, mail_from=FROM,
                            public_url="https://desk.test")  # fmt: skip
    p = read_side(desk, s)
    p.migrate()
    clock = Clock()
    sender = MailSender(desk, p.db, s, p.positions, now=clock)
    assert any(isinstance(f, MailSender) for f in p.followers), "configured: a sender follows"
    yield p, sender, clock
    p.stop()
    p.db.close()


def requester(world: World) -> Actor:
    account = world.desk.register_account(SYSTEM, "anna", "Анна", (Role.REQUESTER,), world.org,
                                          "anna@org.ru").id  # fmt: skip
    return world.desk.actor_for(account)


def file(world: World, who: Actor, contact: Contact | None = None) -> UUID:
    return world.desk.file_ticket(who, world.contracts, "Подпись не проходит", "Ошибка подписи.",
                                  {"contract_number": "1234567890123456789"},
                                  contact=contact).id  # fmt: skip


def texts(msg: EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    return str(plain.get_content()), str(html.get_content())


def test_a_reply_reaches_the_requester_with_threading_headers_and_a_note_nobody(
    world: World, mailing: tuple[Projections, MailSender, Clock],
    smtp_server: RunningServer,  # noqa: F811
) -> None:  # fmt: skip
    p, sender, _ = mailing
    anna = requester(world)
    ticket = file(world, anna)
    number = world.desk.ticket(SYSTEM, ticket).number
    world.desk.note(world.agent, ticket, "Секретная заметка: сертификат отозван")
    replied = world.desk.reply(world.agent, ticket, "Переподпишите контракт.").position
    p.catch_up()
    assert sender.tick() == 2
    ack, reply = (r.message() for r in smtp_server.wait_for(2))
    assert smtp_server.received[1].rcpt_tos == ("anna@org.ru",)
    assert reply["To"] == "anna@org.ru" and "support@desk.test" in reply["From"]
    assert reply["Subject"] == f"[#{number}] Подпись не проходит"
    assert reply["Message-ID"] == message_id(ticket, replied, DOMAIN)
    root = message_id(ticket, 0, DOMAIN)
    assert reply["In-Reply-To"] == root and reply["References"] == root
    assert ack["References"] == root, "every letter of a request threads under one root"
    token = reply_token(world.desk.mail_secret, ticket)
    assert reply["Reply-To"] == reply_address(FROM, token)
    assert token_ticket(world.desk.mail_secret, token) == ticket
    assert reply["Auto-Submitted"] == "auto-generated" and reply["Content-Language"] == "ru"
    plain, html = texts(reply)
    assert "Переподпишите контракт." in plain and "Переподпишите контракт." in html
    assert f"https://desk.test/r/{ticket}" in plain, "the cabinet's page, absolute"
    assert "Мы получили вашу заявку" in texts(ack)[0]
    for received in smtp_server.received:
        assert b"\xd0\xa1\xd0\xb5\xd0\xba\xd1\x80\xd0\xb5\xd1\x82" not in received.data
        assert "Секретная" not in str(received.message()), "a note reaches nobody outside"
    assert sender.tick() == 0, "each letter once"


def test_an_anonymous_contact_gets_the_private_link(
    world: World, mailing: tuple[Projections, MailSender, Clock],
    smtp_server: RunningServer,  # noqa: F811
) -> None:  # fmt: skip
    p, sender, _ = mailing
    ticket = file(world, Actor.visitor(), contact=Contact("Анна", "anna@mail.ru"))
    p.catch_up()
    sender.tick()
    (ack,) = (r.message() for r in smtp_server.wait_for(1))
    key = world.desk.visitor_key(ticket)
    assert f"https://desk.test/r/{ticket}?key={key}" in texts(ack)[0]


def test_451_is_tried_again_after_its_backoff_550_is_dead_and_sent_again(
    world: World, mailing: tuple[Projections, MailSender, Clock],
    smtp_server: RunningServer,  # noqa: F811
) -> None:  # fmt: skip
    p, sender, clock = mailing
    anna = requester(world)
    smtp_server.refuse_next("451 4.3.0 try later")
    file(world, anna)
    p.catch_up()
    assert sender.tick() == 1
    with p.db.read() as tx:
        assert nq.counts(tx) == {"pending": 1, "sent": 0, "dead": 0}
    assert sender.tick() == 0, "not before its backoff"
    clock.t += nq.BACKOFF
    assert sender.tick() == 1
    smtp_server.wait_for(1)
    with p.db.read() as tx:
        assert nq.counts(tx) == {"pending": 0, "sent": 1, "dead": 0}
    smtp_server.refuse_next("550 5.7.1 refused")
    ticket = file(world, anna)
    p.catch_up()
    sender.tick()
    with p.db.read() as tx:
        assert nq.counts(tx) == {"pending": 0, "sent": 1, "dead": 1}
        (dead,) = nq.dead(tx)
    assert dead.number == world.desk.ticket(SYSTEM, ticket).number and "550" in dead.error
    with p.db.tx() as tx:
        assert nq.resend(tx, dead.position, dead.recipient, dead.kind, clock())
        assert not nq.resend(tx, dead.position, dead.recipient, dead.kind, clock()), "once"
    assert sender.tick() == 1
    assert len(smtp_server.wait_for(2)) == 2
    with p.db.read() as tx:
        assert nq.counts(tx) == {"pending": 0, "sent": 2, "dead": 0}


def test_the_running_sender_follows_the_pump(
    world: World,
    desk: Desk,
    settings: Settings,
    smtp_server: RunningServer,  # noqa: F811
) -> None:
    s = dataclasses.replace(settings, smtp_url=smtp_server.url, mail_from=FROM)
    p = read_side(desk, s)
    p.migrate()
    p.start()
    try:
        anna = requester(world)
        ticket = file(world, anna)
        world.desk.reply(world.agent, ticket, "Ответ.")
        subjects = [r.message()["Subject"] for r in smtp_server.wait_for(2, timeout=20)]
        assert all("Подпись не проходит" in x for x in subjects)
    finally:
        p.stop()
        p.db.close()


def test_without_smtp_no_sender_runs(desk: Desk, settings: Settings) -> None:
    p = read_side(desk, dataclasses.replace(settings, smtp_url=None))
    assert not any(isinstance(f, MailSender) for f in p.followers)
    p.db.close()


def test_a_letter_never_tried_whose_event_is_old_is_set_aside_not_sent(
    world: World, mailing: tuple[Projections, MailSender, Clock],
    smtp_server: RunningServer,  # noqa: F811
) -> None:  # fmt: skip
    """The outbox fills while no server is configured; configuring one later must not mail
    weeks-old news: such a letter is dead at once, and an administrator may send it again."""
    p, sender, clock = mailing
    file(world, requester(world))
    p.catch_up()
    clock.t += 3 * 86400
    assert sender.tick() == 1
    with p.db.read() as tx:
        (old,) = nq.dead(tx)
    assert "over two days old" in old.error and smtp_server.received == []
    with p.db.tx() as tx:
        assert nq.resend(tx, old.position, old.recipient, old.kind, clock())
    assert sender.tick() == 1
    smtp_server.wait_for(1)
