"""Every string the UI shows has a Russian translation that keeps its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from web.ui import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
METHODS = [("web/**.py", "python"), ("domain/**.py", "python"),
           ("web/templates/**.html", "jinja2")]  # fmt: skip
# as scripts/i18n: refusals the UI shows are translated where they are raised
REFUSALS = ("InvalidInput", "MissingFields", "NotFound", "Forbidden", "Conflict",
            "InvalidTransition", "StaleRevision")  # fmt: skip


def _ui_messages() -> set[str]:
    found: set[str] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        METHODS,
        keywords={
            "_": None,
            "gettext": None,
            "ngettext": (1, 2),
            "lazy": None,
            **dict.fromkeys(REFUSALS),
        },
    ):
        for m in message if isinstance(message, tuple) else (message,):
            if m:
                found.add(m)
    return found


def _russian() -> dict[str, str]:
    """msgid -> translation; a plural entry gives each of its msgids its first and last forms
    (so an empty form shows as missing)."""
    found: dict[str, str] = {}
    with (i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        for m in read_po(f, locale="ru"):
            if not m.id:
                continue
            if isinstance(m.id, str):
                found[m.id] = str(m.string)
                continue
            forms = list(m.string) if isinstance(m.string, tuple | list) else [m.string]
            every = "" if not all(forms) else str(forms[0])
            for msgid in m.id:
                found[str(msgid)] = every
    return found


def test_every_ui_string_has_a_russian_translation() -> None:
    russian = _russian()
    missing = sorted(m for m in _ui_messages() if not russian.get(m))
    assert not missing, f"run scripts/i18n and translate: {missing[:20]} ({len(missing)} in all)"


def test_translations_keep_their_placeholders() -> None:
    wrong = [
        (msgid, text)
        for msgid, text in _russian().items()
        if text and sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    ]
    assert not wrong, wrong[:10]


def test_the_page_language_switches_the_catalog() -> None:
    i18n.use("ru")
    assert i18n.gettext("Sign in") != "Sign in"
    i18n.use("en")
    assert i18n.gettext("Sign in") == "Sign in"
    assert i18n.choose(None, "en-US,en;q=0.9,ru;q=0.8") == "en"
    assert i18n.choose(None, "de-DE") == "ru", "the default is Russian"
    assert i18n.choose("en", "ru-RU") == "en", "the switch wins over the browser"
    assert i18n.choose("xx", None) == "ru"
