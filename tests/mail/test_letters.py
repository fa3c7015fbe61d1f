"""Reading the letters requesters' clients really send: who wrote, what is new, what is quoted,
which files came, and which letters are noise that must not file or thread anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mail.letters import MAX_TEXT, BadLetter, Letter, Part, parse

SAMPLES = Path(__file__).parent / "samples"
TOKEN = "iau33ztw2ncdtgdnzhi4lwwu4me5x7px5rdumpll7o"
OUR_ID = "suz.4029bde676d34439986dc9d1c5dad4e3.5@desk.ru"
MSK = timezone(timedelta(hours=3))


def letter(name: str) -> Letter:
    """The sample letter `name`, read for the desk on desk.ru."""
    return parse((SAMPLES / name).read_bytes(), own_domain="desk.ru")


def files(found: Letter) -> list[tuple[str, str, bool, str]]:
    """What a letter's files are, without their bytes."""
    return [(p.name, p.media_type, p.inline, p.content_id) for p in found.attachments]


@pytest.mark.parametrize(
    ("sample", "message_id", "sender", "date"),
    [
        ("auto_submitted.eml", "ack-221@helpdesk.romashka.ru", "helpdesk@romashka.ru",
         datetime(2026, 12, 1, 13, 45, tzinfo=MSK)),
        ("bounce_dsn.eml", "20261201104002.3F2A1B0C9D@mx.desk.ru", "mailer-daemon@mx.desk.ru",
         datetime(2026, 12, 1, 13, 40, 2, tzinfo=MSK)),
        ("exchange_out_of_office.eml",
         "BN6PR11MB1250OOF0001@BN6PR11MB1250.namprd11.prod.outlook.com", "john.carter@contoso.com",
         datetime(2026, 12, 1, 14, 0, 5, tzinfo=UTC)),
        ("gmail_reply.eml", "CAJx7=dKzQ9rR5v0N+Lp2w_3cUQ8ZP@mail.gmail.com", "anna.lee@example.com",
         datetime(2026, 12, 1, 13, 5, 33, tzinfo=UTC)),
        ("gmail_ru_inline_image.eml", "CAH4kPq0VbZ=Yd8w@mail.gmail.com", "petrov.ivan@gmail.com",
         datetime(2026, 12, 1, 11, 15, 40, tzinfo=MSK)),
        ("mailing_list.eml", "a1b2c3d4e5f6.news@mail123.suw11.mcdlv.net", "news@contoso.com",
         datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        ("mailru_html_only.eml", "1764584444.171820365@f431.i.mail.ru", "natalia-k@mail.ru",
         datetime(2026, 12, 1, 13, 20, 44, tzinfo=MSK)),
        ("own_message.eml", OUR_ID, "support@desk.ru", datetime(2026, 12, 1, 13, 40, tzinfo=MSK)),
        ("thunderbird_koi8r.eml", "8f1c2a6e-3b4d-4e7a-9c1f-0d2e3f4a5b6c@vektor.spb.ru",
         "kuznetsov@vektor.spb.ru", datetime(2026, 12, 1, 12, 40, 18, tzinfo=MSK)),
        ("wrong_charset.eml", "20261201160000.4411@romashka.ru", "buh@romashka.ru",
         datetime(2026, 12, 1, 16, 0, tzinfo=MSK)),
        ("yandex_out_of_office.eml", "1764586200.q1w2e3@mail.yandex.ru", "m.volkova@yandex.ru",
         datetime(2026, 12, 1, 13, 50, tzinfo=MSK)),
        ("yandex_utf8.eml", "1764583330.a1b2c3@mail.yandex.ru", "m.volkova@yandex.ru",
         datetime(2026, 12, 1, 13, 2, 10, tzinfo=MSK)),
    ],
)  # fmt: skip
def test_every_sample_says_who_sent_it_when_and_under_which_id(
    sample: str, message_id: str, sender: str, date: datetime
) -> None:
    found = letter(sample)
    assert (found.message_id, found.sender, found.date) == (message_id, sender, date)


def test_an_outlook_reply_in_windows_1251_keeps_the_signature_text_but_not_the_old_letter() -> None:
    found = letter("outlook_ru_reply.eml")
    assert found.message_id == (
        "AM0PR07MB4417C1B3E3E1F0D2A9B7C1E4D4A9@AM0PR07MB4417.eurprd07.prod.outlook.com"
    )
    assert found.in_reply_to == (OUR_ID,)
    assert found.references == (OUR_ID,)
    assert (found.sender, found.sender_name) == ("o.smirnova@romashka.ru", "Ольга Смирнова")
    assert found.recipients == (f"support+{TOKEN}@desk.ru",)
    assert found.subject == "RE: [#1042] Не печатает принтер"
    assert found.text == (
        "Добрый день!\n\nПринтер в бухгалтерии снова не печатает, горит оранжевая лампочка.\n"
        "Перезагружали дважды.\n\nС уважением,\nОльга Смирнова\n"
        "ООО «Ромашка», тел. +7 495 123-45-67"
    )
    assert found.quoted.startswith("________________________________\nОт: Служба поддержки")
    assert found.quoted.endswith("Здравствуйте! Попробуйте перезагрузить принтер.")
    assert found.attachments == ()
    assert found.noise is None
    assert found.date == datetime(2026, 12, 1, 9, 31, 2, tzinfo=UTC)


def test_an_outlook_letter_with_an_invoice_named_in_rfc_2231() -> None:
    found = letter("outlook_en_attachment.eml")
    assert found.sender == "john.carter@contoso.com"
    assert found.recipients == ("support@desk.ru", "accounts@contoso.com")
    assert found.text == (
        "Hi team,\n\nThe invoice for November is attached. Could you check the VAT line?\n\n"
        "Thanks,\nJohn"
    )
    assert found.quoted.startswith("-----Original Message-----\nFrom: Support <support@desk.ru>")
    assert files(found) == [("Счёт №17 ноябрь.pdf", "application/pdf", False, "")]
    assert found.attachments[0].data.startswith(b"%PDF-1.4\n")
    # Outlook asks for no auto-replies on a letter a person wrote: no acknowledgement, still filed
    assert found.noise is None
    assert found.no_auto_reply is True
    assert found.date == datetime(2026, 12, 1, 13, 2, 11, tzinfo=UTC)


def test_a_gmail_reply_with_a_wrapped_attribution_and_a_signature() -> None:
    found = letter("gmail_reply.eml")
    assert found.message_id == "CAJx7=dKzQ9rR5v0N+Lp2w_3cUQ8ZP@mail.gmail.com"
    assert found.references == (
        OUR_ID,
        "suz.4029bde676d34439986dc9d1c5dad4e3.2@desk.ru",
        "CAF=zq1Lt0x8Yy@mail.gmail.com",
    )
    assert found.sender_name == "Anna Lee"
    assert found.subject == "Re: [#1043] Export shows wrong dates"
    assert found.text == (
        "Hello,\n\nIt works now, thank you! One more thing: the export to Excel still\n"
        "shows dates as numbers."
    )
    assert found.quoted.startswith("--\nAnna Lee\nProduct team, Example Corp\n\nOn Mon, Dec 1")
    assert "> We have restarted the service. Could you try again?" in found.quoted
    assert found.recipients == (f"support+{TOKEN}@desk.ru",)


def test_a_russian_gmail_letter_with_an_inline_screenshot_and_a_contract() -> None:
    found = letter("gmail_ru_inline_image.eml")
    assert (found.sender, found.sender_name) == ("petrov.ivan@gmail.com", "Иван Петров")
    assert found.subject == "Re: Ошибка при входе"
    assert found.text == (
        "Добрый день!\n\nВот скриншот ошибки:\n[image: ошибка.png]\n\nТакже прикладываю договор."
    )
    assert found.quoted.startswith(
        "пн, 1 дек. 2026 г. в 10:00, Служба поддержки <support@desk.ru>:"
    )
    assert files(found) == [
        ("ошибка.png", "image/png", True, "ii_m41x2k7v0"),
        ("Договор № 12.pdf", "application/pdf", False, "f_m41x2k8d1"),
    ]
    assert found.attachments[0].data.startswith(b"\x89PNG\r\n")
    assert found.in_reply_to == () and found.references == ()


def test_a_thunderbird_letter_in_koi8_r_bottom_signature_and_a_koi8_r_file_name() -> None:
    found = letter("thunderbird_koi8r.eml")
    assert (found.sender, found.sender_name) == ("kuznetsov@vektor.spb.ru", "Сергей Кузнецов")
    assert found.recipients == ("support@desk.ru", "help@desk.ru")
    assert found.subject == "Re: Ключ лицензии"
    assert found.text == (
        'Здравствуйте,\n\nключ лицензии не подходит: программа пишет "неверный формат".\n'
        "Копия письма от поставщика во вложении."
    )
    assert found.quoted.startswith("01.12.2026 10:00, Служба поддержки пишет:\n> Пришлите")
    assert found.quoted.endswith('--\nСергей Кузнецов\nинженер, ЗАО "Вектор"')
    assert files(found) == [("письмо поставщика.txt", "text/plain", False, "")]
    assert found.attachments[0].data.decode("koi8-r") == "Ключ: ABCD-EFGH-1234"


def test_a_yandex_letter_from_the_phone_with_a_photo() -> None:
    found = letter("yandex_utf8.eml")
    assert found.sender_name == "Мария Волкова"
    assert found.subject == "Re: [#1050] Уведомления"
    assert found.text == "Добрый день.\nНе приходят уведомления на почту с 28 ноября."
    assert found.quoted.startswith("--\nОтправлено из мобильной Яндекс Почты\n\n01.12.2026, 10:00,")
    assert files(found) == [("настройки.jpg", "image/jpeg", False, "")]


def test_an_html_only_mail_ru_letter_becomes_text_with_its_list_and_link_but_no_script() -> None:
    found = letter("mailru_html_only.eml")
    assert found.sender_name == "Наталья Кириллова"
    assert found.text == (
        "Здравствуйте!\n\nПосле обновления не работает:\n\n- вход по паролю;\n"
        "- отчёт «Продажи» (ссылка (https://crm.romashka.ru/reports/sales)).\n\n"
        "Скриншот выложила здесь."
    )
    assert "alert" not in found.text + found.quoted and "javascript" not in found.quoted
    assert "письмо" not in found.text  # the <title>
    assert found.quoted.endswith(
        "от Служба поддержки <support@desk.ru>:\n\nЧто именно не работает?"
    )


def test_charsets_declared_wrong_and_raw_8bit_headers_are_read() -> None:
    found = letter("wrong_charset.eml")
    assert found.sender_name == "Бухгалтерия"
    assert found.subject == "Не проходит оплата"
    assert found.text == "Платёжное поручение №45 от 30.11 не проходит, банк возвращает ошибку."


def test_a_letter_without_message_id_gets_one_from_its_bytes() -> None:
    raw = (SAMPLES / "no_message_id.eml").read_bytes()
    found = parse(raw)
    assert found.message_id == "suz-a012e1fe905b88c5a4d688fc909f0008@missing"
    assert parse(raw).message_id == found.message_id  # a re-delivery is recognised
    assert parse(raw + b"\n").message_id != found.message_id
    assert found.subject == "Проверка"
    assert found.text == "Проверка связи: сервер 1С недоступен с 03:00."
    assert found.date is None and found.sender_name == ""


def test_a_malformed_letter_is_read_as_far_as_it_goes() -> None:
    found = letter("malformed.eml")
    assert found.sender == "" and found.date is None
    assert found.recipients == ("support@desk.ru",)
    assert found.subject.startswith("Привет мир")
    assert found.in_reply_to == ("ok-id@romashka.ru",)
    assert found.text == "Привет, мир!"
    assert files(found) == [("passwd", "application/octet-stream", False, "")]


@pytest.mark.parametrize(
    ("sample", "why"),
    [
        ("bounce_dsn.eml", "bounce"),
        ("auto_submitted.eml", "auto-submitted"),
        ("yandex_out_of_office.eml", "auto-reply"),
        ("exchange_out_of_office.eml", "auto-reply"),
        ("mailing_list.eml", "mailing-list"),
        ("own_message.eml", "own"),
    ],
)
def test_noise_is_named_and_never_answered(sample: str, why: str) -> None:
    found = letter(sample)
    assert found.noise == why
    assert found.no_auto_reply is True


def test_a_bounce_keeps_its_report_and_the_returned_letter_as_files() -> None:
    found = letter("bounce_dsn.eml")
    assert found.sender == "mailer-daemon@mx.desk.ru"
    assert found.text.startswith("This is the mail system at host mx.desk.ru.")
    assert [(p.name, p.media_type) for p in found.attachments] == [
        ("status.txt", "message/delivery-status"),
        ("message.eml", "message/rfc822"),
    ]
    assert OUR_ID.encode() in found.attachments[1].data


def _plain(headers: str, body: str = "Hello") -> bytes:
    """A plain-text letter with these headers."""
    return (headers.strip() + "\r\nContent-Type: text/plain\r\n\r\n" + body).encode()


def test_people_are_not_noise_however_their_clients_mark_letters() -> None:
    base = "From: a@b.ru\r\nTo: support@desk.ru\r\nMessage-ID: <x@b.ru>"
    assert parse(_plain(base + "\r\nList-Id: <team.b.ru>")).noise is None
    assert parse(_plain(base + "\r\nX-Auto-Response-Suppress: All")).noise is None
    assert parse(_plain(base + "\r\nAuto-Submitted: no")).noise is None
    assert parse(_plain(base + "\r\nReturn-Path: <a@b.ru>")).noise is None
    assert parse(_plain(base), own_domain="desk.ru").noise is None
    colleague = "From: boss@desk.ru\r\nTo: support@desk.ru\r\nMessage-ID: <1b2c-3d4e@desk.ru>"
    assert parse(_plain(colleague), own_domain="desk.ru").noise is None  # Thunderbird's ids


def test_weaker_signs_of_noise() -> None:
    base = "From: a@b.ru\r\nTo: support@desk.ru\r\nMessage-ID: <x@b.ru>"
    assert parse(_plain(base + "\r\nReturn-Path: <>")).noise == "bounce"
    assert parse(_plain(base + "\r\nPrecedence: junk")).noise == "mailing-list"
    assert parse(_plain(base + "\r\nAuto-Submitted: auto-generated")).noise == "auto-submitted"
    assert parse(_plain(base + "\r\nX-Suz-Event: 5")).noise == "own"
    postmaster = "From: postmaster@b.ru\r\nTo: support@desk.ru"
    assert parse(_plain(postmaster)).noise == "bounce"
    assert parse(_plain("From: MAILER-DAEMON (Mail Delivery System)")).noise == "bounce"
    ours = "From: a@b.ru\r\nMessage-ID: <suz.4029bde676d34439986dc9d1c5dad4e3.5@Desk.RU>"
    assert parse(_plain(ours), own_domain="desk.ru").noise == "own"
    assert parse(_plain(ours), own_domain="other.ru").noise is None


def test_a_letter_over_the_size_limit_is_refused() -> None:
    raw = _plain("From: a@b.ru", "x" * 2000)
    with pytest.raises(BadLetter, match="larger than the 1000 allowed"):
        parse(raw, max_bytes=1000)


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"hello world", b"\x00\xff" * 50, b"PK\x03\x04"])
def test_bytes_that_are_no_letter_are_refused(raw: bytes) -> None:
    with pytest.raises(BadLetter, match="not a letter"):
        parse(raw)


