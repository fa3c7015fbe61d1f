"""Cells of CSV and XLSX exports that a spreadsheet shows and never runs.

A spreadsheet treats a cell that starts with `=`, `+`, `-` or `@` (and, in some, tab or carriage
return) as a formula, so a category named `=HYPERLINK(...)` would become a live link or worse
(OWASP "CSV injection"). Text therefore goes out inert: in CSV prefixed with a single quote, in
XLSX as a cell whose data type is string (never a formula, whatever it starts with). Figures go
out as numbers, so a negative number stays a number.

CSV for Excel: the file starts with a UTF-8 byte order mark (without it Excel reads Cyrillic as
cp1251 mojibake), and the separators follow the reader's language as Excel's do: Russian `;`
between cells and a decimal comma (Excel in a Russian locale splits on `;` and reads `1,5` as a
number), English `,` and a decimal point. LibreOffice detects both in its import dialog.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
BOM = codecs.BOM_UTF8


def inert(text: str) -> str:
    """Text a spreadsheet shows as it is: a leading formula character is quoted away."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def is_number(text: str) -> bool:
    """Whether `text` is a figure as the exports write them (integer or decimal point)."""
    return NUMBER.fullmatch(text) is not None


def csv_bytes(rows: Iterable[Sequence[str]], text_columns: int, language: str) -> bytes:
    """The rows as CSV for Excel in `language`: BOM, separators of that language, the first
    `text_columns` columns (and anything in the others that is not a figure) made inert."""
    russian = language == "ru"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if russian else ",", lineterminator="\r\n")
    for row in rows:
        writer.writerow(_csv_cell(c, j < text_columns, russian) for j, c in enumerate(row))
    return BOM + out.getvalue().encode()


def _csv_cell(text: str, is_text: bool, decimal_comma: bool) -> str:
    if is_text or not is_number(text):
        return inert(text)
    return text.replace(".", ",") if decimal_comma else text


def text_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    """An XLSX cell holding `text` as a string, never a formula (and without the control
    characters XLSX cannot hold)."""
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", text))
    cell.data_type = "s"
    return cell


def figure_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell | int | Decimal | None:
    """An XLSX cell for a figure: a number, empty when none, text (inert) when not a number."""
    if not text:
        return None
    if not is_number(text):
        return text_cell(sheet, text)
    return int(text) if "." not in text else Decimal(text)
