"""Phone numbers as people write them: checked loosely, compared by their digits (issue 16)."""

from __future__ import annotations

import re

from domain.errors import InvalidInput

PHONE = re.compile(r"\+?[0-9][0-9 ()\-.]{3,28}")


def checked_phone(phone: str, field_name: str = "phone") -> str:
    """A phone number as written (trimmed), or "" when none was given; InvalidInput if it is not
    one (5 to 15 digits, spaces, brackets, dashes, dots and a leading +)."""
    phone = phone.strip()
    if not phone:
        return ""
    digits = sum(c.isdigit() for c in phone)
    if not PHONE.fullmatch(phone) or not 5 <= digits <= 15:
        raise InvalidInput("Give a phone number like +7 495 123-45-67.", [field_name])
    return phone


def phone_key(phone: str) -> str:
    """What two ways of writing one number share: its last ten digits (+7 495 ... and 8 495 ...
    of a Russian number are the same), or all its digits when it has fewer."""
    digits = "".join(c for c in phone if c.isdigit())
    return digits[-10:]
