"""The EIS field types check what they hold (issue 18): check digits computed here, apart from
domain/eis_fields.py, so a wrong weight or modulus there fails; real numbers; the messages (and
their Russian); the stored encoding of a category's form is unchanged for the old types."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import eis_fields
from domain.category import Category, FieldSpec, FieldType, parse_fields
from domain.errors import InvalidInput
from domain.transcoder import from_plain, to_plain
from domain.translations import translations

INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN12_A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN12_B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def residue(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11


def inn_with_checks(body: str) -> str:
    """An INN from its 9 (organisation) or 10 (individual) leading digits."""
    if len(body) == 9:
        return body + str(residue(body, INN10) % 10)
    first = body + str(residue(body, INN12_A) % 10)
    return first + str(residue(first, INN12_B) % 10)


def blind_spot(before: str, after: str, checks: list[tuple[int, tuple[int, ...]]]) -> bool:
    """Whether a change keeps every check digit because a remainder went 0 <-> 10 (the mod 11,
    mod 10 scheme's known blind spot) and the other remainders did not move."""
    moved = False
    for length, weights in checks:
        r0, r1 = residue(before[:length], weights), residue(after[:length], weights)
        if r0 != r1:
            if {r0, r1} != {0, 10}:
                return False
            moved = True
    return moved


def changed(number: str, at: int, to: int) -> str:
    digit = (int(number[at]) + to) % 10
    return number[:at] + str(digit) + number[at + 1 :]


def spec(kind: FieldType) -> FieldSpec:
    return FieldSpec("x", "Поле", "Field", kind)


@given(st.one_of(st.text("0123456789", min_size=9, max_size=9),
                 st.text("0123456789", min_size=10, max_size=10)),
       st.data())  # fmt: skip
def test_an_inn_with_computed_check_digits_is_accepted_and_one_wrong_digit_refused(
    body: str, data: st.DataObject
) -> None:
    number = inn_with_checks(body)
    assert eis_fields.inn(number) == number
    at = data.draw(st.integers(0, len(number) - 1))
    wrong = changed(number, at, data.draw(st.integers(1, 9)))
    checks: list[tuple[int, tuple[int, ...]]] = (
        [(9, INN10)] if len(number) == 10 else [(10, INN12_A), (11, INN12_B)]
    )
    if at >= len(body):  # a check digit itself: always refused
        assert eis_fields.problem("inn", wrong) == eis_fields.CHECK_DIGITS
    elif blind_spot(number, wrong, checks):  # the scheme cannot see it: a fact, not a bug
        assert eis_fields.problem("inn", wrong) == ""
    else:
        assert eis_fields.problem("inn", wrong) == eis_fields.CHECK_DIGITS


@given(st.text("0123456789", min_size=12, max_size=12), st.data())
def test_an_ogrn_with_computed_check_digit_is_accepted_and_one_wrong_digit_refused(
    body: str, data: st.DataObject
) -> None:
    number = body + str(int(body) % 11 % 10)
    assert eis_fields.ogrn(number) == number
    at = data.draw(st.integers(0, 12))
    wrong = changed(number, at, data.draw(st.integers(1, 9)))
    seen = {int(number[:12]) % 11, int(wrong[:12]) % 11}
    if at < 12 and seen == {0, 10}:  # the same blind spot as the INN's
        assert eis_fields.problem("ogrn", wrong) == ""
    else:
        assert eis_fields.problem("ogrn", wrong) == eis_fields.CHECK_DIGITS


@given(st.text("0123456789", min_size=14, max_size=14), st.data())
def test_an_ogrnip_with_computed_check_digit_is_accepted_and_one_wrong_digit_refused(
    body: str, data: st.DataObject
) -> None:
    number = body + str(int(body) % 13 % 10)
    assert eis_fields.ogrnip(number) == number
    at = data.draw(st.integers(0, 14))
    wrong = changed(number, at, data.draw(st.integers(1, 9)))
    before, after = int(number[:14]) % 13, int(wrong[:14]) % 13
    if at < 14 and before % 10 == after % 10:  # remainders 0/10, 1/11, 2/12 share a digit
        assert eis_fields.problem("ogrnip", wrong) == ""
    else:
        assert eis_fields.problem("ogrnip", wrong) == eis_fields.CHECK_DIGITS


def test_the_blind_spot_is_real_and_narrow() -> None:
    """A typo the INN scheme cannot see exists (so the property above is not vacuous): for a
    number whose weighted remainder is 0, one wrong digit per position passes; for Sberbank's
    (remainder 3) none does."""

    def unseen(number: str) -> list[int]:
        return [at for at in range(9) for d in range(1, 10)
                if eis_fields.problem("inn", changed(number, at, d)) == ""]  # fmt: skip

    assert residue("770708305", INN10) == 0
    assert unseen(inn_with_checks("770708305")) == list(range(9))
    assert unseen("7707083893") == []


@pytest.mark.parametrize(
    ("kind", "number"),
    [
        ("inn", "7707083893"),  # Sberbank
        ("inn", "7736207543"),  # Yandex
        ("inn", "500100732259"),  # an individual's INN (the demo's and the FNS sample's)
        ("ogrn", "1027700132195"),  # Sberbank
        ("ogrn", "1027739609391"),  # VTB
        ("ogrnip", "304500116000157"),  # the FNS sample OGRNIP
    ],
)
def test_real_numbers_are_accepted(kind: str, number: str) -> None:
    assert eis_fields.clean(kind, number) == number


@pytest.mark.parametrize(
    ("kind", "raw", "template"),
    [
        ("inn", "7707083894", eis_fields.CHECK_DIGITS),
        ("inn", "770708389", eis_fields.INN_SHAPE),
        ("inn", "77070838931", eis_fields.INN_SHAPE),
        ("inn", "77070838９3", eis_fields.INN_SHAPE),  # a full-width digit
        ("inn", "770708389a", eis_fields.INN_SHAPE),
        ("ogrn", "1027700132196", eis_fields.CHECK_DIGITS),
        ("ogrn", "102770013219", eis_fields.OGRN_SHAPE),
        ("ogrnip", "304500116000158", eis_fields.CHECK_DIGITS),
        ("ogrnip", "3045001160001", eis_fields.OGRNIP_SHAPE),
        ("kpp", "77070100", eis_fields.KPP_SHAPE),
        ("kpp", "7707ab001", eis_fields.KPP_SHAPE),
        ("kpp", "770701ЯЯ1", eis_fields.KPP_SHAPE),
        ("notice_number", "037320000012300000", eis_fields.NOTICE_SHAPE),
        ("notice_number", "03732000001230000011", eis_fields.NOTICE_SHAPE),
        ("email", "name@localhost", eis_fields.EMAIL_SHAPE),
        ("email", "name example@mail.ru", eis_fields.EMAIL_SHAPE),
        ("email", "a@b@c.ru", eis_fields.EMAIL_SHAPE),
        ("phone", "+7 495 123-45-6", eis_fields.PHONE_SHAPE),
        ("phone", "123-45-67", eis_fields.PHONE_SHAPE),
        ("phone", "+0 123 456 789", eis_fields.PHONE_SHAPE),
        ("phone", "тел. 8 495 1234567", eis_fields.PHONE_SHAPE),
    ],
)
def test_a_wrong_value_is_refused_saying_what_is_wrong(kind: str, raw: str, template: str) -> None:
    assert eis_fields.problem(kind, raw) == template
    with pytest.raises(InvalidInput) as refused:
        spec(FieldType(kind)).parse(raw)
    assert refused.value.message == template.format(label="Field")
    assert list(refused.value.fields) == ["x"]


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        ("inn", " 7707 083893 ", "7707083893"),
        ("kpp", "773601001", "773601001"),
        ("kpp", "7736AB001", "7736AB001"),
        ("notice_number", "0373200000123000001", "0373200000123000001"),  # 44-FZ
        ("notice_number", "32009999999", "32009999999"),  # 223-FZ
        ("email", "Anna.Petrova@Example.RU", "Anna.Petrova@example.ru"),
        ("email", "закупки@пример.рф", "закупки@пример.рф"),
        ("phone", "+7 (495) 123-45-67", "+74951234567"),
        ("phone", "8 (495) 123-45-67", "+74951234567"),
        ("phone", "7 916 123 45 67", "+79161234567"),
        ("phone", "(916) 123-45-67", "+79161234567"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", "+375 17 123-45-67", "+375171234567"),
    ],
)
def test_a_good_value_is_stored_normalised(kind: str, raw: str, stored: str) -> None:
    assert spec(FieldType(kind)).parse(raw) == stored


