"""Text as PostgreSQL can hold it: a `text` value cannot contain NUL, and an event already in the
log may (the chain keeps it forever), so every value a view sends is projected here rather than
the view failing on every retry. NUL becomes U+FFFD, the replacement character, which shows that
something unreadable stood there. Nothing else changes: SQLite stores NUL as it is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

REPLACEMENT = "\ufffd"


def pg_value(value: Any) -> Any:
    """`value` with NUL replaced in every string, also inside lists and tuples (`= ANY(%s)`)."""
    if isinstance(value, str):
        return value.replace("\x00", REPLACEMENT) if "\x00" in value else value
    if isinstance(value, list | tuple) and _holds_nul(value):
        return type(value)(pg_value(v) for v in value)
    return value


def pg_params(params: Sequence[Any]) -> Sequence[Any]:
    """A statement's parameters, projected; the same sequence when nothing holds a NUL (the
    common case costs one scan, no copy: views send tens of thousands of statements a second)."""
    if not _holds_nul(params):
        return params
    return tuple(pg_value(p) for p in params)


def _holds_nul(values: Sequence[Any]) -> bool:
    for v in values:
        if isinstance(v, str):
            if "\x00" in v:
                return True
        elif isinstance(v, list | tuple) and _holds_nul(v):
            return True
    return False
