"""mail/smtp.py against a real SMTP server (aiosmtpd on a free port), and the mail settings."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import replace

import pytest

from domain.settings import Settings
from mail.outgoing import Outgoing, build
from mail.smtp import SendFailure, SmtpTarget
from tests.mail import smtp_server as servers
from tests.mail.smtp_server import AUTH_PASSWORD, AUTH_USER, HOST, RunningServer, free_port

# the fixtures (bound here rather than imported: a parameter named as an import is F811)
smtp_server = servers.smtp_server
smtp_auth_server = servers.smtp_auth_server
smtp_certificate = servers.smtp_certificate
client_tls = servers.client_tls
smtps_server = servers.smtps_server
starttls_server = servers.starttls_server

SENDER = "Служба поддержки <support@desk.example.ru>"


def letter(n: int = 1, to: str = "Иван Петров <ivan@example.org>") -> Outgoing:
    return Outgoing(
        to=to,
        subject=f"Заявка №{n}: принтер — «снова» не печатает",
        text=f"Здравствуйте!\n.\n.строка с точкой\nПисьмо {n}\n",
        html=f"<p>Письмо {n}</p>",
        message_id=f"<suz.{n:032x}.{n}@desk.example.ru>",
    )


def target(server: RunningServer, **kwargs: object) -> SmtpTarget:
    return SmtpTarget.from_url(server.url, timeout=10, helo="client.test", **kwargs)  # type: ignore[arg-type]


def test_a_letter_arrives_whole(smtp_server: RunningServer) -> None:
    target(smtp_server).send(build(letter(7), SENDER))
    (got,) = smtp_server.wait_for(1)
    assert got.mail_from == "support@desk.example.ru"
    assert got.rcpt_tos == ("ivan@example.org",)
    msg = got.message()
    assert msg["Subject"] == "Заявка №7: принтер — «снова» не печатает"
    assert msg["To"].addresses[0].display_name == "Иван Петров"
    assert msg["Message-ID"] == f"<suz.{7:032x}.7@desk.example.ru>"
    assert msg["Auto-Submitted"] == "auto-generated"
    text, html = msg.iter_parts()
    body = text.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]
    assert body == "Здравствуйте!\n.\n.строка с точкой\nПисьмо 7\n"  # dots survive stuffing
    assert "Письмо 7" in html.get_content()  # type: ignore[attr-defined]


def test_the_envelope_sender_may_differ_from_from(smtp_server: RunningServer) -> None:
    target(smtp_server, envelope_from="bounces@desk.example.ru").send(build(letter(), SENDER))
    (got,) = smtp_server.wait_for(1)
    assert got.mail_from == "bounces@desk.example.ru"
    assert got.message()["From"].addresses[0].addr_spec == "support@desk.example.ru"


@pytest.mark.parametrize(
    ("status", "temporary"),
    [("451 4.3.0 Try again later", True), ("550 5.7.1 Message refused", False)],
)
def test_refusals_are_temporary_or_permanent_by_code(
    smtp_server: RunningServer, status: str, temporary: bool
) -> None:
    smtp_server.refuse_next(status)
    with pytest.raises(SendFailure) as caught:
        target(smtp_server).send(build(letter(), SENDER))
    assert caught.value.temporary is temporary
    assert caught.value.code == int(status[:3])
    assert caught.value.stage == "data"
    assert status[4:] in str(caught.value)
    target(smtp_server).send(build(letter(2), SENDER))  # the next one goes through
    assert [r.message()["Message-ID"] for r in smtp_server.wait_for(1)] == [letter(2).message_id]


def test_a_refused_recipient_is_permanent(smtp_server: RunningServer) -> None:
    smtp_server.refuse_recipient("nobody@example.org")
    with pytest.raises(SendFailure) as caught:
        target(smtp_server).send(build(letter(to="nobody@example.org"), SENDER))
    assert (caught.value.temporary, caught.value.code, caught.value.stage) == (False, 550, "rcpt")


def test_server_down_is_temporary() -> None:
    down = SmtpTarget.from_url(f"smtp://{HOST}:{free_port()}", timeout=5)
    with pytest.raises(SendFailure) as caught:
        down.send(build(letter(), SENDER))
    assert caught.value.temporary and caught.value.code is None
    assert caught.value.stage == "connect"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(4)
        yield s.getsockname()[1]


def test_a_server_that_never_answers_times_out_as_temporary(silent_server: int) -> None:
    mute = SmtpTarget.from_url(f"smtp://{HOST}:{silent_server}", timeout=0.5)
    with pytest.raises(SendFailure) as caught:
        mute.send(build(letter(), SENDER))
    assert caught.value.temporary and caught.value.stage == "connect"


def test_auth_with_the_right_password(smtp_auth_server: RunningServer) -> None:
    assert "%40" in smtp_auth_server.url  # the user's @ travels percent-encoded
    target(smtp_auth_server).send(build(letter(), SENDER))
    assert len(smtp_auth_server.wait_for(1)) == 1
    assert smtp_auth_server.recorder.logins == [AUTH_USER]


def test_a_wrong_password_is_the_channels_failure_not_the_letters(
    smtp_auth_server: RunningServer,
) -> None:
    """535 is a permanent reply, but about our credentials: every letter would get it until
    the operator fixes SUZ_SMTP_URL, so it must not dead-letter them. Temporary, stage auth."""
    url = smtp_auth_server.url.replace("p%40ss", "wrong")
    assert url != smtp_auth_server.url
    with pytest.raises(SendFailure) as caught:
        SmtpTarget.from_url(url, timeout=10).send(build(letter(), SENDER))
    assert (caught.value.temporary, caught.value.code, caught.value.stage) == (True, 535, "auth")
    assert AUTH_PASSWORD not in str(caught.value) and "wrong" not in repr(caught.value)
    assert smtp_auth_server.received == []


def test_no_credentials_where_auth_is_required_is_the_channels_failure(
    smtp_auth_server: RunningServer,
) -> None:
    anonymous = SmtpTarget.from_url(f"smtp://{HOST}:{smtp_auth_server.port}", timeout=10)
    with pytest.raises(SendFailure) as caught:
        anonymous.send(build(letter(), SENDER))
    assert (caught.value.temporary, caught.value.code, caught.value.stage) == (True, 530, "auth")


def test_send_many_one_refused_recipient_in_the_middle(smtp_server: RunningServer) -> None:
    smtp_server.refuse_recipient("gone@example.org")
    batch = [
        build(letter(1), SENDER),
        build(letter(2, to="gone@example.org"), SENDER),
        build(letter(3), SENDER),
    ]
    results = target(smtp_server).send_many(batch)
    assert results[0] is None and results[2] is None
    assert results[1] is not None and not results[1].temporary and results[1].code == 550
    got = smtp_server.wait_for(2)
    assert [r.message()["Message-ID"] for r in got] == [letter(1).message_id, letter(3).message_id]


def test_send_many_a_temporary_refusal_in_the_middle(smtp_server: RunningServer) -> None:
    batch = [build(letter(n), SENDER) for n in (1, 2, 3)]
    tx = target(smtp_server)
    assert tx.send_many(batch[:1]) == [None]
    smtp_server.refuse_next("451 4.3.0 Try again later")
    results = tx.send_many(batch[1:])
    assert results[0] is not None and results[0].temporary and results[0].code == 451
    assert results[1] is None
    got = smtp_server.wait_for(2)
    assert [r.message()["Message-ID"] for r in got] == [letter(1).message_id, letter(3).message_id]


def test_send_many_reconnects_once_after_a_drop(smtp_server: RunningServer) -> None:
    smtp_server.drop_next(1, after=1)  # the second letter's MAIL loses the connection
    batch = [build(letter(n), SENDER) for n in (1, 2, 3)]
    assert target(smtp_server).send_many(batch) == [None, None, None]
    got = smtp_server.wait_for(3)
    assert [r.message()["Message-ID"] for r in got] == [letter(n).message_id for n in (1, 2, 3)]


def test_send_many_gives_up_after_the_second_drop(smtp_server: RunningServer) -> None:
    smtp_server.drop_next(2, after=1)
    batch = [build(letter(n), SENDER) for n in (1, 2, 3)]
    results = target(smtp_server).send_many(batch)
    assert results[0] is None
    assert all(r is not None and r.temporary and r.stage == "send" for r in results[1:])
    assert len(smtp_server.wait_for(1)) == 1


def test_send_many_with_the_server_down_fails_every_letter_temporarily() -> None:
    down = SmtpTarget.from_url(f"smtp://{HOST}:{free_port()}", timeout=5)
    results = down.send_many([build(letter(n), SENDER) for n in (1, 2)])
    assert all(r is not None and r.temporary and r.stage == "connect" for r in results)


def test_smtps(smtps_server: RunningServer, client_tls: ssl.SSLContext) -> None:
    assert smtps_server.url.startswith("smtps://")
    target(smtps_server, tls=client_tls).send(build(letter(), SENDER))
    assert smtps_server.wait_for(1)[0].message()["Subject"].startswith("Заявка №1")


def test_starttls(starttls_server: RunningServer, client_tls: ssl.SSLContext) -> None:
    assert starttls_server.url.startswith("smtp+starttls://")
    target(starttls_server, tls=client_tls).send(build(letter(), SENDER))
    assert len(starttls_server.wait_for(1)) == 1


def test_an_untrusted_certificate_is_a_temporary_channel_failure(
    smtps_server: RunningServer,
) -> None:
    with pytest.raises(SendFailure) as caught:
        target(smtps_server).send(build(letter(), SENDER))  # the system's trust store
    assert caught.value.temporary and caught.value.stage == "connect"
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert smtps_server.received == []


def test_starttls_never_falls_back_to_clear_text(
    smtp_server: RunningServer, client_tls: ssl.SSLContext
) -> None:
    url = smtp_server.url.replace("smtp://", "smtp+starttls://")
    with pytest.raises(SendFailure) as caught:
        SmtpTarget.from_url(url, timeout=10, tls=client_tls).send(build(letter(), SENDER))
    assert caught.value.temporary and caught.value.stage == "connect"
    assert smtp_server.received == []


def test_a_letter_without_one_recipient_is_permanent(smtp_server: RunningServer) -> None:
    msg = build(letter(), SENDER)
    del msg["To"]
    with pytest.raises(SendFailure) as caught:
        target(smtp_server).send(msg)
    assert not caught.value.temporary and caught.value.code is None


def test_no_letters_no_connection() -> None:
    down = SmtpTarget.from_url(f"smtp://{HOST}:{free_port()}", timeout=5)
    assert down.send_many([]) == []


def test_an_unwritable_letter_fails_alone(smtp_server: RunningServer) -> None:
    """A letter smtplib will not send (here: two Resent- blocks, which build never writes) is
    refused before any command, for good; its neighbours go through."""
    bad = build(letter(2), SENDER)
    bad.set_raw("Resent-Date", "Thu, 03 Dec 2026 10:00:00 +0000")
    bad.set_raw("Resent-Date", "Thu, 03 Dec 2026 11:00:00 +0000")
    results = target(smtp_server).send_many(
        [build(letter(1), SENDER), bad, build(letter(3), SENDER)]
    )
    assert results[0] is None and results[2] is None
    assert results[1] is not None and not results[1].temporary
    assert len(smtp_server.wait_for(2)) == 2


# -- the settings


def test_settings_read_the_mail_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUZ_SMTP_URL", "smtps://u%40desk.ru:s3cr%3At@mail.desk.ru")
    monkeypatch.setenv("SUZ_MAIL_FROM", "Поддержка <Support@Desk.RU>")
    settings = Settings.from_env()
    assert settings.smtp_url == "smtps://u%40desk.ru:s3cr%3At@mail.desk.ru"
    assert settings.mail_domain == "desk.ru"
    assert "s3cr" not in repr(settings) and "smtp_url" not in repr(settings)
    server = SmtpTarget.from_url(settings.smtp_url).server
    assert (server.security, server.host, server.port) == ("tls", "mail.desk.ru", 465)
    assert (server.user, server.password) == ("u@desk.ru", "s3cr:t")
    assert "s3cr" not in repr(server)


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUZ_SMTP_URL", raising=False)
    monkeypatch.delenv("SUZ_MAIL_FROM", raising=False)
    settings = Settings.from_env()
    assert settings.smtp_url is None
    assert (settings.mail_from, settings.mail_domain) == ("suz@localhost", "localhost")
    assert (
        replace(settings, mail_from="Desk <help@пример.рф>").mail_domain == "xn--e1afmkfd.xn--p1ai"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.desk.ru", "must start with smtp://"),
        ("smtp://", "no host"),
        ("smtp://mail.desk.ru:99999", "port"),
        ("smtp://mail.desk.ru:abc", "port"),
        ("smtps://user@mail.desk.ru", "both user and password"),
        ("smtp://user:hunter2@mail.desk.ru", "clear text"),
        ("smtps://mail.desk.ru/inbox", "no path"),
        ("smtps://mail.desk.ru:465\r\nX", "control characters"),
    ],
)
def test_a_wrong_smtp_url_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    monkeypatch.setenv("SUZ_SMTP_URL", url)
    with pytest.raises(ValueError, match="SUZ_SMTP_URL") as caught:
        Settings.from_env()
    assert says in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("value", ["not an address", "a@b.ru, c@d.ru", "a@b.ru\r\nBcc: x@y.ru"])
def test_a_wrong_mail_from_stops_the_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SUZ_MAIL_FROM", value)
    with pytest.raises(ValueError, match="SUZ_MAIL_FROM"):
        Settings.from_env()
