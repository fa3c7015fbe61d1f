"""Tests of web.passwords: argon2id hashing, rehash checks, the timing of unknown logins."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from web.passwords import Passwords, check_new_password


@pytest.fixture(scope="module")
def fast() -> Passwords:
    """Cheap parameters, so the functional tests run quickly."""
    return Passwords(time_cost=1, memory_cost_kib=8192, parallelism=1)


def test_a_hash_is_argon2id_with_the_configured_parameters(fast: Passwords) -> None:
    hashed = fast.hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert "correct horse battery" not in hashed


def test_the_default_parameters_are_rfc_9106_low_memory() -> None:
    assert Passwords().hash("x" * 12).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_same_password_hashes_differently_each_time(fast: Passwords) -> None:
    assert fast.hash("correct horse battery") != fast.hash("correct horse battery")


def test_verify_accepts_the_password_and_nothing_else(fast: Passwords) -> None:
    hashed = fast.hash("correct horse battery")
    assert fast.verify(hashed, "correct horse battery") is True
    assert fast.verify(hashed, "correct horse batter") is False
    assert fast.verify(hashed, "Correct horse battery") is False
    assert fast.verify(hashed, "") is False


@pytest.mark.parametrize("garbage", ["", "plain-text-password", "$argon2id$v=19$m=1$broken"])
def test_a_malformed_hash_never_matches_and_needs_rehash(fast: Passwords, garbage: str) -> None:
    assert fast.verify(garbage, garbage) is False
    assert fast.check(garbage, garbage) is False
    assert fast.needs_rehash(garbage) is True


def test_needs_rehash_when_parameters_changed(fast: Passwords) -> None:
    strong = Passwords(time_cost=2, memory_cost_kib=8192, parallelism=1)
    old = fast.hash("correct horse battery")
    assert fast.needs_rehash(old) is False
    assert strong.needs_rehash(old) is True
    assert strong.verify(old, "correct horse battery") is True  # old hashes still verify
    assert strong.needs_rehash(strong.hash("correct horse battery")) is False


def test_an_unknown_login_never_signs_in(fast: Passwords) -> None:
    assert fast.check(None, "anything") is False
    assert fast.dummy_verify("anything") is False
    assert fast.check(fast.hash("anything"), "anything") is True


def test_an_unknown_login_costs_a_full_verification_with_the_same_parameters() -> None:
    """Equal cost by construction (no timing in the suite): the dummy hash that unknown logins
    are verified against is an argon2id hash made with the very parameters of real ones."""
    passwords = Passwords(time_cost=2, memory_cost_kib=16384, parallelism=2)
    real = passwords.hash("the real password")
    dummy = passwords._dummy_hash
    assert dummy.split("$")[1:4] == real.split("$")[1:4] == ["argon2id", "v=19", "m=16384,t=2,p=2"]
    assert passwords.check(None, "the real password") is False
    assert passwords.check(real, "the real password") is True


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "The password must be at least 10 characters long."),
        ("x" * 257, "The password must be at most 256 characters."),
        ("Ivanova.Ru", "The password must not be the login."),
    ],
)
def test_a_weak_new_password_is_refused_saying_why(password: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_new_password(password, login="ivanova.ru")
    assert (refused.value.message, refused.value.fields) == (message, ("password",))


def test_a_good_new_password_passes() -> None:
    check_new_password("пароль из слов", login="ivanova")
    check_new_password("x" * 256, login="ivanova")
