"""mail/outgoing.py: the letter as written, read back with the standard parser."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mail.letters import parse
from mail.outgoing import Outgoing, Unsendable, build

SENDER = "Служба поддержки <support@desk.example.ru>"
ID = "<suz.0123456789abcdef0123456789abcdef.42@desk.example.ru>"
EARLIER = tuple(f"<suz.0123456789abcdef0123456789abcdef.{i}@desk.example.ru>" for i in (1, 7))
LETTER = Outgoing(
    to="Иван Петров <ivan@example.org>",
    subject="Заявка №42: не печатает принтер",
    text="Здравствуйте!\n\nПринтер починили.\n.строка с точкой\n",
    html="<p>Здравствуйте!</p><p>Принтер починили.</p>",
    message_id=ID,
    in_reply_to=EARLIER[-1],
    references=EARLIER,
    reply_to="support+t0ken@desk.example.ru",
)


def wire(o: Outgoing, sender: str = SENDER) -> bytes:
    return build(o, sender).as_bytes()


def read(o: Outgoing, sender: str = SENDER) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(wire(o, sender))
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_headers_read_back_as_written() -> None:
    msg = read(LETTER)
    assert msg["Subject"] == "Заявка №42: не печатает принтер"
    assert msg["From"].addresses[0].display_name == "Служба поддержки"
    assert msg["From"].addresses[0].addr_spec == "support@desk.example.ru"
    assert msg["To"].addresses[0].display_name == "Иван Петров"
    assert msg["To"].addresses[0].addr_spec == "ivan@example.org"
    assert msg["Reply-To"] == "support+t0ken@desk.example.ru"
    assert msg["Message-ID"] == ID
    assert msg["In-Reply-To"] == EARLIER[-1]
    assert msg["References"].split() == list(EARLIER)
    assert msg["Content-Language"] == "ru"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["X-Suz-Notification"] == "1"
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert "Precedence" not in msg and "List-Unsubscribe" not in msg
    assert msg["MIME-Version"] == "1.0"


def test_text_and_html_are_alternatives_text_first() -> None:
    msg = read(LETTER)
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.iter_parts()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == LETTER.text  # type: ignore[attr-defined]
    assert html.get_content().strip() == LETTER.html  # type: ignore[attr-defined]
    assert "MIME-Version" not in text and "MIME-Version" not in html


def test_text_only_when_html_is_empty() -> None:
    msg = read(replace(LETTER, html=""))
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().replace("\r\n", "\n") == LETTER.text


def test_seven_bit_clean_on_the_wire() -> None:
    raw = wire(LETTER)
    assert raw.isascii()
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only


def test_cyrillic_domain_is_written_in_idna() -> None:
    msg = read(replace(LETTER, to="Иван <ivan@пример.рф>"))
    assert msg["To"].addresses[0].addr_spec == "ivan@xn--e1afmkfd.xn--p1ai"
    assert msg["To"].addresses[0].display_name == "Иван"


def test_non_ascii_local_part_is_refused() -> None:
    with pytest.raises(Unsendable, match=r"^to: "):  # it would need SMTPUTF8 all the way
        build(replace(LETTER, to="иван@example.org"), SENDER)


def test_list_unsubscribe_one_click_and_never_encoded() -> None:
    url = "https://desk.example.ru/unsubscribe/" + "a1b2c3d4" * 16  # longer than a line
    raw = wire(replace(LETTER, list_unsubscribe=url, language="en"))
    assert f"List-Unsubscribe: <{url}>\r\n".encode() in raw
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Content-Language"] == "en"


def test_long_ids_are_folded_between_ids_not_encoded() -> None:
    domain = "support." + "x" * 60 + ".example.ru"
    refs = tuple(f"<suz.{i:032x}.{i}@{domain}>" for i in range(6))
    raw = wire(replace(LETTER, references=refs, in_reply_to=refs[-1], message_id=refs[0]))
    assert all(r.encode() in raw for r in refs)  # each one whole, none encoded
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert msg["References"].split() == list(refs)
    assert msg["In-Reply-To"] == refs[-1] and msg["Message-ID"] == refs[0]


HOSTILE_TEXT = [
    "Hello\r\nBcc: victim@evil.example",
    "Hello\nBcc: victim@evil.example",
    "Hello\rBcc: victim@evil.example",
    "Hello\u2028Bcc: victim@evil.example",
    "Hello\x85Bcc: victim@evil.example",
    "Hello\r\n\r\n<html>body injection</html>",
    "Hello\x00\x1b[31m\tthere",
]


@pytest.mark.parametrize("subject", HOSTILE_TEXT)
def test_line_breaks_in_the_subject_become_spaces(subject: str) -> None:
    raw = wire(replace(LETTER, subject=subject))
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert "Bcc" not in msg and b"\r\nBcc:" not in raw
    assert msg["Subject"].startswith("Hello ")
    assert all(ch.isprintable() for ch in msg["Subject"])
    assert len(msg.get_all("Subject") or []) == 1
    assert msg.get_content_type() == "multipart/alternative"  # the body was not replaced


HOSTILE_FIELDS = [
    {"to": "ivan@example.org\r\nBcc: victim@evil.example"},
    {"to": "ivan@example.org\nBcc: victim@evil.example"},
    {"to": "Ivan\r\nBcc: victim@evil.example <ivan@example.org>"},
    {"to": "ivan@example.org, victim@evil.example"},  # one recipient only
    {"to": "Undisclosed:;"},
    {"to": "not an address"},
    {"to": ""},
    {"reply_to": "support+t@desk.ru\r\nBcc: victim@evil.example"},
    {"message_id": "<a@b>\r\nBcc: victim@evil.example"},
    {"message_id": "a@b"},
    {"message_id": "<a b@c>"},
    {"in_reply_to": "<a@b>\nX-Evil: 1"},
    {"references": ("<a@b>", "<c@d>\r\nBcc: victim@evil.example")},
    {"list_unsubscribe": "https://desk.ru/u\r\nBcc: victim@evil.example"},
    {"list_unsubscribe": "https://desk.ru/u> <mailto:x@evil.example"},
    {"list_unsubscribe": "javascript:alert(1)"},
    {"language": "ru\r\nBcc: victim@evil.example"},
]


@pytest.mark.parametrize("fields", HOSTILE_FIELDS, ids=lambda f: repr(f)[:40])
def test_hostile_structured_fields_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(Unsendable):
        build(replace(LETTER, **fields), SENDER)  # type: ignore[arg-type]


def test_hostile_sender_is_refused() -> None:
    with pytest.raises(Unsendable, match="sender"):
        build(LETTER, "support@desk.ru\r\nBcc: victim@evil.example")


def test_a_display_name_with_quotes_and_commas_stays_one_address() -> None:
    msg = read(replace(LETTER, to='"Петров, Иван \\"IT\\"" <ivan@example.org>'))
    assert len(msg["To"].addresses) == 1
    assert msg["To"].addresses[0].display_name == 'Петров, Иван "IT"'


@settings(max_examples=150, deadline=None)
@given(subject=st.text(max_size=300), name=st.text(max_size=120))
def test_any_subject_and_display_name_read_back_cleaned(subject: str, name: str) -> None:
    """Whatever the text, the wire is 7-bit with lines within RFC 5322's limit, there is one
    Subject and one To, and a reader gets the text back with only whitespace normalised."""
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    to = f'"{quoted}" <ivan@example.org>'
    try:
        raw = wire(replace(LETTER, subject=subject, to=to))
    except Unsendable:
        assume(False)  # a name the address parser will not take as one address
    assert raw.isascii()
    head = raw.split(b"\r\n\r\n")[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert len(msg.get_all("Subject") or []) == 1 and len(msg.get_all("To") or []) == 1
    assert msg["Subject"] == " ".join(clean(subject).split())
    (address,) = msg["To"].addresses
    assert address.addr_spec == "ivan@example.org"
    # The name is read back as RFC 2047 (6.2) says: the folding space between two adjacent
    # encoded-words is not text. Python's address parser keeps it (a 40-letter Cyrillic name
    # came back with a space inside), so the name is read by suz's own reader of incoming mail,
    # from a letter with the same address (made by the same code) as its sender.
    letter = parse(wire(replace(LETTER, subject=subject, to=to), sender=to))
    assert letter.sender == "ivan@example.org"
    assert " ".join(letter.sender_name.split()) == " ".join(clean(name).split())


def clean(text: str) -> str:
    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
