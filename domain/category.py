"""Request categories and the typed form of fields each one requires."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from domain import eis_fields
from domain.chain import ChainedAggregate
from domain.errors import InvalidInput, MissingFields
from domain.people import clean_text


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    REGISTRY_NUMBER = "registry_number"
    FILE = "file"
    # checked identifiers and contacts (issue 18; the checks are domain/eis_fields.py)
    INN = "inn"
    KPP = "kpp"
    OGRN = "ogrn"
    OGRNIP = "ogrnip"
    NOTICE_NUMBER = "notice_number"
    EMAIL = "email"
    PHONE = "phone"


# Registry numbers of the procurement system: 11 to 23 digits (notices 19, contracts 19 or 23).
REGISTRY_NUMBER = re.compile(r"^\d{11,23}$")
FieldValue = str | Decimal | date


@dataclass(frozen=True)
class FieldSpec:
    """One field of a category's form."""

    key: str
    label_ru: str
    label_en: str
    type: FieldType
    required: bool = False
    choices: tuple[str, ...] = ()

    def parse(self, raw: Any) -> FieldValue:
        """The typed value of `raw`, or InvalidInput naming this field and what to fix."""
        text = str(raw).strip() if raw is not None else ""
        if not text:
            raise MissingFields(f"{self.label_en} is required.", [self.key])
        if self.type.value in eis_fields.CHECKS:
            try:
                return eis_fields.clean(self.type.value, text)
            except eis_fields.Refused as e:
                raise InvalidInput(
                    e.template.format(label=self.label_en or self.key), [self.key]
                ) from None
        if self.type is FieldType.NUMBER:
            try:
                number = Decimal(text.replace(",", "."))
            except InvalidOperation:
                raise InvalidInput(f"{self.label_en} must be a number.", [self.key]) from None
            if not number.is_finite():
                raise InvalidInput(f"{self.label_en} must be a number.", [self.key])
            return number
        if self.type is FieldType.DATE:
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise InvalidInput(
                    f"{self.label_en} must be a date written YYYY-MM-DD.", [self.key]
                ) from None
        if self.type is FieldType.CHOICE and text not in self.choices:
            raise InvalidInput(
                f"{self.label_en} must be one of: {', '.join(self.choices)}.", [self.key]
            )
        if self.type is FieldType.REGISTRY_NUMBER and not REGISTRY_NUMBER.match(text):
            raise InvalidInput(
                f"{self.label_en} must be a registry number of 11 to 23 digits.", [self.key]
            )
        if len(text) > 4000:
            raise InvalidInput(f"{self.label_en} is longer than 4000 characters.", [self.key])
        return text


def parse_fields(
    form: tuple[FieldSpec, ...], raw: dict[str, Any], *, only: tuple[str, ...] | None = None
) -> dict[str, FieldValue]:
    """Checks `raw` against `form` (or just the keys in `only`); names every field at fault."""
    specs = [s for s in form if only is None or s.key in only]
    known = {s.key for s in form}
    unknown = sorted(k for k in raw if k not in known)
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(unknown)}.", unknown)
    values: dict[str, FieldValue] = {}
    missing: list[FieldSpec] = []
    invalid: list[InvalidInput] = []
    for spec in specs:
        present = raw.get(spec.key) not in (None, "")
        if not present:
            if spec.required or only is not None:
                missing.append(spec)
            continue
        try:
            values[spec.key] = spec.parse(raw[spec.key])
        except InvalidInput as e:
            invalid.append(e)
    if missing:
        names = ", ".join(f"{s.label_en} ({s.key})" for s in missing)
        raise MissingFields(
            f"Required data is missing: {names}.",
            [s.key for s in missing] + [f for e in invalid for f in e.fields],
        )
    if invalid:
        raise InvalidInput(
            " ".join(e.message for e in invalid), [f for e in invalid for f in e.fields]
        )
    return values


@dataclass(frozen=True)
class FieldHelp:
    """The help text shown under one field of the requester's form (issue 18), in Russian and
    English. Kept apart from `FieldSpec` (in the category's `help`, set by `HelpChanged`): a
    field added to `FieldSpec` would change how every stored form hashes, and break its chain."""

    key: str
    text_ru: str = ""
    text_en: str = ""


