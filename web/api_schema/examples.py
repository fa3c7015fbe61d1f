"""Examples for the documents, made from the models' types and their fields' names, so every
model has one and none drifts from its schema (tests/web/test_openapi.py validates them)."""

from __future__ import annotations

from enum import Enum
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import msgspec
import msgspec.inspect as mi

TEXT = {  # a field's example by its name; others say what they are
    "subject": "Контракт не публикуется",
    "description": "При публикации контракта ошибка подписи.",
    "body": "Проверяем подпись, ответим сегодня.",
    "message": "Уточните, пожалуйста, реестровый номер контракта.",
    "resolution": "Сертификат перевыпущен, контракт опубликован.",
    "answer": "Сбой подписи устранён; контракты публикуются.",
    "reason": "Нужна проверка на второй линии.",
    "comment": "Точно и по делу.",
    "title": "Не публикуется контракт",
    "title_ru": "Ошибка подписи при публикации",
    "title_en": "Signature error on publishing",
    "body_ru": "Перевыпустите сертификат в личном кабинете.",
    "body_en": "Reissue the certificate in your account.",
    "login": "agent1",
    "display_name": "Анна Смирнова",
    "password": "correct horse battery staple",
    "current": "correct horse battery staple",
    "new": "a longer passphrase of mine",
    "name": "Первая линия",
    "name_ru": "Реестр контрактов",
    "name_en": "Contracts register",
    "inn": "7707083893",
    "email": "anna@example.org",
    "contact_name": "Иван Петров",
    "contact_email": "ivan@example.org",
    "key": "contract_number",
    "label_ru": "Реестровый номер контракта",
    "label_en": "Contract registry number",
    "field_key": "law",
    "field_value": "44-FZ",
    "csrf_token": "q2Vb7cYkq5m1r3v0T9Uo0dXw8l4Lx6sN",
    "secret": "suz_narqSzQ9C32yVhfBlllr2mUx8m2OvVuoftBw8H9gk4E",
    "media_type": "application/pdf",
    "timezone": "Europe/Moscow",
    "calendar": "business",
    "text": "Здравствуйте, Иван Петров! Контракт 1234567890123456789 опубликован.",
    "private_link": "/api/v1/tickets/6f1c0b9e-1d2a-4c3b-9a8e-0d5f1e2a3b4c?key=k3y-Zq9fT2mN4rW8",
    "type": "tag:suz,2026:problem:conflict",
    "instance": "/api/v1/tickets/6f1c0b9e-1d2a-4c3b-9a8e-0d5f1e2a3b4c/replies",
    "detail": "This was changed meanwhile: you saw version 3, it is now at 4.",
    "code": "conflict",
    "event": "Replied",
    "rate_factor": "1.5",
    "usual": "2.5",
    "digest": "9f2c" * 16,
    "previous": "genesis",
    "format": "suz-seal-1",
    "public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA...\n-----END PUBLIC KEY-----\n",
    "error": "not allowed",
    "private_key": "k3y-Zq9fT2mN4rW8",
    "calendar_name": "Рабочие дни, 9-18 (Москва)",
}
NUMBERS = {"version": 4, "position": 5120, "number": 1042, "score": 5, "threshold": 20,
           "window_minutes": 10, "based_on": 2, "revision": 2, "line": 1, "size": 48213,
           "first_response_minutes": 60, "resolution_minutes": 480, "warn_percent": 80,
           "auto_close_days": 5, "status": 409, "current_version": 4}  # fmt: skip
PATTERNS = {  # a value for each pattern the models use
    "^[0-9a-f]{64}$": "5f0c" * 16,
    r"^\d\d:\d\d-\d\d:\d\d$": "09:00-18:00",
    "^[0-9]+$": "4",
}
DICTS = {"fields": {"contract_number": "1234567890123456789"},
         "values": {"contract_number": "1234567890123456789"},
         "data": {"by": str(uuid5(NAMESPACE_URL, "by")), "body": TEXT["body"], "attachments": []},
         "by_status": {"open": 2, "resolved": 5}, "info": {"title": "suz API", "version": "1"},
         "": {"group:6f1c0b9e-1d2a-4c3b-9a8e-0d5f1e2a3b4c": 7, "open": 31}}  # fmt: skip


