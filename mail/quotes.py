"""The new text of a reply apart from the quoted history and the signature, in English and Russian.

Clients mark the history differently: "> " lines, an attribution ("On <date>, <name> wrote:",
"<date>, <name> пишет:"), a separator ("-----Original Message-----"), Outlook's header block
("From:/Sent:/To:/Subject:", "От:/Отправлено:/Кому:/Тема:"); a signature starts at "-- " or a
"Sent from my iPhone" footer. Forwarded letters are not history: what someone forwards to the
desk is usually the request itself. The new text is never trimmed away: a letter that is all
quote stays text."""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*on\b.{4,300}\bwrote\s*:\s*$"
    r"|^(?=.*[\d@]).{0,300}\b(пишет|написал|написала|написал\(а\))\s*:\s*$"
    r"|^\s*.{0,200}\d.{0,200}<[^<>@\s]+@[^<>\s]+>\s*:\s*$",  # Yandex, Mail.ru, Gmail (ru)
    re.IGNORECASE,
)
_WRAPPED_START = re.compile(r"^\s*(on\b|\d|\w{2,12}\.?, \d{1,2}\b).*[^.!?…]\s*$", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(original message|исходное сообщение|оригинальное сообщение)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(from|от)\s*:", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|to|cc|subject|отправлено|дата|кому|копия|тема)\s*:", re.IGNORECASE
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_SIGNATURE = re.compile(r"^-- ?$")
_FOOTER = re.compile(
    r"^\s*(sent from my \w+|sent from (mail|outlook|yahoo mail)\b.*|get outlook for \w+"
    r"|отправлено с (моего )?(iphone|ipad|android|телефона|мобильного|смартфона|samsung)\b.*"
    r"|отправлено из (мобильной|приложения) .{0,40})\s*$",
    re.IGNORECASE,
)


def _is_header_block(lines: list[str], i: int) -> bool:
    """Whether line `i` starts an Outlook block of quoted headers (From: then Sent:/To:...)."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [line for line in lines[i + 1 : i + 8] if line.strip()]
    return sum(1 for line in following[:5] if _HEADER_NEXT.match(line)) >= 2


def _is_attribution(lines: list[str], i: int) -> bool:
    """Whether line `i` (alone, or wrapped onto the next line) introduces a quote."""
    if _ATTRIBUTION.match(lines[i]):
        return True
    if (
        i + 1 == len(lines)
        or not _WRAPPED_START.match(lines[i])
        or _ATTRIBUTION.match(lines[i + 1])
    ):
        return False
    first = lines[i].rstrip()
    joined = first + ("" if first.endswith("<") else " ") + lines[i + 1].strip()  # Gmail wraps "<"
    return bool(_ATTRIBUTION.match(joined))


def _cut(lines: list[str]) -> int:
    """The index of the first line of quoted history or signature; len(lines) when none."""
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">") or _SEPARATOR.match(line) or _SIGNATURE.match(line):
            return i
        if _FOOTER.match(line) or _is_attribution(lines, i):
            return i
        if _is_header_block(lines, i):
            return i - 1 if i and _RULE.match(lines[i - 1]) else i
    return len(lines)


def _answer_below(lines: list[str]) -> tuple[str, str]:
    """For a letter that opens with a quote: the unquoted lines under it, and the rest."""
    kept: list[str] = []
    quoted: list[str] = []
    for i, line in enumerate(lines):
        is_quote = line.lstrip().startswith(">") or _is_attribution(lines, i)
        (quoted if is_quote else kept).append(line)
    head = _cut(kept)
    quoted += kept[head:]
    return _tidy("\n".join(kept[:head])), _tidy("\n".join(quoted))


def _tidy(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, no blank ends."""
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def split(text: str) -> tuple[str, str]:
    """(new text, quoted history and signature) of a plain-text letter."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    head = _cut(lines)
    new, quoted = _tidy("\n".join(lines[:head])), _tidy("\n".join(lines[head:]))
    if new.strip():
        return new, quoted
    below, rest = _answer_below(lines)
    if below.strip():
        return below, rest
    return _tidy(text), ""
