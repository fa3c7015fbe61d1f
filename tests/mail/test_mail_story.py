"""Issue 16's story, end to end on both stores with a real SMTP server (aiosmtpd): a letter from
someone@org.ru files a request; a reply from boss@org.ru (same organisation) threads into it; the
agent's reply reaches both by e-mail, threaded under the request's root, answerable by Reply-To;
an internal note reaches nobody outside; a re-sent letter is not filed twice; an automatic reply
to our letter is stopped; the letters are in the request's history."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from domain.desk import SYSTEM, Desk
from domain.people import Role
from domain.settings import Settings
from domain.ticket import Status
from mail.imap import Outcome
from mail.threads import message_id
from processes.mail_sender import MailSender
from processes.system import read_side
from projections.system import Projections
from tests.domain.support import position
from tests.mail.smtp_server import RunningServer, smtp_server  # noqa: F401
from tests.world import World
from web.attachments import FileBlobStore
from web.mail_in import Intake
from web.migrations import migrate

FROM = "Поддержка <support@desk.test>"


@pytest.fixture
def desk_by_mail(
    desk: Desk,
    settings: Settings,
    smtp_server: RunningServer,  # noqa: F811
) -> Iterator[tuple[Projections, MailSender, Intake]]:
    s = dataclasses.replace(settings, smtp_url=smtp_server.url, mail_from=FROM,
                            public_url="https://desk.test")  # fmt: skip
    migrate(s)  # every table, as `suz migrate` makes them
    p = read_side(desk, s)
    sender = MailSender(desk, p.db, s, p.positions, now=lambda: time.time() + 1)
    yield p, sender, Intake(desk, p.db, FileBlobStore.from_settings(s), s)
    p.stop()
    p.db.close()


def letter(sender: str, subject: str, text: str, **headers: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, headers.pop("To", "support@desk.test"), subject
    m["Message-ID"] = make_msgid(domain="org.ru")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(text)
    return m.as_bytes()


def test_the_story_of_a_request_by_mail(
    world: World,
    desk_by_mail: tuple[Projections, MailSender, Intake],
    smtp_server: RunningServer,  # noqa: F811
) -> None:
    p, sender, intake = desk_by_mail
    desk = world.desk
    for login, name in (("someone", "Сотрудник"), ("boss", "Начальник")):
        desk.register_account(SYSTEM, login, name, (Role.REQUESTER,), world.org,
                              email=f"{login}@org.ru")  # fmt: skip
    p.catch_up()

    first = letter("Сотрудник <someone@org.ru>", "Контракт не подписывается", "Ошибка 0x8010006E.")
    filed = intake.receive(first)
    assert filed.outcome is Outcome.STORED and filed.ticket_id is not None
    ticket = filed.ticket_id
    number = desk.ticket(SYSTEM, ticket).number
    before = position(desk)
    assert intake.receive(first).outcome is Outcome.DUPLICATE, "a re-sent letter files once"
    assert position(desk) == before

    boss = letter("boss@org.ru", f"Re: [#{number}] Контракт не подписывается", "Прошу ускорить.")
    threaded = intake.receive(boss)
    assert (threaded.outcome, threaded.ticket_id) == (Outcome.STORED, ticket)
    assert intake.receive(boss).outcome is Outcome.DUPLICATE
    desk.note(world.agent, ticket, "Внутреннее: ключ отозван УЦ")
    replied = desk.reply(world.agent, ticket, "Перевыпустите ключ и подпишите снова.").position
    p.catch_up()
    while sender.tick():
        pass
    got = [(r.rcpt_tos, r.message()) for r in smtp_server.received]
    replies = {to[0]: m for to, m in got if m["Message-ID"] == message_id(ticket, replied,
                                                                          "desk.test")}  # fmt: skip
    assert set(replies) == {"someone@org.ru", "boss@org.ru"}, "the reply reaches both"
    root = message_id(ticket, 0, "desk.test")
    for m in replies.values():
        assert m["Subject"] == f"[#{number}] Контракт не подписывается"
        assert m["In-Reply-To"] == root and m["References"] == root
        assert m["Reply-To"].startswith("support+")
        assert m["Auto-Submitted"] == "auto-generated"
    for _, m in got:
        assert "отозван" not in str(m), "an internal note reaches nobody outside"

    # the requester's auto-responder answers our letter: stopped, nothing written, nothing sent
    sent = len(smtp_server.received)
    reply_to = replies["someone@org.ru"]["Reply-To"]
    auto = letter("someone@org.ru", "Автоответ: Re: Контракт", "Я в отпуске до понедельника.",
                  To=reply_to, Auto_Submitted="auto-replied",
                  In_Reply_To=replies["someone@org.ru"]["Message-ID"])  # fmt: skip
    before = position(desk)
    assert intake.receive(auto).outcome is Outcome.REFUSED
    assert position(desk) == before
    p.catch_up()
    assert sender.tick() == 0 and len(smtp_server.received) == sent

    # her real answer to our letter threads by the Reply-To token and reopens nothing needed
    answer = letter("someone@org.ru", "Re: Контракт", "Спасибо, подписалось.", To=reply_to)
    assert intake.receive(answer).ticket_id == ticket
    names = [type(e).__name__ for e in desk.repository.event_store.get(ticket)]
    assert names.count("RequesterWrote") == 2 and "NoteAdded" in names
    assert desk.ticket(SYSTEM, ticket).status is not Status.CLOSED