def test_letters_built_to_be_slow_are_refused() -> None:
    with pytest.raises(BadLetter, match="more than the 2000000 allowed"):
        parse(b"From: a@b.ru\r\n\r\n" + b"\n" * 2_000_001)
    parts = b"--b\r\nContent-Type: image/png\r\n\r\nx\r\n" * 10_001
    with pytest.raises(BadLetter, match="more than the 10000 allowed"):
        parse(b"From: a@b.ru\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + parts)
    nested = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                      for i in range(3000))  # fmt: skip
    with pytest.raises(BadLetter, match="cannot be read"):
        parse(b"From: a@b.ru\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" + nested)


def test_a_raw_8bit_file_name_is_read_in_its_charset() -> None:
    raw = (
        b"From: a@b.ru\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/vnd.ms-excel\r\n"
        b'Content-Disposition: attachment; filename="' + "Отчёт за ноябрь.xls".encode("cp1251")
        + b'"\r\n\r\ndata\r\n--b--\r\n'
    )  # fmt: skip
    assert files(parse(raw)) == [("Отчёт за ноябрь.xls", "application/vnd.ms-excel", False, "")]


def test_a_long_text_is_cut_to_the_desks_limit_and_the_rest_kept_in_quoted() -> None:
    line = "Строка журнала сервера с ошибкой номер сорок два.\n"
    found = parse(
        _plain("From: a@b.ru", line * 1000).replace(b"text/plain", b"text/plain; charset=utf-8")
    )
    assert len(found.text) <= MAX_TEXT
    assert found.text.endswith(line.strip() + "\n\n[…]")
    assert (found.text.removesuffix("\n\n[…]") + "\n" + found.quoted + "\n") == line * 1000


