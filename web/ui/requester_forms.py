"""What the requester's forms share: a category's typed fields, messages next to each field,
and the files a form carries (stored as content-addressed blobs, each capped like the API's).

The domain decides what is valid (`FieldSpec.parse`, `parse_fields`, `clean_text`); this module
only says it in the reader's language, next to the field at fault.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from domain import eis_fields
from domain.access import Actor
from domain.category import FieldSpec, FieldType
from domain.errors import DeskError, InvalidInput, MissingFields
from domain.people import clean_text
from domain.ticket import Attachment, clean_body
from projections import catalog
from projections.db import Tx
from web import files
from web.attachments import TooLarge
from web.errors import ApiError
from web.media import clean_filename
from web.text_input import plain_text
from web.ui import i18n
from web.uploads import TooManyUploads, count, staging, uploads_of

MAX_FILES = 10
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# -- a category's form ------------------------------------------------------------------------
def spec_of(raw: Mapping[str, Any]) -> FieldSpec:
    """A FieldSpec from the catalogue's JSON form (as `catalog.categories` lists it)."""
    return FieldSpec(
        str(raw["key"]),
        str(raw.get("label_ru", "")),
        str(raw.get("label_en", "")),
        FieldType(raw["type"]),
        bool(raw.get("required", False)),
        tuple(str(c) for c in raw.get("choices") or ()),
    )


def category(tx: Tx, category_id: str) -> dict[str, Any] | None:
    """A category (archived ones too: filed requests keep theirs), with its form's specs."""
    found = catalog.category(tx, category_id)
    return None if found is None else {**found, "form": [spec_of(f) for f in found["form"]]}


def label(spec: FieldSpec) -> str:
    first, second = (
        (spec.label_ru, spec.label_en) if i18n.current() == "ru" else (spec.label_en, spec.label_ru)
    )
    return first or second or spec.key


def typed_values(
    specs: Iterable[FieldSpec], form: FormData
) -> tuple[dict[str, str], list[UploadFile]]:
    """The raw values of `specs` from a form (`field.<key>`), and the uploads of file fields
    (`file.<key>`): a file field's value is its file's name, and the file is attached."""
    raw: dict[str, str] = {}
    uploads: list[UploadFile] = []
    for spec in specs:
        if spec.type is FieldType.FILE:
            upload = form.get(f"file.{spec.key}")
            if isinstance(upload, UploadFile) and upload.filename:
                raw[spec.key] = clean_filename(upload.filename)
                uploads.append(upload)
            else:
                raw[spec.key] = str(form.get(f"field.{spec.key}") or "")
        else:
            value = form.get(f"field.{spec.key}")
            text = value.strip() if isinstance(value, str) else ""
            raw[spec.key] = plain_text(f"field.{spec.key}", text, i18n.gettext)
    return raw, uploads


def shown_value(value: Any) -> str:
    """A stored field value as text (decimals and dates arrive as strings from the timeline)."""
    if value is None:
        return ""
    return str(value)


# -- messages next to the fields --------------------------------------------------------------
def field_message(spec: FieldSpec, raw: Any) -> str:
    """What is wrong with `raw` for this field, in the reader's language ("" when nothing)."""
    _ = i18n.gettext
    name = label(spec)
    try:
        spec.parse(raw)
    except MissingFields:
        return _("{label} is required.").format(label=name)
    except InvalidInput:
        text = str(raw).strip()
        kind = spec.type.value
        wrong = eis_fields.problem(kind, text) if kind in eis_fields.CHECKS else ""
        if wrong:  # its templates are msgids (eis_fields.MESSAGES)
            return _(wrong).format(label=name)
        if spec.type is FieldType.NUMBER:
            return _("{label} must be a number.").format(label=name)
        if spec.type is FieldType.DATE:
            return _("{label} must be a date written YYYY-MM-DD.").format(label=name)
        if spec.type is FieldType.CHOICE:
            return _("{label} must be one of: {choices}.").format(
                label=name, choices=", ".join(spec.choices)
            )
        if spec.type is FieldType.REGISTRY_NUMBER and len(text) <= 4000:
            return _("{label} must be a registry number of 11 to 23 digits.").format(label=name)
        return _("{label} is longer than 4000 characters.").format(label=name)
    return ""


def general_message(key: str, raw: str = "") -> str:
    """Messages for the fields every request has (subject, description, contact...)."""
    _ = i18n.gettext
    empty = not raw.strip()
    messages = {
        "category": _("Choose the category of your question."),
        "subject": _("Write a short subject.")
        if empty
        else _("The subject is at most 200 characters."),
        "description": _("Describe what happened.")
        if empty
        else _("The description is at most 20,000 characters."),
        "body": _("Write your message.") if empty else _("A message is at most 20,000 characters."),
        "reason": _("Say why the request needs more work.")
        if empty
        else _("The reason is at most 20,000 characters."),
        "contact": _("Leave your name and e-mail so we can answer you."),
        "contact_name": _("Leave your name so we can answer you."),
        "contact_email": _("Leave an e-mail address we can answer to."),
        "answers": _("Please answer every question."),
        "score": _("Choose a rating from 1 to 5."),
    }
    return messages.get(key, "")