# a field whose example depends on its model: its name there (a key of TEXT)
TEXT_OF = {"Filed.key": "private_key", "CalendarSent.key": "calendar",
           "CalendarShown.key": "calendar", "CalendarSent.name": "calendar_name",
           "CalendarShown.name": "calendar_name"}  # fmt: skip


def example(t: Any) -> Any:
    """A JSON example of type `t` (a model, a list of them, an annotated type)."""
    return _sample(mi.type_info(t), "")


def _sample(t: mi.Type, name: str) -> Any:
    if isinstance(t, mi.Metadata):
        if t.extra_json_schema and "enum" in t.extra_json_schema:
            return t.extra_json_schema["enum"][0]
        return _sample(t.type, name)
    if isinstance(t, mi.StructType):
        return {f.encode_name: _field(t, f) for f in t.fields if f.required or _shown(t, f)}
    if isinstance(t, mi.UnionType):
        kept = [x for x in t.types if not isinstance(x, mi.NoneType | mi.CustomType)]
        return _sample(kept[0], name) if kept else None
    if isinstance(t, mi.ListType | mi.SetType | mi.VarTupleType):
        return [_sample(t.item_type, name.removesuffix("s"))] * max(1, t.min_length or 0)
    if isinstance(t, mi.TupleType):
        return [_sample(x, name) for x in t.item_types]
    if isinstance(t, mi.DictType):
        return DICTS.get(name, DICTS[""] if isinstance(t.value_type, mi.IntType) else {})
    if isinstance(t, mi.StrType):
        if t.pattern:
            return _pattern(t.pattern, name)
        return TEXT.get(name, name.replace("_", " ") or "text")
    if isinstance(t, mi.IntType):
        low = t.ge if t.ge is not None else 0
        high = t.le if t.le is not None else 2**31
        return min(max(NUMBERS.get(name, 3), low), high)
    if isinstance(t, mi.FloatType):
        return 1.5
    if isinstance(t, mi.BoolType):
        return name not in ("internal", "running", "always")
    if isinstance(t, mi.UUIDType):
        return str(uuid5(NAMESPACE_URL, name or "id"))
    if isinstance(t, mi.DateTimeType):
        return "2026-11-06T09:30:00+03:00"
    if isinstance(t, mi.DateType):
        return "2026-11-04"
    if isinstance(t, mi.EnumType):
        return next(iter(t.cls)).value
    if isinstance(t, mi.LiteralType):
        return t.values[0]
    if isinstance(t, mi.NoneType):
        return None
    return TEXT.get(name, "…")  # Any


def _field(struct: mi.StructType, f: mi.Field) -> Any:
    if isinstance(f.default, Enum):
        return f.default.value
    return _sample(f.type, TEXT_OF.get(f"{struct.cls.__name__}.{f.name}", f.name))


def _shown(struct: mi.StructType, f: mi.Field) -> bool:
    """An optional field is shown, but in a body one left out unless wanted (UNSET), except the
    version a command was written against."""
    from web.api_schema.common import Sent

    unset = f.default is msgspec.NODEFAULT and f.default_factory is msgspec.NODEFAULT
    return f.name == "version" or not (unset and issubclass(struct.cls, Sent))


def _pattern(pattern: str, name: str) -> str:
    if pattern in PATTERNS:
        return PATTERNS[pattern]
    if "ticket|requester" in pattern:  # a live topic
        return "ticket:6f1c0b9e-1d2a-4c3b-9a8e-0d5f1e2a3b4c"
    if pattern.startswith("^Bearer"):
        return "Bearer " + TEXT["secret"]
    raise ValueError(f"no example for {name} matching {pattern}: add one to PATTERNS")
