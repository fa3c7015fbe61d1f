"""Tests of web.media: magic-byte sniffing, the inline rule, file names, Content-Disposition."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from tests.web.support import HTML, png
from web.media import (
    SNIFF_BYTES,
    clean_filename,
    content_disposition,
    content_type,
    may_show_inline,
    sniff_media_type,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WEBM_HEADER = bytes.fromhex(
    "1a45dfa39f4286810142f7810142f2810442f381084282847765626d4287810442858102"
)


def office(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        for name, text in parts.items():
            z.writestr(name, text)
    return buffer.getvalue()


GIF = bytes.fromhex(
    "47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
WEBP = b"RIFF" + struct.pack("<I", 26) + b"WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 16
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (png(), "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (WEBP, "image/webp"),
        (PDF, "application/pdf"),
        (office({"word/document.xml": "<w:document/>"}), DOCX),
        (office({"xl/workbook.xml": "<workbook/>"}), XLSX),
        (office({"notes.txt": "plain zip"}), "application/zip"),
        (MP4, "video/mp4"),
        (WEBM_HEADER + b"\x18\x53\x80\x67" + b"\x00" * 16, "video/webm"),
        (WEBM_HEADER.replace(b"\x84webm", b"\x88matroska"), "application/octet-stream"),
        (HEIC, "application/octet-stream"),
        (HTML, "text/plain"),
        (SVG, "text/plain"),
        ("Договор № 5 не публикуется.\r\n\tСрок — завтра.\n".encode(), "text/plain"),
        (b"\xef\xbb\xbfwith a byte-order mark\n", "text/plain"),
        ("Привет".encode("cp1251"), "application/octet-stream"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"),
        (b"\x7fELF\x02\x01\x01\x00", "application/octet-stream"),
        (b"text with an escape \x1b[31m red", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_the_type_comes_from_the_magic_bytes(content: bytes, media_type: str) -> None:
    assert sniff_media_type(content[:SNIFF_BYTES]) == media_type


def test_a_text_head_cut_inside_a_character_is_still_text() -> None:
    head = (" " + "я" * SNIFF_BYTES).encode()[:SNIFF_BYTES]
    assert head[-1:] == b"\xd1"  # the first byte of a two-byte character
    assert sniff_media_type(head) == "text/plain"
    assert sniff_media_type(head[:-2]) == "application/octet-stream"  # a whole, shorter file


@pytest.mark.parametrize(
    ("media_type", "inline"),
    [
        ("image/png", True),
        ("image/jpeg", True),
        ("image/gif", True),
        ("image/webp", True),
        ("IMAGE/PNG", True),
        ("image/svg+xml", False),
        ("text/html", False),
        ("text/plain", False),
        ("application/pdf", False),
        ("video/mp4", False),
        ("application/octet-stream", False),
    ],
)
def test_only_raster_images_may_be_shown_inline(media_type: str, inline: bool) -> None:
    assert may_show_inline(media_type) is inline


def test_text_is_served_as_utf8() -> None:
    assert content_type("text/plain") == "text/plain; charset=utf-8"
    assert content_type("image/png") == "image/png"


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("Отчёт за май.pdf", "Отчёт за май.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ivanova\\Desktop\\акт.docx", "акт.docx"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("a\x00b\x07c.txt", "abc.txt"),
        ("two\tlines\r\nhere .txt", "two lines here .txt"),
        ("   .hidden.  ", "hidden"),
        ('a<b>:"c|?*.txt', "a_b___c___.txt"),
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
        ("е\u0308лка.png", "ёлка.png"),
        ("", "file"),
        ("..", "file"),
        ("/", "file"),
        ("\u202e\u200b", "file"),
    ],
)
def test_file_names_are_cleaned(name: str, cleaned: str) -> None:
    assert clean_filename(name) == cleaned


def test_a_long_name_is_cut_to_the_byte_limit_keeping_its_extension() -> None:
    cleaned = clean_filename("я" * 300 + ".pdf")
    assert cleaned == "я" * 98 + ".pdf"
    assert len(cleaned.encode()) == 200
    assert clean_filename("x" * 300) == "x" * 200
    assert clean_filename("a" * 10 + "." + "b" * 300, max_bytes=20) == "a" * 10 + "." + "b" * 9


def test_content_disposition_offers_an_ascii_name_and_the_utf8_one() -> None:
    assert content_disposition("Résumé (final).docx") == (
        'attachment; filename="Resume (final).docx"; '
        "filename*=UTF-8''R%C3%A9sum%C3%A9%20%28final%29.docx"
    )
    assert content_disposition("Отчёт за май.pdf") == (
        "attachment; filename=\"file.pdf\"; filename*=UTF-8''"
        "%D0%9E%D1%82%D1%87%D1%91%D1%82%20%D0%B7%D0%B0%20%D0%BC%D0%B0%D0%B9.pdf"
    )
    assert content_disposition("photo.png", inline=True).startswith('inline; filename="photo.png"')


def test_content_disposition_cannot_be_broken_out_of() -> None:
    header = content_disposition('a"b\r\nSet-Cookie: x=1;.txt')
    assert header == (
        'attachment; filename="a_b Set-Cookie_ x=1;.txt"; '
        "filename*=UTF-8''a_b%20Set-Cookie_%20x%3D1%3B.txt"
    )
