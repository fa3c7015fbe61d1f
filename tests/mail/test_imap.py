"""The IMAP poller against a real dovecot (tests/mail/imap_server.py): what it hands over is what
was delivered, byte for byte; what it marks read, sets aside or leaves for later."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from domain.settings import Settings
from mail.imap import REFUSED_FOLDER, ImapError, Mailbox, Outcome, poll_once
from processes.imap_poller import ImapPoller
from projections.db import ViewDB
from projections.failures import FAILURES_DDL, failures
from tests.mail.imap_server import ImapServer, dovecot_fixture, imap_server_fixture  # noqa: F401

SEEN = "\\Seen"


def letter(n: int, body: str = "Hello.") -> bytes:
    return (
        f"From: Requester {n} <r{n}@example.org>\r\n"
        "To: desk@example.com\r\n"
        f"Subject: Letter {n}\r\n"
        f"Message-ID: <letter-{n}@example.org>\r\n"
        "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


class Intake:
    """A handler that records what it was given and answers from a script (STORED after it)."""

    def __init__(self, *answers: Outcome, then: Callable[[bytes], None] | None = None) -> None:
        self.answers, self.then = list(answers), then
        self.seen: list[bytes] = []

    def __call__(self, raw: bytes) -> Outcome:
        self.seen.append(raw)
        if self.then is not None:
            self.then(raw)
        return self.answers.pop(0) if self.answers else Outcome.STORED


def test_unseen_letters_are_handed_over_byte_for_byte_and_marked_read(
    imap_server: ImapServer,
) -> None:
    letters = [letter(1), letter(2, "Привет, мир.\r\nВторая строка."), letter(3)]
    uids = [imap_server.append(raw) for raw in letters]
    box = Mailbox.from_url(imap_server.url)
    intake = Intake()

    assert poll_once(box, intake) == Counter({Outcome.STORED: 3})

    assert intake.seen == letters
    assert all(SEEN in imap_server.flags(uid) for uid in uids)
    again = Intake()
    assert poll_once(box, again) == Counter()
    assert again.seen == []


def test_duplicates_are_marked_read_too(imap_server: ImapServer) -> None:
    uid = imap_server.append(letter(1))
    assert poll_once(Mailbox.from_url(imap_server.url), Intake(Outcome.DUPLICATE)) == Counter(
        {Outcome.DUPLICATE: 1}
    )
    assert SEEN in imap_server.flags(uid)


def test_retry_leaves_the_letter_and_the_rest_unseen_for_a_later_poll(
    imap_server: ImapServer,
) -> None:
    letters = [letter(n) for n in range(1, 5)]
    uids = [imap_server.append(raw) for raw in letters]
    box = Mailbox.from_url(imap_server.url)

    down = Intake(Outcome.STORED, Outcome.RETRY)
    assert poll_once(box, down) == Counter({Outcome.STORED: 1, Outcome.RETRY: 1})
    assert down.seen == letters[:2]  # stopped at the retry: the rest was not even fetched
    assert imap_server.uids(criteria="UNSEEN") == uids[1:]

    up = Intake()
    assert poll_once(box, up) == Counter({Outcome.STORED: 3})
    assert up.seen == letters[1:]
    assert imap_server.uids(criteria="UNSEEN") == []


def test_a_handler_that_raises_leaves_the_letter_unseen_and_the_error_goes_on(
    imap_server: ImapServer,
) -> None:
    uids = [imap_server.append(letter(n)) for n in (1, 2)]

    def broken(raw: bytes) -> Outcome:
        raise RuntimeError("the store is down")

    with pytest.raises(RuntimeError, match="the store is down"):
        poll_once(Mailbox.from_url(imap_server.url), broken)
    assert imap_server.uids(criteria="UNSEEN") == uids


def test_refused_letters_are_read_and_set_aside(imap_server: ImapServer) -> None:
    letters = [letter(1), letter(2), letter(3)]
    uids = [imap_server.append(raw) for raw in letters]
    assert REFUSED_FOLDER not in imap_server.folders()

    intake = Intake(Outcome.STORED, Outcome.REFUSED, Outcome.REFUSED)
    assert poll_once(Mailbox.from_url(imap_server.url), intake) == Counter(
        {Outcome.STORED: 1, Outcome.REFUSED: 2}
    )

    assert imap_server.uids() == uids[:1]  # moved out of INBOX
    assert imap_server.list(REFUSED_FOLDER) == letters[1:]
    assert all(
        SEEN in imap_server.flags(uid, REFUSED_FOLDER) for uid in imap_server.uids(REFUSED_FOLDER)
    )
    # the folder exists now: the next refusal uses it
    imap_server.append(letter(4))
    assert (
        poll_once(Mailbox.from_url(imap_server.url), Intake(Outcome.REFUSED))[Outcome.REFUSED] == 1
    )
    assert imap_server.list(REFUSED_FOLDER) == [*letters[1:], letter(4)]


def test_a_letter_arriving_during_a_poll_waits_for_the_next(imap_server: ImapServer) -> None:
    letters = [letter(1), letter(2)]
    for raw in letters:
        imap_server.append(raw)
    late = letter(3, "I came in while you were reading.")
    arrived: list[int] = []

    def deliver_once(raw: bytes) -> None:
        if not arrived:
            arrived.append(imap_server.append(late))

    box = Mailbox.from_url(imap_server.url)
    first = Intake(then=deliver_once)
    assert poll_once(box, first) == Counter({Outcome.STORED: 2})
    assert first.seen == letters
    assert imap_server.uids(criteria="UNSEEN") == arrived

    second = Intake()
    assert poll_once(box, second) == Counter({Outcome.STORED: 1})
    assert second.seen == [late]


def test_a_batch_takes_the_oldest_letters_first(imap_server: ImapServer) -> None:
    letters = [letter(n) for n in range(1, 6)]
    for raw in letters:
        imap_server.append(raw)
    box = Mailbox.from_url(imap_server.url)
    intake = Intake()
    assert poll_once(box, intake, batch=2)[Outcome.STORED] == 2
    assert poll_once(box, intake, batch=2)[Outcome.STORED] == 2
    assert poll_once(box, intake, batch=2)[Outcome.STORED] == 1
    assert intake.seen == letters


def test_a_large_letter_arrives_whole(imap_server: ImapServer) -> None:
    line = "0123456789" * 7 + "\r\n"  # 72 bytes a line, as a mail client would wrap it
    big = letter(1, line * (5 * 1024 * 1024 // len(line)))
    assert len(big) > 5_000_000
    imap_server.append(big)
    intake = Intake()
    assert poll_once(Mailbox.from_url(imap_server.url), intake) == Counter({Outcome.STORED: 1})
    assert intake.seen == [big]


def test_tls_from_the_first_byte(imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.certificate))
    imap_server.append(letter(1))
    intake = Intake()
    assert poll_once(Mailbox.from_url(imap_server.ssl_url), intake)[Outcome.STORED] == 1
    assert intake.seen == [letter(1)]


def test_starttls_when_asked_for(imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.certificate))
    imap_server.append(letter(1))
    url = imap_server.url.replace("imap://", "imap+starttls://")
    assert poll_once(Mailbox.from_url(url), Intake())[Outcome.STORED] == 1


def test_an_untrusted_certificate_is_refused(imap_server: ImapServer) -> None:
    imap_server.append(letter(1))
    with pytest.raises(ImapError, match="CERTIFICATE_VERIFY_FAILED"):
        poll_once(Mailbox.from_url(imap_server.ssl_url), Intake())
    assert imap_server.uids(criteria="UNSEEN") != []


def test_a_wrong_password_is_a_clear_error_without_the_password(imap_server: ImapServer) -> None:
    imap_server.append(letter(1))
    box = Mailbox.from_url(imap_server.url.replace(":secret@", ":not-the-secret@"))
    with pytest.raises(ImapError, match="login was refused") as caught:
        poll_once(box, Intake())
    assert "not-the-secret" not in str(caught.value)
    assert "desk@127.0.0.1" in str(caught.value)
    assert imap_server.uids(criteria="UNSEEN") != []


def test_a_missing_folder_is_a_clear_error(imap_server: ImapServer) -> None:
    box = Mailbox.from_url(imap_server.url.removesuffix("/INBOX") + "/Nowhere")
    with pytest.raises(ImapError, match="cannot open the folder"):
        poll_once(box, Intake())


def test_no_server_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: nobody answers there
        with pytest.raises(ImapError, match="cannot connect"):
            poll_once(Mailbox.from_url(f"imap://desk:secret@127.0.0.1:{port}/"), Intake())


def test_another_folder_by_its_name(imap_server: ImapServer) -> None:
    client = imap_server.connect()
    client.create('"&BB8EPgQ0BDQENQRABDYEOgQw-"')  # Поддержка, in IMAP's modified UTF-7
    client.logout()
    imap_server.append(letter(1), "&BB8EPgQ0BDQENQRABDYEOgQw-")
    imap_server.append(letter(2))
    url = (
        imap_server.url.removesuffix("/INBOX")
        + "/%D0%9F%D0%BE%D0%B4%D0%B4%D0%B5%D1%80%D0%B6%D0%BA%D0%B0"
    )
    intake = Intake()
    assert poll_once(Mailbox.from_url(url), intake)[Outcome.STORED] == 1
    assert intake.seen == [letter(1)]


# -- the URL -------------------------------------------------------------------------------------


def test_urls_are_read_with_their_defaults() -> None:
    box = Mailbox.from_url("imaps://help%40example.com:p%40ss%3Aword@mail.example.com/Support")
    assert (box.host, box.port, box.user, box.password, box.folder, box.security) == (
        "mail.example.com", 993, "help@example.com", "p@ss:word", "Support", "imaps"
    )  # fmt: skip
    assert Mailbox.from_url("imap://u:p@localhost").port == 143
    assert Mailbox.from_url("imap://u:p@localhost/").folder == "INBOX"
    assert Mailbox.from_url("imap+starttls://u:p@localhost:1143/a/b").folder == "a/b"
    assert Mailbox.from_url("imap+starttls://u:p@localhost:1143/a/b").port == 1143
    assert Mailbox.from_url("IMAPS://u:@[::1]:994").host == "::1"
    assert "p@ss" not in repr(box) and "p%40ss" not in str(box)
    assert str(box) == "imaps://help@example.com@mail.example.com:993/Support"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "empty"),
        ("mail.example.com", "scheme is missing"),
        ("pop3://u:p@mail.example.com", "scheme is 'pop3'"),
        ("imap://mail.example.com/INBOX", "user and the password are missing"),
        ("imap://u@mail.example.com/INBOX", "user and the password are missing"),
        ("imap://:p@mail.example.com", "user is empty"),
        ("imap://u:p@/INBOX", "host is missing"),
        ("imap://u:p@mail.example.com:99999/INBOX", "cannot be read"),
        ("imap://u:p@mail.example.com:port/INBOX", "cannot be read"),
        ("imap://u:p@mail.example.com/INBOX?ssl=1", "query"),
        ("imap://u:p@mail.example.com/IN%0ABOX", "control characters"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, why: str) -> None:
    with pytest.raises(ValueError, match="SUZ_IMAP_URL") as caught:
        Mailbox.from_url(url)
    assert why in str(caught.value)
    assert ":p@" not in str(caught.value)


# -- the process ---------------------------------------------------------------------------------


def _until(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.02)


def _view_db(tmp_path: Path) -> ViewDB:
    db = ViewDB(Settings(data_dir=tmp_path / "data", database_url=None))
    with db.tx() as tx:
        tx.execute(FAILURES_DDL)
    return db


def test_the_poller_process_takes_in_letters_as_they_come(
    imap_server: ImapServer, tmp_path: Path
) -> None:
    letters = [letter(n) for n in range(1, 6)]
    imap_server.append(letters[0])
    intake = Intake()
    poller = ImapPoller(
        _view_db(tmp_path), Mailbox.from_url(imap_server.url), intake, interval=0.05, batch=2
    )
    poller.start()
    try:
        _until(lambda: intake.seen == letters[:1], "the first letter taken in")
        for raw in letters[1:]:  # more than a batch: the tick goes on until none is left
            imap_server.append(raw)
        _until(lambda: intake.seen == letters, "every letter taken in, once, in order")
        _until(lambda: imap_server.uids(criteria="UNSEEN") == [], "every letter read")
    finally:
        poller.stop()


def test_the_poller_process_records_a_mailbox_it_cannot_read(
    imap_server: ImapServer, tmp_path: Path
) -> None:
    db = _view_db(tmp_path)
    box = Mailbox.from_url(imap_server.url.replace(":secret@", ":wrong@"))
    poller = ImapPoller(_view_db(tmp_path), box, Intake(), interval=0.05)
    poller.start()
    try:

        def recorded() -> bool:
            with db.read() as tx:
                return failures(tx).get("process:imap-poller", 0) >= 1

        _until(recorded, "the failure recorded for /health")
    finally:
        poller.stop()
        db.close_all()
