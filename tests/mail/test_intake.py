"""E-mail in, through the intake over a real store and its views (SQLite and PostgreSQL): a letter
files a request; a colleague's reply threads into it by the number in the subject, another
organisation's does not; replies find their request by our reply token and by our Message-ID;
a re-delivery writes nothing; noise and floods are refused; files are kept; a closed request
gets a new, related one. And `suz mail-in`, run as an MTA runs it, answers in exit statuses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from uuid import UUID

import pytest

from domain.desk import Desk
from domain.people import Role
from domain.settings import Settings
from domain.ticket import Channel, LinkKind, Status
from domain.tickets.commands import SYSTEM, MergeInto
from mail.imap import REFUSED_FOLDER, Mailbox, Outcome, poll_once
from mail.threads import message_id, reply_address, reply_token
from processes.system import read_side
from projections.system import Projections
from tests.domain.support import position
from tests.mail.imap_server import ImapServer, dovecot_fixture, imap_server_fixture  # noqa: F401
from tests.world import World
from web.attachments import FileBlobStore
from web.mail_in import Intake
from web.migrations import migrate

DESK = "support@desk.example.ru"


@pytest.fixture
def projections(desk: Desk, settings: Settings) -> Iterator[Projections]:
    """The views of the test's store, migrated, not running (the test catches them up)."""
    migrate(settings)  # every table, as `suz migrate` makes them (the shared counters' too)
    p = read_side(desk, settings)
    yield p
    p.db.close()


@pytest.fixture
def mail_settings(settings: Settings) -> Settings:
    return replace(settings, mail_from=f"Поддержка <{DESK}>", mail_rate=5)


@pytest.fixture
def intake(world: World, projections: Projections, mail_settings: Settings) -> Intake:
    desk = world.desk
    desk.register_account(SYSTEM, "boss", "Начальник", (Role.REQUESTER,), world.org,
                          email="boss@org.ru")  # fmt: skip
    desk.register_account(SYSTEM, "someone", "Сотрудник", (Role.REQUESTER,), world.org,
                          email="someone@org.ru")  # fmt: skip
    desk.register_account(SYSTEM, "rival", "Чужой", (Role.REQUESTER,), world.other_org,
                          email="rival@rival.ru")  # fmt: skip
    projections.catch_up()
    blobs = FileBlobStore.from_settings(mail_settings)
    return Intake(desk, projections.db, blobs, mail_settings)


