"""What an attachment is and what it is called: magic-byte sniffing, clean names, inline rule.

The media type comes only from the content's first bytes (never from the client's header or the
file's extension): PNG, JPEG, GIF, WebP, PDF, ZIP (DOCX, XLSX, PPTX recognised by their parts),
MP4, WebM, and UTF-8 plain text; anything else is application/octet-stream. HTML, SVG and other
markup therefore come out as text/plain, and only real raster images may be shown inline.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from urllib.parse import quote

SNIFF_BYTES = 64 * 1024
OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_NAME_BYTES = 200

_OFFICE = "application/vnd.openxmlformats-officedocument."
_OFFICE_PARTS = (
    (b"word/", _OFFICE + "wordprocessingml.document"),
    (b"xl/", _OFFICE + "spreadsheetml.sheet"),
    (b"ppt/", _OFFICE + "presentationml.presentation"),
)
_MP4_BRANDS = frozenset(
    b"isom iso2 iso3 iso4 iso5 iso6 mp41 mp42 avc1 dash mmp4 MSNV M4V\x20 f4v\x20".split(b" ")
)
_WEBM_DOCTYPE = re.compile(rb"\x42\x82[\x81-\x88]webm")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)]
)
_RFC5987_SAFE = "!#$&+-.^_`|~"


def sniff_media_type(head: bytes) -> str:
    """The media type of content beginning with `head` (its first SNIFF_BYTES, or all of it)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_type(head)
    if head[4:8] == b"ftyp" and head[8:12] in _MP4_BRANDS:
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3") and _WEBM_DOCTYPE.search(head[:64]):
        return "video/webm"
    if _is_text(head):
        return TEXT
    return OCTET_STREAM


def _zip_type(head: bytes) -> str:
    """An Office Open XML type when a local file header in `head` names one of its parts."""
    pos = head.find(b"PK\x03\x04")
    while pos != -1 and pos + 30 <= len(head):
        name_length = int.from_bytes(head[pos + 26 : pos + 28], "little")
        name = head[pos + 30 : pos + 30 + name_length]
        for prefix, media_type in _OFFICE_PARTS:
            if name.startswith(prefix):
                return media_type
        pos = head.find(b"PK\x03\x04", pos + 4)
    return "application/zip"


def _is_text(head: bytes) -> bool:
    """Whether `head` is UTF-8 without control characters (tab, newlines, form feed allowed)."""
    if not head:
        return False
    data = head.removeprefix(codecs.BOM_UTF8)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:  # a head cut from a longer file may end inside a character
        text = decoder.decode(data, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        return False
    return _CONTROL.search(text) is None


def content_type(media_type: str) -> str:
    """The Content-Type header for a sniffed type (text is known to be UTF-8)."""
    return f"{TEXT}; charset=utf-8" if media_type == TEXT else media_type


def may_show_inline(media_type: str) -> bool:
    """Whether a sniffed type may be shown in the page: real raster images only, never SVG."""
    return media_type.split(";")[0].strip().lower() in INLINE_TYPES


def _cut(text: str, max_bytes: int) -> str:
    return text.encode()[: max(max_bytes, 0)].decode(errors="ignore")


def clean_filename(name: str, *, fallback: str = "file", max_bytes: int = MAX_NAME_BYTES) -> str:
    """A file name safe to store and to offer for download, keeping its letters in any script.

    Drops any directory part, control and format characters (e.g. right-to-left overrides),
    replaces characters Windows forbids with `_`, collapses white space, trims spaces and dots
    at the ends, defuses reserved Windows names, and cuts it to `max_bytes` of UTF-8 keeping
    a short extension. An empty result becomes `fallback`.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = re.sub(r"\s", " ", name)  # tabs and line breaks become spaces
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = "".join("_" if c in '<>:"|?*' else c for c in name)
    name = re.sub(r" {2,}", " ", name).strip(" .")
    if name.split(".")[0].strip().upper() in _RESERVED:
        name = "_" + name
    if len(name.encode()) > max_bytes:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext.encode()) <= 16:
            name = _cut(stem, max_bytes - len(ext.encode()) - 1).rstrip(" .") + "." + ext
        else:
            name = _cut(name, max_bytes)
        name = name.strip(" .")
    return name or fallback


def _ascii_name(name: str) -> str:
    """An ASCII stand-in for old clients that ignore `filename*`."""
    decomposed = unicodedata.normalize("NFKD", name)
    chars = (c for c in decomposed if unicodedata.category(c) != "Mn")
    text = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in chars)
    text = re.sub(r"_+", "_", text)
    stem, dot, ext = text.rpartition(".")
    if dot and not any(c.isalnum() for c in stem):
        text = "file." + ext
    return text if any(c.isalnum() for c in text) else "file"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition header offering `filename` (cleaned; RFC 6266 with RFC 5987)."""
    name = clean_filename(filename)
    kind = "inline" if inline else "attachment"
    encoded = quote(name, safe=_RFC5987_SAFE)
    return f"{kind}; filename=\"{_ascii_name(name)}\"; filename*=UTF-8''{encoded}"