def test_parse_fields_names_each_wrong_field() -> None:
    form = (FieldSpec("inn", "ИНН", "INN", FieldType.INN, True),
            FieldSpec("phone", "Телефон", "Phone", FieldType.PHONE))  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        parse_fields(form, {"inn": "7707083894", "phone": "12"})
    assert list(refused.value.fields) == ["inn", "phone"]
    assert "INN: the check digits do not match" in refused.value.message
    assert parse_fields(form, {"inn": "7707083893"}) == {"inn": "7707083893"}


def test_every_message_has_a_russian_translation_with_its_placeholder() -> None:
    ru = translations("ru")
    for template in eis_fields.MESSAGES:
        said = ru.gettext(template)
        assert said != template and "{label}" in said, template
    assert ru.gettext(eis_fields.CHECK_DIGITS).format(label="ИНН") == (
        "ИНН: не сходится контрольное число — в номере опечатка."
    )


def test_every_field_type_but_the_old_ones_has_a_check() -> None:
    old = {"text", "number", "date", "choice", "registry_number", "file"}
    assert {t.value for t in FieldType} - old == set(eis_fields.CHECKS)


def test_a_stored_form_encodes_as_before_and_the_new_types_round_trip() -> None:
    """Adding types changes neither the old values nor a FieldSpec's stored shape (chain hashes
    are recomputed from decoded values): the literal is the shape the seed's code wrote."""
    old = FieldSpec("n", "Номер", "Number", FieldType.REGISTRY_NUMBER, True)
    enum = {"_type_": "enum", "_data_": ["domain.category:FieldType", "registry_number"]}
    assert to_plain(old) == {"_type_": "object", "_data_": ["domain.category:FieldSpec", {
        "key": "n", "label_ru": "Номер", "label_en": "Number", "type": enum, "required": True,
        "choices": {"_type_": "tuple", "_data_": []}}]}  # fmt: skip
    form = tuple(FieldSpec(t.value, t.value, t.value, t) for t in FieldType if t.value != "choice")
    assert from_plain(to_plain(form)) == form
    assert Category.define("Категория", "Category", form).form == form