def letter(sender: str, subject: str, text: str, **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, headers.pop("to", DESK), subject
    m["Message-ID"] = headers.pop("message_id", make_msgid(domain="org.ru"))
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(text)
    return m


def take(intake: Intake, m: EmailMessage, projections: Projections) -> tuple[Outcome, UUID]:
    receipt = intake.receive(m.as_bytes())
    projections.catch_up()
    assert receipt.ticket_id is not None, receipt
    return receipt.outcome, receipt.ticket_id


def events(desk: Desk, ticket_id: UUID) -> list[object]:
    return list(desk.repository.event_store.get(ticket_id))


def test_a_letter_files_and_a_colleagues_reply_threads_in(
    intake: Intake, world: World, projections: Projections
) -> None:
    desk = world.desk
    first = letter("Сотрудник <someone@org.ru>", "Не публикуется контракт",
                   "Добрый день!\n\nКонтракт не уходит в ЕИС.\n\n-- \nС уважением")  # fmt: skip
    outcome, ticket_id = take(intake, first, projections)
    assert outcome is Outcome.STORED
    ticket = desk.ticket(SYSTEM, ticket_id)
    someone = desk.account_by_login("someone")
    assert someone is not None
    assert (ticket.channel, ticket.requester_id, ticket.organisation_id) == (
        Channel.EMAIL, someone.id, world.org)  # fmt: skip
    assert ticket.subject == "Не публикуется контракт"
    assert "Контракт не уходит в ЕИС." in ticket.description
    # the category's required data a letter lacks is asked at once: the request waits for it
    assert ticket.status is Status.WAITING
    assert ticket.requested_fields == ("contract_number",)

    before = position(desk)
    assert intake.receive(first.as_bytes()).outcome is Outcome.DUPLICATE
    assert position(desk) == before, "a re-delivery wrote nothing"

    reply = letter("Начальник <boss@org.ru>", f"Re: [#{ticket.number}] Не публикуется контракт",
                   "Подтверждаю, срочно.\n\n> Добрый день!\n> Контракт не уходит.")  # fmt: skip
    outcome, threaded = take(intake, reply, projections)
    assert (outcome, threaded) == (Outcome.STORED, ticket_id)
    wrote = events(desk, ticket_id)[-1]
    boss = desk.account_by_login("boss")
    assert boss is not None
    assert type(wrote).__name__ == "RequesterWrote"
    assert (wrote.by, wrote.sender, wrote.body) == (boss.id, "boss@org.ru", "Подтверждаю, срочно.")  # type: ignore[attr-defined]
    assert "Контракт не уходит" in wrote.quoted  # type: ignore[attr-defined]

    # the same number from another organisation is not a reference: it files a new request
    rival = letter("rival@rival.ru", f"Re: [#{ticket.number}] Не публикуется", "Это я")
    outcome, other = take(intake, rival, projections)
    assert outcome is Outcome.STORED and other != ticket_id


def test_replies_find_their_request_by_our_token_and_our_message_id(
    intake: Intake, world: World, projections: Projections, mail_settings: Settings
) -> None:
    desk = world.desk
    filed = world.file()
    projections.catch_up()
    token = reply_token(desk.mail_secret, filed.id)
    by_token = letter("stranger@gmail.com", "Ответ", "По токену", to=reply_address(DESK, token))
    assert take(intake, by_token, projections) == (Outcome.STORED, filed.id)

    ours = message_id(filed.id, 7, mail_settings.mail_domain)
    by_id = letter("someone.else@yandex.ru", "Re: ваше письмо", "По ссылке", In_Reply_To=ours,
                   References=ours)  # fmt: skip
    assert take(intake, by_id, projections) == (Outcome.STORED, filed.id)

    forged = reply_token(b"another desk's key" * 2, filed.id)
    by_forgery = letter("x@evil.example", "Ответ", "Подделка", to=reply_address(DESK, forged))
    outcome, new = take(intake, by_forgery, projections)
    assert outcome is Outcome.STORED and new != filed.id, "a forged token threads nowhere"


def test_noise_and_floods_are_refused_and_write_nothing(
    intake: Intake, world: World, projections: Projections
) -> None:
    desk = world.desk
    before = position(desk)
    auto = letter(
        "someone@org.ru", "Автоответ: вопрос", "Я в отпуске", Auto_Submitted="auto-replied"
    )
    receipt = intake.receive(auto.as_bytes())
    assert receipt.outcome is Outcome.REFUSED and "auto" in receipt.reason
    assert intake.receive(b"\x00\x01 not a letter").outcome is Outcome.REFUSED
    assert position(desk) == before

    outcomes = [
        intake.receive(letter("flood@spam.example", f"Письмо {i}", "Текст").as_bytes()).outcome
        for i in range(7)
    ]
    assert outcomes == [Outcome.STORED] * 5 + [Outcome.REFUSED] * 2  # mail_rate: 5 a minute
    if projections.db.dialect == "postgres":  # another process (`suz mail-in`) counts on
        other = Intake(desk, projections.db, intake.blobs, intake.settings)
        flood = letter("flood@spam.example", "Ещё", "Текст").as_bytes()
        assert other.receive(flood).outcome is Outcome.REFUSED, "one count for every process"


def test_files_are_kept_and_a_closed_request_gets_a_new_related_one(
    intake: Intake, world: World, projections: Projections
) -> None:
    desk = world.desk
    filed = world.file()
    desk.resolve(world.agent, filed.id, "Готово")
    desk.close_ticket(world.agent, filed.id, "Закрыто")
    projections.catch_up()
    m = letter("someone@org.ru", f"Re: [#{filed.number}] снова", "Опять не работает")
    m.add_attachment(b"%PDF-1.4 scan", maintype="application", subtype="pdf",
                     filename="Скан договора.pdf")  # fmt: skip
    outcome, new = take(intake, m, projections)
    assert outcome is Outcome.STORED and new != filed.id
    ticket = desk.ticket(SYSTEM, new)
    assert [(a.name, a.media_type) for a in ticket.attachments] == [
        ("Скан договора.pdf", "application/pdf")]  # fmt: skip
    assert (filed.id, LinkKind.RELATED) in ticket.links
    assert desk.ticket(SYSTEM, filed.id).status is Status.CLOSED


def test_a_reply_to_a_merged_request_goes_on_in_the_one_it_was_merged_into(
    intake: Intake, world: World, projections: Projections
) -> None:
    desk = world.desk
    kept, repeat = world.file(), world.file()
    desk.handle(world.agent, MergeInto(repeat.id, None, kept.id))
    projections.catch_up()
    m = letter("someone@org.ru", f"Re: [#{repeat.number}] повтор", "Ещё подробности")
    assert take(intake, m, projections) == (Outcome.STORED, kept.id)
    assert type(events(desk, kept.id)[-1]).__name__ == "RequesterWrote"
    # another organisation's request never takes the letter: it files a new one
    theirs = desk.file_ticket(world.stranger, world.contracts, "Чужая", "То же",
                              {"contract_number": "1234567890123456789"})  # fmt: skip
    desk.handle(world.agent, MergeInto(theirs.id, None, kept.id))
    projections.catch_up()
    token = reply_token(desk.mail_secret, theirs.id)
    other = letter("rival@rival.ru", "Re: повтор", "И у нас", to=reply_address(DESK, token))
    outcome, new = take(intake, other, projections)
    assert outcome is Outcome.STORED and new not in (kept.id, theirs.id)


def test_suz_mail_in_answers_an_mta_in_exit_statuses(
    world: World, projections: Projections, settings: Settings, tmp_path: Path
) -> None:
    """The command an MTA pipes each letter to, as a separate process over the same store."""
    projections.catch_up()
    env = {**os.environ, "SUZ_MODE": "demo", "SUZ_DATA_DIR": str(settings.data_dir),
           "SUZ_MAIL_FROM": DESK}  # fmt: skip
    if settings.database_url:
        env |= {"SUZ_DATABASE_URL": settings.database_url,
                "SUZ_DATABASE_SCHEMA": settings.schema or ""}  # fmt: skip
    env.pop("SUZ_CHAIN_KEY", None)

    def mail_in(m: EmailMessage) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "suz.cli", "mail-in"], input=m.as_bytes(),
                              env=env, capture_output=True, timeout=120, check=False)  # fmt: skip

    first = letter("Гость <guest@example.org>", "Вопрос по реестру", "Где контракт?")
    assert mail_in(first).returncode == 0
    assert mail_in(first).returncode == 0, "a re-delivery is delivered, once"
    noise = letter("guest@example.org", "Out of office", "Away", Auto_Submitted="auto-replied")
    refused = mail_in(noise)
    assert refused.returncode == 65
    assert b"auto" in refused.stderr
    projections.catch_up()
    with projections.db.read() as tx:
        count = tx.one("SELECT count(*) FROM v_tickets WHERE channel = %s", ("email",))
    assert count is not None and count[0] == 1


def test_letters_from_a_real_mailbox_file_once_and_noise_is_set_aside(
    intake: Intake, world: World, projections: Projections, imap_server: ImapServer
) -> None:
    """The IMAP way in, end to end: dovecot holds the letters, the poller hands them to the
    intake; a letter delivered twice files once; an automatic reply goes to the refused folder."""
    first = letter("Гость <guest@example.org>", "Вопрос по реестру", "Где контракт?")
    auto = letter("guest@example.org", "Автоответ", "В отпуске", Auto_Submitted="auto-replied")
    for m in (first, first, auto):  # the same letter twice: a mail server's re-delivery
        imap_server.append(m.as_bytes())
    box = Mailbox.from_url(imap_server.url)
    counts = poll_once(box, intake)
    assert counts == {Outcome.STORED: 1, Outcome.DUPLICATE: 1, Outcome.REFUSED: 1}
    assert imap_server.uids("INBOX", "UNSEEN") == []
    assert len(imap_server.uids(REFUSED_FOLDER)) == 1
    projections.catch_up()
    with projections.db.read() as tx:
        rows = tx.all("SELECT subject, channel FROM v_tickets WHERE channel = %s", ("email",))
    assert [tuple(r) for r in rows] == [("Вопрос по реестру", "email")]
