"""The process's one logging set-up: `configure(settings)` at the start of `suz serve`, `suz views`
and `suz mail-in`, and the same dictionary (`config`) handed to uvicorn, whose worker processes
apply it again.

Every line goes to stderr through one handler: a JSON object a line in production (or with
SUZ_LOG_FORMAT=json), readable text in the demo. suz's own loggers (`suz.*`) write from
SUZ_LOG_LEVEL (INFO) up, uvicorn's server lines from INFO, everything else from WARNING. The
handler redacts private-link keys (web/log_redaction.py: uvicorn's websocket handshake line
carries the query) and stamps each line with the request's id while one is being answered
(web/access.py). uvicorn's own access line is off: web/access.py writes a better one (`suz.access`:
route template, actor id, request id, status, duration), which never holds the raw path or query.
"""

from __future__ import annotations

import json
import logging
import logging.config
import time
from typing import Any

from domain.settings import Settings
from web import request_id

# A LogRecord's own attributes (and uvicorn's coloured copy of its message): anything else on a
# record came as `extra=` and goes in the JSON line
_SKIPPED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# No line here says where it was logged from (file, line, function): without these, every record
# walks the stack to find its caller and asks which multiprocessing process it is in (the Logging
# HOWTO's "Optimization"): 3-5 µs of the access line's 22-36 (measured, 2026-12-04). Set when a
# process loads this module: `suz serve` and `suz views` by `configure`, uvicorn's workers by the
# formatter and filter their logging configuration names here.
logging._srcfile = None
logging.logMultiprocessing = False


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601, milliseconds), level, logger, message, the
    process id, and every field the line was given as `extra=` (e.g. the access line's)."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "time": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name, value in vars(record).items():
            if name not in _SKIPPED and not name.startswith("_") and name not in line:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestId(logging.Filter):
    """Gives every record `request_id`: the id of the request being answered, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            rid = request_id.current.get()
            if rid is not None:
                record.request_id = rid
        return True


def config(settings: Settings) -> dict[str, Any]:
    """The logging configuration (logging.config.dictConfig's) for `settings`."""
    level = settings.log_level if settings.log_level in logging.getLevelNamesMapping() else "INFO"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": f"{__name__}.JsonLines"},
            "text": {"format": TEXT_FORMAT},
        },
        "filters": {
            "redact_keys": {"()": "web.log_redaction.RedactKeys"},
            "request_id": {"()": f"{__name__}.RequestId"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json" if settings.log_json else "text",
                "filters": ["redact_keys", "request_id"],
            },
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "suz": {"level": level},
            # uvicorn's own handlers are not made: its lines reach ours through the root
            "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"level": "WARNING"},  # off: suz.access says more (web/access.py)
        },
    }


def configure(settings: Settings) -> dict[str, Any]:
    """Applies `config(settings)` to this process; returns it (for uvicorn's workers)."""
    made = config(settings)
    logging.config.dictConfig(made)
    return made
