"""An orjson transcoder that round-trips every value our events hold, losslessly.

orjson encodes UUID, datetime, enums and tuples natively and never calls `default` for them,
which would lose their types; so values are tagged explicitly before encoding.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Transcoder
from eventsourcing.utils import get_topic, resolve_topic

TYPE, DATA = "_type_", "_data_"
_OUR_PACKAGES = ("domain.", "projections.")


def _tag(kind: str, data: Any) -> dict[str, Any]:
    return {TYPE: kind, DATA: data}


def to_plain(obj: Any) -> Any:
    """Turns a value into JSON-able data, tagging every type JSON cannot tell apart."""
    if isinstance(obj, Enum):  # before str and int: StrEnum and IntEnum are both
        return _tag("enum", [get_topic(type(obj)), obj.value])
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, dict):
        return (
            {str(k): to_plain(v) for k, v in obj.items()}
            if _str_keys(obj)
            else _tag("dict", [[to_plain(k), to_plain(v)] for k, v in obj.items()])
        )
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return _tag("tuple", [to_plain(v) for v in obj])
    if isinstance(obj, UUID):
        return _tag("uuid", obj.hex)
    if isinstance(obj, datetime):
        return _tag("datetime", obj.isoformat())
    if isinstance(obj, date):
        return _tag("date", obj.isoformat())
    if isinstance(obj, Decimal):
        return _tag("decimal", str(obj))
    if isinstance(obj, frozenset | set):
        return _tag("set", [to_plain(v) for v in obj])
    if is_dataclass(obj) and not isinstance(obj, type):
        topic = get_topic(type(obj))
        if topic.startswith(_OUR_PACKAGES):
            values = {f.name: to_plain(getattr(obj, f.name)) for f in fields(obj)}
            return _tag("object", [topic, values])
    raise TypeError(f"suz cannot store a value of type {type(obj).__qualname__}")


def _str_keys(d: dict[Any, Any]) -> bool:
    return all(type(k) is str for k in d) and not (TYPE in d and DATA in d and len(d) == 2)


def from_plain(data: Any) -> Any:
    """The inverse of `to_plain`."""
    if isinstance(data, list):
        return [from_plain(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 2 and TYPE in data and DATA in data:
        return _untag(data[TYPE], data[DATA])
    return {k: from_plain(v) for k, v in data.items()}


def _untag(kind: str, data: Any) -> Any:
    if kind == "uuid":
        return UUID(data)
    if kind == "datetime":
        return datetime.fromisoformat(data)
    if kind == "date":
        return date.fromisoformat(data)
    if kind == "decimal":
        return Decimal(data)
    if kind == "tuple":
        return tuple(from_plain(v) for v in data)
    if kind == "set":
        return frozenset(from_plain(v) for v in data)
    if kind == "dict":
        return {from_plain(k): from_plain(v) for k, v in data}
    if kind == "enum":
        return resolve_topic(data[0])(data[1])
    if kind == "object":
        return resolve_topic(data[0])(**{k: from_plain(v) for k, v in data[1].items()})
    raise ValueError(f"unknown stored type tag {kind!r}")


class OrjsonTranscoder(Transcoder):
    """Encodes event state with orjson; see the module docstring for the tagging."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(to_plain(obj))

    def decode(self, data: bytes) -> Any:
        return from_plain(orjson.loads(data))
