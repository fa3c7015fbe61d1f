"""Every string the UI shows has a Russian translation that keeps its placeholders, and the
catalog holds no entry that scripts/i18n would drop (the same extraction, read from the script)."""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from web.ui import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
CATALOG = i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po"


def _script_keywords() -> list[str]:
    """The `-k` keywords of scripts/i18n, read from it so that this test and the script cannot
    drift apart."""
    line = re.search(r"^KEYWORDS=(.*)$", (ROOT / "scripts" / "i18n").read_text(), re.M)
    assert line, "scripts/i18n has no KEYWORDS= line"
    words = shlex.split(shlex.split(line.group(1))[0])
    assert words[::2] == ["-k"] * (len(words) // 2) and len(words) % 2 == 0, words
    return words[1::2]


@cache
def _extracted() -> tuple[tuple[tuple[str, ...], str | None], ...]:
    """Every message `pybabel extract` finds as scripts/i18n runs it (the methods of babel.cfg,
    babel's default keywords and the script's): its msgids (two for a plural) and context."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(_script_keywords())}
    found = []
    for _filename, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        msgids = tuple(message) if isinstance(message, tuple | list) else (message,)
        if msgids[0]:  # babel warns of an empty one and pybabel leaves it out
            found.append((msgids, context))
    return tuple(found)


def _ui_messages() -> set[str]:
    return {m for msgids, _context in _extracted() for m in msgids if m}


def _catalogued() -> set[tuple[str, str | None]]:
    """(msgid, context) of the Russian catalog's live (not obsolete) entries."""
    with CATALOG.open("rb") as f:
        catalog = read_po(f, locale="ru")
    return {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in catalog if m.id}


def _russian() -> dict[str, str]:
    """msgid -> translation; a plural entry gives each of its msgids its first and last forms
    (so an empty form shows as missing)."""
    found: dict[str, str] = {}
    with CATALOG.open("rb") as f:
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


def test_scripts_i18n_keeps_every_catalog_entry() -> None:
    """`pybabel update` (scripts/i18n) makes an entry the extraction does not find obsolete, so
    its translation is lost: a string translated through a variable (a module constant, an
    argument) must be marked where it is written (`lazy`, domain/i18n.py) or passed as a literal
    to a keyword; an entry whose string the code no longer has is removed from the catalog."""
    extracted = {(msgids[0], context) for msgids, context in _extracted()}
    dropped = sorted(_catalogued() - extracted, key=str)
    assert not dropped, (
        f"scripts/i18n would drop these entries of {CATALOG.name}: mark the strings for "
        f"extraction, or remove the entries the code no longer uses: {dropped[:20]} "
        f"({len(dropped)} in all)"
    )


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