def test_control_characters_never_reach_the_text() -> None:
    found = parse(_plain("From: a@b.ru\r\nSubject: a\x00b", "one\x00two\x1bthree"))
    assert found.text == "onetwothree"
    assert "\x00" not in found.subject


def test_reply_to_is_kept_apart_from_the_sender() -> None:
    found = letter("mailru_html_only.eml")
    assert (found.sender, found.reply_to) == ("natalia-k@mail.ru", ("natalia-k@mail.ru",))
    assert letter("gmail_reply.eml").reply_to == ()


def test_a_charset_that_is_an_escape_codec_is_not_obeyed() -> None:
    raw = _plain("From: a@b.ru", "\\ud800 \\x00 Привет").replace(
        b"text/plain", b"text/plain; charset=unicode_escape"
    )
    assert parse(raw).text == "\\ud800 \\x00 Привет"


def test_a_very_long_references_keeps_its_root_and_latest_ids() -> None:
    ids = " ".join(f"<id{i}@b.ru>" for i in range(300))
    found = parse(_plain(f"From: a@b.ru\r\nReferences: {ids}"))
    assert found.references == ("id0@b.ru", *(f"id{i}@b.ru" for i in range(201, 300)))


def test_an_empty_plain_part_gives_way_to_the_html_one() -> None:
    raw = (
        b"From: a@b.ru\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\n \r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>From <b>HTML</b></p>\r\n--b--\r\n"
    )
    assert parse(raw).text == "From HTML"