def errors_from(
    error: DeskError, specs: Iterable[FieldSpec], raw: Mapping[str, str]
) -> dict[str, str]:
    """Each field the domain named, with its message; `""` (the form's own) when none is named."""
    by_key = {s.key: s for s in specs}
    found: dict[str, str] = {}
    for key in error.fields:
        spec = by_key.get(key)
        message = (
            field_message(spec, raw.get(key, ""))
            if spec
            else general_message(key, raw.get(key, ""))
        )
        found[key] = message or _said(error)
    if not found:
        found[""] = _said(error)
    return found


def _said(error: DeskError) -> str:
    """The domain's own message, translated when the catalogue knows it."""
    return i18n.gettext(error.message) if error.message else ""


def check_text(errors: dict[str, str], key: str, value: str, *, body: bool = False) -> None:
    """Runs the domain's own check of a text field, noting its message when it refuses."""
    try:
        clean_body(value, key) if body else clean_text(value, key)
    except InvalidInput:
        errors[key] = general_message(key, value) or i18n.gettext("Please check this field.")


def check_contact(errors: dict[str, str], name: str, email: str) -> None:
    if not name.strip():
        errors["contact_name"] = general_message("contact_name")
    elif len(name) > 200:
        errors["contact_name"] = i18n.gettext("A name is at most 200 characters.")
    if not EMAIL.fullmatch(email.strip()) or len(email) > 320:
        errors["contact_email"] = general_message("contact_email")


def answers(form: FormData, count: int) -> tuple[str, ...]:
    return tuple(plain_text(f"answer.{i}", str(form.get(f"answer.{i}") or ""), i18n.gettext)
                 for i in range(count))  # fmt: skip


# -- files ------------------------------------------------------------------------------------
@dataclass
class Posted:
    """A posted form: its text values and the files it carries."""

    form: FormData
    files: list[UploadFile] = field(default_factory=list)

    def text(self, name: str, default: str = "") -> str:
        value = self.form.get(name)
        return plain_text(name, value, i18n.gettext) if isinstance(value, str) else default


@asynccontextmanager
async def posted(request: Request, file_field: str = "files") -> AsyncIterator[Posted]:
    """The request's form (urlencoded or multipart); a multipart body is capped like the
    API's uploads, its files are closed afterwards, and the files `store` staged are deleted
    unless `keep` kept them (run the form's commands inside this block)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        limit = files.max_bytes(request) + 65_536
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise TooLarge(files.max_bytes(request))
        capped = files._capped(request, limit)
        async with (
            staging(request),
            capped.form(max_files=MAX_FILES + 10, max_fields=200) as form,
        ):
            uploads = [
                f for f in form.getlist(file_field) if isinstance(f, UploadFile) and f.filename
            ]
            yield Posted(form, uploads)
        return
    async with staging(request):
        yield Posted(await request.form(max_files=0, max_fields=200))


async def store(request: Request, uploads: list[UploadFile]) -> list[Attachment]:
    """Stages each file (at most MAX_FILES, each capped at the upload limit, counted against the
    caller's uploads) and describes it; `keep` keeps them once the command that records them
    succeeded. TooLarge names the file field when one is over the limit."""
    await _count(request, len(uploads))
    return [await _stage(request, upload) for upload in uploads]


async def store_each(
    request: Request, uploads: list[tuple[str, UploadFile]]
) -> tuple[list[tuple[str, Attachment]], DeskError | ApiError | None]:
    """As `store`, but a file over the limit does not stop the others: the files stored, each
    with its key, and what refused any (None when nothing). Too many files, or the caller's
    uploads used up, store none."""
    try:
        await _count(request, len(uploads))
    except (InvalidInput, ApiError) as e:
        return [], e
    found: list[tuple[str, Attachment]] = []
    refused: DeskError | None = None
    for key, upload in uploads:
        try:
            found.append((key, await _stage(request, upload)))
        except TooLarge as e:
            refused = e
    return found, refused


async def _count(request: Request, n: int) -> None:
    if n > MAX_FILES:
        raise InvalidInput(f"Attach at most {MAX_FILES} files at once.", ["files"])
    if n:
        viewer = request.scope.get("suz_viewer")
        actor = viewer.actor if viewer is not None else Actor.visitor()
        try:
            await run_in_threadpool(count, request, actor, n)  # PostgreSQL: a round trip
        except TooManyUploads as e:
            message = i18n.gettext("Too many files uploaded; try again in {minutes} min.").format(
                minutes=int(e.wait // 60) + 1
            )
            raise ApiError(e.status, e.code, message, e.fields, e.headers) from None


async def _stage(request: Request, upload: UploadFile) -> Attachment:
    await upload.seek(0)
    return await run_in_threadpool(
        uploads_of(request).stage, upload.file, upload.filename or "", files.max_bytes(request)
    )


async def keep(request: Request, attachments: Iterable[Attachment]) -> None:
    """Keeps the staged files of `attachments`: call it once their command is recorded."""
    await run_in_threadpool(uploads_of(request).keep, list(attachments))


def file_error(error: DeskError) -> str:
    _ = i18n.gettext
    if isinstance(error, TooLarge):
        megabytes = error.max_bytes / (1024 * 1024)
        limit = f"{megabytes:g} MB" if error.max_bytes >= 1024 * 1024 else f"{error.max_bytes} B"
        return _(
            "A file is larger than {limit}, the most an attachment may be. Compress it, "
            "split it, or share a link to it instead."
        ).format(limit=limit)
    return _("Attach at most {n} files at once.").format(n=MAX_FILES)
