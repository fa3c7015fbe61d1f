"""Tests of web.csrf: token comparison and the Origin / Referer checks."""

from __future__ import annotations

import pytest

from domain.errors import Forbidden
from web.csrf import (
    AllowedOrigins,
    CsrfRefused,
    check_request,
    check_websocket,
    new_token,
    origin_of,
    tokens_match,
)

ALLOWED = AllowedOrigins(["https://desk.example.ru", "http://localhost:8000"])


def test_tokens_are_random_and_long() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == 43 for t in tokens)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("abc123", True), ("abc124", False), ("abc12", False), ("", False), (None, False)],
)
def test_tokens_match_only_exactly(given: str | None, expected: bool) -> None:
    assert tokens_match("abc123", given) is expected


def test_an_empty_expected_token_matches_nothing() -> None:
    assert tokens_match("", "") is False


def test_a_non_ascii_token_is_simply_wrong() -> None:
    assert tokens_match("abc123", "абв123") is False


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://desk.example.ru", "https://desk.example.ru"),
        ("HTTPS://Desk.Example.RU:443/", "https://desk.example.ru"),
        ("https://desk.example.ru/tickets/5?x=1#c", "https://desk.example.ru"),
        ("http://localhost:8000/form", "http://localhost:8000"),
        ("http://localhost:80", "http://localhost"),
        ("https://desk.example.ru:8443", "https://desk.example.ru:8443"),
        ("https://заявки.рф/", "https://xn--80aengj8j.xn--p1ai"),
        ("http://[2001:DB8::1]:8000/", "http://[2001:db8::1]:8000"),
        ("null", None),
        ("", None),
        ("file:///etc/passwd", None),
        ("javascript:alert(1)", None),
        ("https://user@desk.example.ru", None),
        ("https://desk.example.ru:99999", None),
        ("https://a.example https://b.example", None),
        ("https://", None),
    ],
)
def test_origin_of_normalises_http_origins(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    ("origin", "referer", "permitted"),
    [
        ("https://desk.example.ru", None, True),
        ("https://desk.example.ru:443", None, True),
        ("http://localhost:8000", None, True),
        ("https://evil.example", None, False),
        ("http://desk.example.ru", None, False),  # scheme matters
        ("https://desk.example.ru.evil.example", None, False),
        ("https://desk.example.ru:8443", None, False),
        ("null", "https://desk.example.ru/form", False),  # Origin decides when present
        ("https://evil.example", "https://desk.example.ru/form", False),
        (None, "https://desk.example.ru/tickets/1", True),
        (None, "https://evil.example/?https://desk.example.ru", False),
        (None, "", False),
        (None, None, False),
    ],
)
def test_allowed_origins_permit_only_the_desks_own_pages(
    origin: str | None, referer: str | None, permitted: bool
) -> None:
    assert ALLOWED.permits(origin, referer) is permitted


def test_allowed_origins_parse_a_list_and_refuse_bad_entries() -> None:
    parsed = AllowedOrigins.parse(" https://desk.example.ru/, http://localhost:8000 ")
    assert parsed.origins == ALLOWED.origins
    with pytest.raises(ValueError, match=r"'desk\.example\.ru' is not an http"):
        AllowedOrigins(["desk.example.ru"])
    with pytest.raises(ValueError, match="At least one"):
        AllowedOrigins.parse("  ")


def _check(method: str, given: str | None, origin: str | None, referer: str | None) -> None:
    check_request(
        method,
        expected_token="session-token",
        given_token=given,
        origin=origin,
        referer=referer,
        allowed=ALLOWED,
    )


@pytest.mark.parametrize("method", ["GET", "head", "OPTIONS"])
def test_safe_methods_need_no_token(method: str) -> None:
    _check(method, None, "https://evil.example", None)


@pytest.mark.parametrize("method", ["POST", "put", "PATCH", "DELETE"])
def test_a_state_change_with_token_and_origin_passes(method: str) -> None:
    _check(method, "session-token", "https://desk.example.ru", None)
    _check(method, "session-token", None, "https://desk.example.ru/tickets/1")


def test_a_state_change_from_another_site_is_refused_even_with_the_token() -> None:
    with pytest.raises(CsrfRefused, match="did not come from the desk's own pages"):
        _check("POST", "session-token", "https://evil.example", None)


@pytest.mark.parametrize("given", [None, "", "other-token"])
def test_a_state_change_without_the_right_token_is_refused(given: str | None) -> None:
    with pytest.raises(CsrfRefused, match="security token is missing or out of date") as refused:
        _check("POST", given, "https://desk.example.ru", None)
    assert isinstance(refused.value, Forbidden) and refused.value.code == "csrf_refused"


def test_the_websocket_handshake_needs_an_allowed_origin() -> None:
    check_websocket("https://desk.example.ru", ALLOWED)
    check_websocket("http://localhost:8000", ALLOWED)
    for origin in (None, "null", "https://evil.example", "http://localhost:8001"):
        with pytest.raises(CsrfRefused, match="Live updates"):
            check_websocket(origin, ALLOWED)