def test_text_split_around_an_inline_picture_is_joined() -> None:
    raw = (
        b"From: a@b.ru\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nLook:\r\n"
        b"--b\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=a.png\r\n"
        b"Content-ID: <p1>\r\n\r\nPNG\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nthat is the error.\r\n--b--\r\n"
    )
    found = parse(raw)
    assert found.text == "Look:\nthat is the error."
    assert files(found) == [("a.png", "image/png", True, "p1")]


def test_a_part_is_plain_data() -> None:
    part = Part("a.txt", "text/plain", b"x", False, "")
    assert (part.name, part.inline) == ("a.txt", False)


def test_an_aware_date_even_when_the_zone_is_unknown() -> None:
    found = parse(_plain("From: a@b.ru\r\nDate: Tue, 1 Dec 2026 10:00:00 -0000"))
    assert found.date == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    found = parse(_plain("From: a@b.ru\r\nDate: Tue, 1 Dec 2026 10:00:00 +0300"))
    assert found.date == datetime(2026, 12, 1, 10, 0, tzinfo=MSK)


# What hostile or broken input can do: nothing but a BadLetter or a sane best-effort Letter.

NOISE = {None, "auto-submitted", "auto-reply", "bounce", "mailing-list", "own"}
SAMPLE_BYTES = [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))]