MAX_HELP = 500  # characters of one help text


class Category(ChainedAggregate):
    """A kind of request, with the form of data its analysis needs and the group it goes to."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        name_ru: str
        name_en: str
        parent_id: UUID | None
        form: tuple[FieldSpec, ...]
        default_group_id: UUID | None
        archived: bool
        help: tuple[FieldHelp, ...]  # set by Defined (empty) and HelpChanged

    class_version = 2  # 2: `help` from definition on (a version 1 snapshot lacks it)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("help", ())

    class Defined(ChainedAggregate.Created):
        name_ru: str
        name_en: str
        parent_id: UUID | None
        form: tuple[FieldSpec, ...]
        default_group_id: UUID | None

        def apply(self, aggregate: Any) -> None:
            c = cast(Category, aggregate)
            c.name_ru, c.name_en, c.parent_id = self.name_ru, self.name_en, self.parent_id
            c.form, c.default_group_id, c.archived = self.form, self.default_group_id, False
            c.help = ()

    @classmethod
    def define(
        cls,
        name_ru: str,
        name_en: str,
        form: tuple[FieldSpec, ...] = (),
        default_group_id: UUID | None = None,
        parent_id: UUID | None = None,
    ) -> Category:
        return cls._start(
            cls.Defined,
            name_ru=clean_text(name_ru, "name_ru"),
            name_en=clean_text(name_en, "name_en"),
            parent_id=parent_id,
            form=check_form(form),
            default_group_id=default_group_id,
        )

    class FormChanged(ChainedAggregate.Event):
        form: tuple[FieldSpec, ...]

        def apply(self, aggregate: Any) -> None:
            cast(Category, aggregate).form = self.form

    def change_form(self, form: tuple[FieldSpec, ...]) -> None:
        self.trigger_event(self.FormChanged, form=check_form(form))

    class Archived(ChainedAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            cast(Category, aggregate).archived = True

    def archive(self) -> None:
        if not self.archived:
            self.trigger_event(self.Archived)

    def spec(self, key: str) -> FieldSpec | None:
        return next((s for s in self.form if s.key == key), None)

    class HelpChanged(ChainedAggregate.Event):
        by: UUID | None
        help: tuple[FieldHelp, ...]

        def apply(self, aggregate: Any) -> None:
            cast(Category, aggregate).help = self.help

    def set_help(self, by: UUID | None, help: tuple[FieldHelp, ...]) -> None:
        """The help texts of the form's fields (trimmed; a field without text has none), when
        they differ from what the category holds; a key the form lacks is refused."""
        keys = {s.key for s in self.form}
        unknown = sorted({h.key for h in help} - keys)
        if unknown:
            raise InvalidInput(f"Not fields of this category: {', '.join(unknown)}.", unknown)
        cleaned: dict[str, FieldHelp] = {}
        for h in help:
            text_ru, text_en = " ".join(h.text_ru.split()), " ".join(h.text_en.split())
            if len(text_ru) > MAX_HELP or len(text_en) > MAX_HELP:
                raise InvalidInput("A help text is at most 500 characters.", [h.key])
            if text_ru or text_en:
                cleaned[h.key] = FieldHelp(h.key, text_ru, text_en)
        ordered = tuple(cleaned[s.key] for s in self.form if s.key in cleaned)
        if ordered != self.help:
            self.trigger_event(self.HelpChanged, by=by, help=ordered)

    def help_for(self, key: str) -> FieldHelp | None:
        return next((h for h in self.help if h.key == key), None)


def check_form(form: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    keys = [s.key for s in form]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise InvalidInput(f"Field keys appear twice: {', '.join(duplicates)}.", duplicates)
    for s in form:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", s.key):
            raise InvalidInput(f"Field key {s.key!r} must be lower-case latin, digits, _.", [s.key])
        if s.type is FieldType.CHOICE and not s.choices:
            raise InvalidInput(f"Choice field {s.key!r} needs choices.", [s.key])
    return tuple(form)
