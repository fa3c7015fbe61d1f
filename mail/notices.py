"""A notification's letter in words: subject, plain text and HTML, in the recipient's language
(Russian or English), from the jinja templates under mail/templates/ and the same gettext
catalog as the UI (domain/translations.py).

`notice(payload, language, links)` renders what the notifications view fixed when the event was
projected (projections/notifications.py `_payload`): a requester's letter carries only what his
request page shows him (a public reply's text, never a note)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain.translations import translations as _translations

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("ru", "en")


@cache
def _env(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(_translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    html: str


def notice(payload: dict[str, Any], language: str, link: str) -> Notice:
    """The letter for `payload` in `language` (Russian unless "en"), `link` its absolute URL."""
    lang = language if language in LANGUAGES else "ru"
    env = _env(lang)
    values = {**payload, "link": link, "questions": payload.get("questions", ()),
              "body": payload.get("body", "")}  # fmt: skip
    subject = env.get_template("subject.txt").render(values).strip()
    return Notice(
        " ".join(subject.split()),
        env.get_template("notice.txt").render(values),
        env.get_template("notice.html").render(values),
    )
