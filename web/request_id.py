"""The id of the request being answered: set by web/access.py for the time of one request (its
thread-pool calls see it too), stamped on every log line written meanwhile (suz/logs.py). A leaf:
importing it pulls in nothing else."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Any

_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
current: ContextVar[str | None] = ContextVar("suz_request_id", default=None)


def from_headers(headers: Any) -> str:
    """The caller's X-Request-Id (ASGI header pairs) when it is a sane token (letters, digits,
    `._:-`, up to 64), else a fresh one."""
    for name, value in headers or ():
        if name == b"x-request-id":
            given = bytes(value).decode("latin-1").strip()
            if _SANE.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex
