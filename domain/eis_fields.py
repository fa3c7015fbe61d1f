"""What the procurement system's (EIS) identifiers and a contact's e-mail and phone must look
like, for the category form's typed fields (issue 18): each check gives the value as stored
(spaces dropped, a phone in E.164) or refuses it with `Refused`, whose `template` says what is
wrong with "{label}" for the field's name. The templates are English source strings of the
translation catalogue, marked with `lazy` for extraction (web/ui/requester_forms.py translates
them next to the field).

- INN: 10 digits (an organisation) or 12 (an individual), check digits by the FNS weights
  (`is_valid_inn`, the one definition, also checks organisations' INNs: domain.people).
- KPP: 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits.
- OGRN: 13 digits, the last = (the first 12 as a number mod 11) mod 10.
- OGRNIP: 15 digits, the last = (the first 14 as a number mod 13) mod 10.
- Notice (purchase) number: 19 digits (44-FZ notices, e.g. 0373200000123000001) or 11 digits
  (223-FZ notices, e.g. 32009999999); no check digit is published for either.
- E-mail: one "@", a dotted domain, no spaces, at most 254 characters; the domain lower-cased.
- Phone: a Russian number (+7, 8 or 7 and 10 digits, or the 10 digits alone) becomes
  +7XXXXXXXXXX; another country's needs "+" and its code, and becomes + and 8 to 15 digits.

The mod 11 then mod 10 check digits (INN, OGRN) have a blind spot every such scheme has: a
typo that moves the weighted sum's remainder from 0 to 10 or back keeps the check digit, so it
passes; every other single-digit typo is refused (tests/domain/test_eis_fields.py shows both).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from domain.i18n import lazy

_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def is_valid_inn(inn: str) -> bool:
    """Whether `inn` is a Russian taxpayer id (10 digits for organisations, 12 for persons)."""
    if not inn.isascii() or not inn.isdigit() or len(inn) not in (10, 12):
        return False
    d = [int(c) for c in inn]
    if len(inn) == 10:
        return _check_digit(d, _INN10) == d[9]
    return _check_digit(d, _INN12_A) == d[10] and _check_digit(d, _INN12_B) == d[11]


INN_SHAPE = lazy("{label} must be 10 digits (an organisation) or 12 digits (an individual).")
CHECK_DIGITS = lazy("{label}: the check digits do not match, so the number has a typo.")
KPP_SHAPE = lazy(
    "{label} must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits."
)
OGRN_SHAPE = lazy("{label} must be 13 digits.")
OGRNIP_SHAPE = lazy("{label} must be 15 digits.")
NOTICE_SHAPE = lazy("{label} must be a notice number of 19 digits (44-FZ) or 11 digits (223-FZ).")
EMAIL_SHAPE = lazy("{label} must be an e-mail address like name@example.ru.")
PHONE_SHAPE = lazy(
    "{label} must be a phone number: +7 and 10 digits for Russia, or + and the country code "
    "for another country."
)
MESSAGES = (INN_SHAPE, CHECK_DIGITS, KPP_SHAPE, OGRN_SHAPE, OGRNIP_SHAPE, NOTICE_SHAPE,
            EMAIL_SHAPE, PHONE_SHAPE)  # fmt: skip

KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
PHONE = re.compile(r"\+?[0-9 ()\-.]+")


class Refused(ValueError):
    """A value a field does not hold; `template` says why, with "{label}" for its name."""

    def __init__(self, template: str) -> None:
        super().__init__(template)
        self.template = template


def _digits(text: str, lengths: tuple[int, ...], template: str) -> str:
    """`text` without spaces, when it is only ASCII digits of one of `lengths`."""
    number = "".join(text.split())
    if not (number.isascii() and number.isdigit() and len(number) in lengths):
        raise Refused(template)
    return number


def inn(text: str) -> str:
    number = _digits(text, (10, 12), INN_SHAPE)
    if not is_valid_inn(number):
        raise Refused(CHECK_DIGITS)
    return number


def kpp(text: str) -> str:
    code = "".join(text.split())
    if not KPP.fullmatch(code):
        raise Refused(KPP_SHAPE)
    return code


def ogrn_check(first: str, modulus: int) -> int:
    """The check digit of an OGRN (modulus 11, 12 digits) or OGRNIP (modulus 13, 14 digits)."""
    return int(first) % modulus % 10


def ogrn(text: str) -> str:
    number = _digits(text, (13,), OGRN_SHAPE)
    if ogrn_check(number[:12], 11) != int(number[12]):
        raise Refused(CHECK_DIGITS)
    return number


def ogrnip(text: str) -> str:
    number = _digits(text, (15,), OGRNIP_SHAPE)
    if ogrn_check(number[:14], 13) != int(number[14]):
        raise Refused(CHECK_DIGITS)
    return number


def notice_number(text: str) -> str:
    return _digits(text, (19, 11), NOTICE_SHAPE)


def email(text: str) -> str:
    address = text.strip()
    if len(address) > 254 or not EMAIL.fullmatch(address):
        raise Refused(EMAIL_SHAPE)
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def phone(text: str) -> str:
    written = text.strip()
    if not PHONE.fullmatch(written):
        raise Refused(PHONE_SHAPE)
    digits = "".join(c for c in written if c.isdigit())
    if written.startswith("+"):
        if digits.startswith("7"):
            if len(digits) == 11:
                return f"+{digits}"
            raise Refused(PHONE_SHAPE)
        if 8 <= len(digits) <= 15 and not digits.startswith("0"):
            return f"+{digits}"
        raise Refused(PHONE_SHAPE)
    if len(digits) == 11 and digits[0] in "78":
        return f"+7{digits[1:]}"
    if len(digits) == 10:
        return f"+7{digits}"
    raise Refused(PHONE_SHAPE)


# by FieldType value (domain/category.py)
CHECKS: dict[str, Callable[[str], str]] = {
    "inn": inn,
    "kpp": kpp,
    "ogrn": ogrn,
    "ogrnip": ogrnip,
    "notice_number": notice_number,
    "email": email,
    "phone": phone,
}


def clean(kind: str, text: str) -> str:
    """The value of a field of type `kind` as stored, or Refused."""
    return CHECKS[kind](text)


def problem(kind: str, text: str) -> str:
    """What is wrong with `text` for a field of type `kind` ("" when nothing)."""
    try:
        clean(kind, text)
    except Refused as e:
        return e.template
    return ""
