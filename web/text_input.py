"""Text as it may enter the desk: no control characters.

NUL and the other C0 controls (tab, line feed and carriage return excepted) have no place in a
subject, a message or a name: PostgreSQL text cannot even hold NUL, terminals and logs act on the
others, and they are invisible on a page. Lone surrogates cannot be encoded as UTF-8. JSON bodies
(orjson refuses lone surrogates) and forms (decoded with replacement) cannot deliver those today;
they are refused here too so that no future way in can. Every text field is checked here, once,
where it enters: `web.body.Body` for the API, the forms' text accessors for the pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from domain.errors import InvalidInput
from web.ui.i18n import lazy

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
MESSAGE = lazy(
    "{field} contains an invisible control character (U+{code}) at position {at}:"
    " remove it (only tabs and line breaks are allowed)."
)


def plain_text(field: str, value: str, translate: Callable[[str], str] = str) -> str:
    """`value` unchanged, or a 422 (InvalidInput) naming `field` and the first character at fault;
    `translate` renders the message in the reader's language (the API answers in English)."""
    found = FORBIDDEN.search(value)
    if found is None:
        return value
    message = translate(MESSAGE).format(
        field=field, code=f"{ord(found.group()):04X}", at=found.start() + 1
    )
    raise InvalidInput(message, [field])


def plain_json(value: Any, path: str = "") -> None:
    """Checks every string in a parsed JSON value, keys included; the field is named by its
    path (`fields.inn`, `answers[2]`)."""
    if isinstance(value, str):
        plain_text(path or "body", value)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            plain_text(path or "body", str(key))  # the key itself is no name to show
            plain_json(item, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            plain_json(item, f"{path}[{i}]")