def _sane(found: Letter) -> None:
    """Check what every letter read must keep to, however broken its bytes."""
    assert found.message_id and len(found.text) <= MAX_TEXT and found.noise in NOISE
    assert found.date is None or found.date.tzinfo is not None
    assert found.sender == found.sender.lower()
    for part in found.attachments:
        assert part.name and not set(part.name) & set("/\\\x00\r\n")
        assert part.name not in (".", "..") and part.media_type == part.media_type.lower()
    for text in (found.text, found.quoted, found.subject, found.sender_name):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates: storable, sendable as JSON


def _read_or_refuse(raw: bytes) -> None:
    """Read `raw`: a BadLetter or a sane Letter, nothing else."""
    try:
        found = parse(raw, own_domain="desk.ru")
    except BadLetter:
        return
    _sane(found)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_are_read_or_refused(raw: bytes) -> None:
    _read_or_refuse(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SAMPLE_BYTES),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 255), st.sampled_from("rid")), max_size=8
    ),
    st.integers(0, 10**6),
)
def test_mutated_samples_are_read_or_refused(
    raw: bytes, edits: list[tuple[int, int, str]], end: int
) -> None:
    data = bytearray(raw)
    for at, byte, how in edits:
        at %= len(data) + 1
        if how == "r" and at < len(data):
            data[at] = byte
        elif how == "i":
            data.insert(at, byte)
        elif how == "d" and at < len(data):
            del data[at]
    _read_or_refuse(bytes(data[: max(end % (len(data) + 1), len(data) // 2)]))


HEADER_NAMES = ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References",
                "Date", "Content-Type", "Content-Disposition", "Content-Transfer-Encoding",
                "Auto-Submitted", "Return-Path", "Precedence", "X-Autoreply"]  # fmt: skip
VALUE_BITS = ["=?utf-8?B?", "=?koi8-r?Q?", "?=", "<", ">", "@", '"', ",", ";", "\\", "(", ")",
              "multipart/mixed; boundary=b", "--b", "\r\n", "\r\n ", "filename*0*=", "utf-8''%D0",
              "base64", "quoted-printable", "=", "%", "\x00", "\xff", "Привет", "message/rfc822",
              "charset=", "text/html", "<div class=gmail_quote>", "<blockquote>",
              "<a href="]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(HEADER_NAMES),
            st.lists(st.sampled_from(VALUE_BITS) | st.text(max_size=8), max_size=8),
        ),
        min_size=1,
        max_size=10,
    ),
    st.lists(st.sampled_from(VALUE_BITS) | st.text(max_size=8), max_size=20),
)
def test_letters_made_of_hostile_header_pieces_are_read_or_refused(
    headers: list[tuple[str, list[str]]], body: list[str]
) -> None:
    head = "".join(f"{name}: {''.join(bits)}\r\n" for name, bits in headers)
    _read_or_refuse((head + "\r\n" + "".join(body)).encode("utf-8", errors="surrogateescape"))
