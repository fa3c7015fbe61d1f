"""Private-link keys never reach the logs.

A visitor's private link carries the ticket's key in its query (`/r/{id}?key=...`, and the
websocket `/live?ticket=...&key=...` its page opens). The access line (web/access.py) names the
route's template, never the path or query; but uvicorn still writes the websocket handshake line
with the path and its query (logger `uvicorn.error`). `RedactKeys` rewrites every `key=` value
(the parameter's name decoded, so `k%65y=` too) to `key=[redacted]` in a record's message and
arguments; the one handler of suz's logging set-up (suz/logs.py) applies it to every line.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

REDACTED = "[redacted]"
SECRET_PARAMETERS = frozenset({"key"})
_PARAMETER = re.compile(r"(?P<lead>[?&;](?P<name>[^=&;?#\s\"']*)=)(?P<value>[^&;#\s\"']*)")


def redact(text: str) -> str:
    """`text` with the value of every secret query parameter replaced."""
    if "=" not in text:
        return text

    def hide(found: re.Match[str]) -> str:
        if unquote(found["name"]).strip().lower() not in SECRET_PARAMETERS:
            return found[0]
        return found["lead"] + REDACTED

    return _PARAMETER.sub(hide, text)


class RedactKeys(logging.Filter):
    """Redacts private-link keys in a record (its message and each text argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}  # fmt: skip
        return True
