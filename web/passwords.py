"""Password hashing for sign-in: argon2id hashes, verification, rehash checks, a dummy verify.

`Passwords.check(stored_hash_or_None, password)` is what a sign-in handler calls: when the login
is unknown it verifies against a dummy hash made with the same parameters, so an unknown login
costs as much time as a wrong password and response times do not reveal which logins exist.
"""

from __future__ import annotations

import contextlib
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from domain.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256


class Passwords:
    """Hashes and verifies passwords with argon2id (defaults: RFC 9106 low-memory profile)."""

    def __init__(
        self, *, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 4
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        """The argon2id hash to store (it embeds the salt and the parameters)."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether `password` matches `stored_hash`; a malformed hash never matches."""
        try:
            return self._hasher.verify(stored_hash, password)
        except InvalidHashError:
            self.dummy_verify(password)  # keep the time of a real verification
            return False
        except VerificationError:
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether `stored_hash` was made with other parameters (rehash after a good sign-in)."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self, password: str) -> bool:
        """Costs what a real verification costs, and is always False."""
        with contextlib.suppress(VerificationError):
            self._hasher.verify(self._dummy_hash, password)
        return False

    def check(self, stored_hash: str | None, password: str) -> bool:
        """Verifies a sign-in; `stored_hash` is None for an unknown login (or no password set)."""
        if stored_hash is None:
            return self.dummy_verify(password)
        return self.verify(stored_hash, password)


def check_new_password(password: str, *, login: str = "") -> None:
    """Refuses a new password that is too short, too long or the login itself, saying why."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"The password must be at least {MIN_LENGTH} characters long.", ["password"]
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"The password must be at most {MAX_LENGTH} characters.", ["password"])
    if login and password.strip().lower() == login.strip().lower():
        raise InvalidInput("The password must not be the login.", ["password"])
