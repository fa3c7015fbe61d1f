"""A reply finds its request by a signed address token, by our own Message-IDs, or by the number
in its subject; a forged or edited token finds nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mail.threads import (
    TOKEN_LENGTH,
    message_id,
    number_in_subject,
    reply_address,
    reply_token,
    tickets_in,
    token_ticket,
    tokens_in,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
TICKET = UUID("4029bde6-76d3-4439-986d-c9d1c5dad4e3")
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def test_a_token_names_its_ticket_and_is_safe_in_an_address() -> None:
    token = reply_token(KEY, TICKET)
    tag = hmac.new(KEY, b"suz-reply:" + TICKET.bytes, hashlib.sha256).digest()[:10]  # 80 bits
    assert token == "iau33ztw2ncdtgdnzhi4lwwu4m" + base64.b32encode(tag).decode().lower()
    assert len(token) == TOKEN_LENGTH and set(token) <= set(ALPHABET)
    assert token_ticket(KEY, token) == TICKET
    assert token_ticket(KEY, token.upper()) == TICKET  # some servers keep the case they got


@settings(max_examples=200)
@given(st.uuids())
def test_every_ticket_survives_the_round_trip(ticket: UUID) -> None:
    assert token_ticket(KEY, reply_token(KEY, ticket)) == ticket


def test_changing_any_character_of_a_token_finds_nothing() -> None:
    token = reply_token(KEY, TICKET)
    for i, original in enumerate(token):
        for replacement in ALPHABET.replace(original, ""):
            assert token_ticket(KEY, token[:i] + replacement + token[i + 1 :]) is None


def test_a_token_signed_with_another_key_finds_nothing() -> None:
    assert token_ticket(OTHER_KEY, reply_token(KEY, TICKET)) is None
    assert token_ticket(KEY, reply_token(OTHER_KEY, TICKET)) is None


def test_a_token_for_another_ticket_cannot_be_made_from_one_we_sent() -> None:
    token, other = reply_token(KEY, TICKET), uuid4()
    forged = reply_token(OTHER_KEY, other)[:26] + token[26:]
    assert token_ticket(KEY, forged) is None


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a" * 41, "a" * 43, "a" * 41 + "!", "a" * 41 + "1", " " + "a" * 41, "и" * 42,
     "a" * 40 + "\r\n", "a" * 42 + "@desk.ru"],
)  # fmt: skip
def test_malformed_tokens_find_nothing(token: str) -> None:
    assert token_ticket(KEY, token) is None


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_no_text_but_our_token_finds_a_ticket(text: str) -> None:
    found = token_ticket(KEY, text)
    assert found is None or reply_token(KEY, found) == text.lower()


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        reply_token(b"short", TICKET)


def test_the_reply_address_carries_the_token() -> None:
    token = reply_token(KEY, TICKET)
    assert reply_address("Support <support@desk.ru>", token) == f"support+{token}@desk.ru"
    assert reply_address("support@desk.ru", token) == f"support+{token}@desk.ru"
    assert reply_address('"Desk, Line 1" <line1+old@desk.ru>', token) == f"line1+{token}@desk.ru"
    for bad in ("", "Support", "<@desk.ru>"):
        with pytest.raises(ValueError):
            reply_address(bad, token)
    with pytest.raises(ValueError):
        reply_address("support@desk.ru", "not a token")


def test_tokens_are_found_in_recipient_headers() -> None:
    token = reply_token(KEY, TICKET)
    headers = [
        f'"Служба поддержки" <support+{token}@desk.ru>,\r\n boss@romashka.ru',
        f"SUPPORT+{token.upper()}@DESK.RU",
        "plain@desk.ru",
        "garbage <<<>>> ,,,",
    ]
    assert tokens_in(headers) == [token]
    assert tokens_in(["a+one@x.ru", "b+two@y.ru, c@z.ru"]) == ["one", "two"]
    assert tokens_in([]) == []


def test_our_message_ids_name_the_ticket_and_the_event() -> None:
    assert message_id(TICKET, 7, "desk.ru") == "<suz.4029bde676d34439986dc9d1c5dad4e3.7@desk.ru>"
    with pytest.raises(ValueError):
        message_id(TICKET, -1, "desk.ru")
    with pytest.raises(ValueError):
        message_id(TICKET, 1, "desk.ru> <x")


def test_tickets_are_found_in_references_on_our_domain_only() -> None:
    other = uuid4()
    references = [
        f"<CAF=zq1@mail.gmail.com>\r\n\t{message_id(TICKET, 5, 'desk.ru')}\r\n "
        f"{message_id(other, 1, 'DESK.RU')} {message_id(uuid4(), 2, 'evil.ru')}",
        message_id(TICKET, 9, "desk.ru").strip("<>"),  # as Letter.in_reply_to holds them
        "<x.suz.4029bde676d34439986dc9d1c5dad4e3.1@desk.ru>",  # someone else's id
        "<suz.nothex.1@desk.ru> <suz.4029bde6.1@desk.ru> garbage <<>> @@",
    ]
    assert tickets_in(references, "desk.ru") == [TICKET, other]
    assert tickets_in(references, "evil.org") == []
    assert tickets_in([], "desk.ru") == []


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("[#1042] Не печатает принтер", 1042),
        ("#1042", 1042),
        ("№ 1042 принтер", 1042),
        ("Заявка №1042", 1042),
        ("Re: Fwd: [#1042] printer", 1042),
        ("RE: AW: Re:[#1042]", 1042),
        ("Re: #17 see also [#1042]", 1042),  # the bracket is ours; a bare mark may be theirs
        ("Order 1042 is late", None),
        ("C#10 question", None),
        ("Invoice 2026-12 #", None),
        ("#0", None),
        ("#1042abc", None),
        ("", None),
    ],
)
def test_the_ticket_number_marked_in_a_subject(subject: str, number: int | None) -> None:
    assert number_in_subject(subject) == number
