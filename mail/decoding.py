"""Text out of a letter's bytes: charsets declared, missing or wrong; encoded words; file names.

Russian mail still arrives in windows-1251 and koi8-r, sometimes with the charset left out or
misstated, sometimes as raw 8-bit bytes in a header. Nothing here raises on bad input: the worst
case is a replacement character."""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
import unicodedata

ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]"
)  # PostgreSQL refuses NUL
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "charmap"}
_ALIASES = {"cp-1251": "cp1251", "win-1251": "cp1251", "x-cp1251": "cp1251", "koi8r": "koi8-r"}
MAX_NAME = 150  # characters of a file name kept; file systems allow 255 bytes


def codec(charset: str | None) -> str | None:
    """The Python codec for a declared charset (RFC 2231 language dropped), None when unknown."""
    if not charset:
        return None
    name = charset.split("*", 1)[0].strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        found = codecs.lookup(name).name
    except (LookupError, ValueError):
        return None
    return None if found in _NOT_CHARSETS else found


def cyrillic_guess(data: bytes) -> str:
    """windows-1251 or koi8-r for 8-bit text, by where the (mostly lowercase) letters fall."""
    upper_half = sum(data.count(b) for b in range(0xE0, 0x100))  # cp1251 lowercase, koi8 capitals
    lower_half = sum(data.count(b) for b in range(0xC0, 0xE0))
    return "cp1251" if upper_half >= lower_half else "koi8_r"


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """`data` as text: the declared charset if it fits, else UTF-8, else a Cyrillic guess."""
    declared = codec(charset)
    if declared in ("ascii", "us-ascii"):
        declared = None  # said ascii, sent 8-bit: the declaration is the mistake
    for name in (declared, "utf-8"):
        if name:
            try:
                return data.decode(name)
            except (UnicodeDecodeError, LookupError):
                pass
    return data.decode(cyrillic_guess(data), errors="replace")


def unescape_8bit(value: str) -> str:
    """A header value read from bytes (raw 8-bit kept as surrogates) as proper text."""
    if not any("\udc80" <= c <= "\udcff" for c in value):
        return value
    return decode_bytes(value.encode("utf-8", errors="surrogateescape"))


def _word(charset: str, encoding: str, payload: str) -> str:
    """One RFC 2047 encoded word decoded; the raw text back when it is broken."""
    raw = payload.encode("ascii", errors="replace")
    try:
        if encoding.lower() == "b":
            data = base64.b64decode(raw + b"=" * (-len(raw) % 4))
        else:
            data = quopri.decodestring(raw.replace(b"_", b" "), header=True)
    except (binascii.Error, ValueError):
        return payload
    return decode_bytes(data, charset)


def unfold(value: str) -> str:
    """A raw header value on one line, raw 8-bit bytes decoded, encoded words left as they are."""
    return re.sub(r"[\r\n]+", "", re.sub(r"\r?\n[ \t]", " ", unescape_8bit(value))).strip()


def header_text(value: str) -> str:
    """A raw header value as text: unfolded, 8-bit and encoded words decoded."""
    value = _BETWEEN_WORDS.sub(r"\1", unfold(value))  # space between encoded words is not text
    value = ENCODED_WORD.sub(lambda m: _word(m[1], m[2], m[3]), value)
    return _CONTROL.sub(" ", value).strip()


def safe_name(name: str | None) -> str:
    """A file name with no path parts or control characters; "attachment" when nothing is left."""
    name = header_text(_CONTROL.sub("", name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" or c == " ")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > MAX_NAME:
        _, dot, ext = name.rpartition(".")
        keep = ext if dot and 0 < len(ext) <= 10 else ""
        name = name[: MAX_NAME - len(keep) - 1].rstrip(" .") + ("." + keep if keep else "")
    return name or "attachment"


def printable(text: str) -> str:
    """`text` without control characters other than tab and line breaks (NUL breaks storage)."""
    return _TEXT_CONTROL.sub("", text)
