"""The administrators' category pages: the categories, defining one, and editing its form (the
fields a requester fills: key, labels, type, required, choices, order) with a live preview of the
requester's form.

The editor checks every row and shows each mistake at its field (the form again, as typed, with
422, and nothing saved); the form is saved whole against the category's version the page showed
(`ChangeCategoryForm`, a set-up command handed to `Desk.handle`; another version: 409). As the
administrator types, htmx posts the editor to `/preview`, which answers the requester's fields
(the public form's own template) for the rows that are right so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Setup
from domain.category import MAX_HELP, Category, FieldHelp, FieldSpec, FieldType
from domain.errors import DeskError, InvalidInput
from domain.setup.categories import ChangeCategoryForm, DefineCategory
from projections import catalog
from web.auth import services
from web.ui import i18n
from web.ui.admin_forms import (
    Step,
    allowed,
    caught_up,
    history,
    load,
    problem,
    text,
    uuid_or_none,
    version,
)
from web.ui.guard import Viewer, ui
from web.ui.i18n import lazy
from web.ui.render import page

TYPE_NAMES = {
    FieldType.TEXT: lazy("Text"), FieldType.NUMBER: lazy("Number"), FieldType.DATE: lazy("Date"),
    FieldType.CHOICE: lazy("Choice from a list"),
    FieldType.REGISTRY_NUMBER: lazy("Registry number (11 to 23 digits)"),
    FieldType.FILE: lazy("File"),
    FieldType.INN: lazy("INN (10 or 12 digits, check digits verified)"),
    FieldType.KPP: lazy("KPP (9 characters)"),
    FieldType.OGRN: lazy("OGRN (13 digits, check digit verified)"),
    FieldType.OGRNIP: lazy("OGRNIP (15 digits, check digit verified)"),
    FieldType.NOTICE_NUMBER: lazy("Notice number (19 digits under 44-FZ, 11 under 223-FZ)"),
    FieldType.EMAIL: lazy("E-mail"), FieldType.PHONE: lazy("Phone"),
}  # fmt: skip
KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
MOST_FIELDS, MOST_CHOICES = 40, 100
NO_CATEGORY = lazy("No such category.")
HISTORY = {"Defined": lazy("Defined"), "FormChanged": lazy("Form changed"),
           "HelpChanged": lazy("Help texts changed"), "Archived": lazy("Archived")}  # fmt: skip


@dataclass
class Row:
    """One row of the editor as typed (strings), and its mistakes by input name."""

    i: int
    key: str = ""
    label_ru: str = ""
    label_en: str = ""
    type: str = FieldType.TEXT.value
    required: bool = False
    choices: str = ""  # one per line
    order: str = ""
    help_ru: str = ""  # the help text shown under the field (FieldHelp)
    help_en: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, i: int, spec: FieldSpec, help: FieldHelp | None = None) -> Row:
        return cls(i, spec.key, spec.label_ru, spec.label_en, spec.type.value, spec.required,
                   "\n".join(spec.choices), str(i + 1), help.text_ru if help else "",
                   help.text_en if help else "")  # fmt: skip

    def help(self) -> FieldHelp | None:
        """The help text this row gives its field, if any."""
        if self.blank or not (self.help_ru or self.help_en):
            return None
        return FieldHelp(self.key, self.help_ru, self.help_en)

    @property
    def blank(self) -> bool:
        return not (self.key or self.label_ru or self.label_en)

    def choice_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.strip()[:200] for c in self.choices.splitlines()
                                   if c.strip()))  # fmt: skip

    def spec(self) -> FieldSpec | None:
        """The field this row makes, or None while it has a mistake."""
        if self.errors or self.blank:
            return None
        kind = FieldType(self.type)
        return FieldSpec(self.key, self.label_ru or self.label_en, self.label_en or self.label_ru,
                         kind, self.required,
                         self.choice_list() if kind is FieldType.CHOICE else ())  # fmt: skip


def rows_from(form: FormData) -> list[Row]:
    """The editor's rows in the order asked (the order column, then as listed), deleted and
    blank rows left out, each checked; `errors` of a row name its inputs (`key-3`)."""
    numbers = sorted({int(k.split("-", 1)[1]) for k in form
                      if k.startswith("key-") and k.split("-", 1)[1].isdigit()})  # fmt: skip
    rows = []
    for i in numbers[: MOST_FIELDS * 2]:
        if form.get(f"delete-{i}"):
            continue
        row = Row(i, text(form, f"key-{i}", 80), text(form, f"label_ru-{i}", 200),
                  text(form, f"label_en-{i}", 200), text(form, f"type-{i}", 40),
                  bool(form.get(f"required-{i}")), text(form, f"choices-{i}", 20000),
                  text(form, f"order-{i}", 10), text(form, f"help_ru-{i}", MAX_HELP + 1),
                  text(form, f"help_en-{i}", MAX_HELP + 1))  # fmt: skip
        if not row.blank:
            rows.append(row)
    rows.sort(key=lambda r: (int(r.order) if r.order.isdigit() else 10_000, r.i))
    seen: set[str] = set()
    for row in sorted(rows, key=lambda r: r.i):  # a key repeated is marked where listed later
        _check(row, seen)
    return rows


def _check(row: Row, seen: set[str]) -> None:
    i, said = row.i, row.errors
    if not KEY.fullmatch(row.key):
        said[f"key-{i}"] = i18n.gettext(
            "A key is lower-case latin letters, digits and _, starting with a letter (at most 40)."
        )
    elif row.key in seen:
        said[f"key-{i}"] = i18n.gettext("Another field has this key.")
    seen.add(row.key)
    if not (row.label_ru or row.label_en):
        said[f"label_ru-{i}"] = i18n.gettext("Give the field a label.")
    if row.type not in set(FieldType):
        said[f"type-{i}"] = i18n.gettext("Choose from the list.")
    elif row.type == FieldType.CHOICE and not row.choice_list():
        said[f"choices-{i}"] = i18n.gettext("A choice field needs at least one choice.")
    elif row.type == FieldType.CHOICE and len(row.choice_list()) > MOST_CHOICES:
        said[f"choices-{i}"] = i18n.gettext("At most 100 choices.")
    if row.order and not row.order.isdigit():
        said[f"order-{i}"] = i18n.gettext("Write a whole number.")
    for name in ("help_ru", "help_en"):
        if len(getattr(row, name)) > MAX_HELP:
            said[f"{name}-{i}"] = i18n.gettext("A help text is at most 500 characters.")


def _form_of(rows: list[Row]) -> tuple[FieldSpec, ...]:
    """The form the rows make, or InvalidInput naming the first row's mistake."""
    if len(rows) > MOST_FIELDS:
        raise InvalidInput(i18n.gettext("A form has at most 40 fields."), [])
    for row in rows:
        if row.errors:
            raise InvalidInput(i18n.gettext("Some fields have mistakes; see the marked fields."),
                               list(row.errors))  # fmt: skip
    return tuple(s for s in (r.spec() for r in rows) if s is not None)


def _help_of(rows: list[Row]) -> tuple[FieldHelp, ...]:
    return tuple(h for h in (r.help() for r in rows if not r.errors) if h is not None)


def _helps(rows: list[Row]) -> dict[str, dict[str, str]]:
    """The rows' help texts as the requester's form takes them (the preview's)."""
    return {h.key: {"text_ru": h.text_ru, "text_en": h.text_en} for h in _help_of(rows)}


# -- the list and a new category ----------------------------------------------------------------
def _lists(request: Request) -> dict[str, Any]:
    with services(request).projections.db.read() as tx:
        return {"categories": catalog.categories(tx), "groups": catalog.groups(tx)}


async def _categories(request: Request, status: int = 200, typed: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None, error: str | None = None
                      ) -> Response:  # fmt: skip
    lists = await run_in_threadpool(_lists, request)
    names = {str(g["id"]): g["name"] for g in lists["groups"]}
    return page(request, "admin/categories.html", status, nav="admin", typed=typed or {},
                errors=errors or {}, error=error, group_names=names, **lists)  # fmt: skip


@ui
async def categories_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.DEFINE_CATEGORY)
    return await _categories(request)


@ui
async def define_category(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.DEFINE_CATEGORY)
    form = await request.form()
    typed = {k: text(form, k, 200) for k in ("name_ru", "name_en", "default_group", "parent")}
    try:
        errors = {k: i18n.gettext("Give the category a name in this language.")
                  for k in ("name_ru", "name_en") if not typed[k]}  # fmt: skip
        if errors:
            raise InvalidInput(next(iter(errors.values())), list(errors))
        group, parent = uuid_or_none(typed["default_group"]), uuid_or_none(typed["parent"])
        for name, value, chosen in (("default_group", group, typed["default_group"]),
                                    ("parent", parent, typed["parent"])):  # fmt: skip
            if chosen and value is None:
                raise InvalidInput(i18n.gettext("Choose from the list."), [name])
        command = DefineCategory(typed["name_ru"], typed["name_en"], (), group, parent)
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        status, errors, message = problem(e)
        if status == 404:  # a group or parent that is not there is a wrong choice here
            status = 422
        return await _categories(request, status, typed, errors, message)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/categories/{w.id}?done=defined", 303)


# -- one category's form ------------------------------------------------------------------------
def _category_id(request: Request) -> UUID | None:
    return uuid_or_none(str(request.path_params["category_id"]))


async def _editor(request: Request, category: Category, rows: list[Row], seen_version: str,
                  status: int = 200, error: str | None = None) -> Response:  # fmt: skip
    specs = [s for s in (r.spec() for r in rows) if s is not None]
    steps = await run_in_threadpool(_history, request, category.id)
    new = max((r.i for r in rows), default=-1) + 1
    return page(request, "admin/category.html", status, nav="admin", category=category,
                rows=[*rows, Row(new, order=str(len(rows) + 1))], version=seen_version,
                types=list(FieldType), type_names=TYPE_NAMES, specs=specs, error=error,
                values={}, errors={}, chosen="preview", history=steps, helps=_helps(rows),
                left_out=sum(1 for r in rows if r.errors),
                done=request.query_params.get("done", ""))  # fmt: skip


def _label(spec: Any) -> str:
    """A field as the history names it: its label in the viewer's language, not its key."""
    ru, en = getattr(spec, "label_ru", ""), getattr(spec, "label_en", "")
    return str((ru or en) if i18n.current() == "ru" else (en or ru)) or str(spec.key)


def _history(request: Request, category_id: UUID) -> list[Step]:
    def detail(kind: str, e: Any) -> str:
        if kind in ("Defined", "FormChanged"):
            return ", ".join(f"{_label(f)}{'*' if f.required else ''}" for f in e.form)
        if kind == "HelpChanged":
            return ", ".join(h.key for h in e.help) or "—"
        return ""

    return history(request, category_id, HISTORY, detail)


@ui
async def category_page(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.CHANGE_CATEGORY_FORM)
    category = await load(request, Category, _category_id(request), NO_CATEGORY)
    rows = [Row.of(i, s, category.help_for(s.key)) for i, s in enumerate(category.form)]
    return await _editor(request, category, rows, str(category.version))


@ui
async def save_form(request: Request, viewer: Viewer) -> Response:
    allowed(viewer, Setup.CHANGE_CATEGORY_FORM)
    category = await load(request, Category, _category_id(request), NO_CATEGORY)
    form = await request.form()
    rows = rows_from(form)
    if form.get("add"):  # another empty row for the next field; nothing saved yet
        return await _editor(request, category, rows, text(form, "version"))
    try:
        command = ChangeCategoryForm(category.id, _form_of(rows), version(form), _help_of(rows))
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        status, _errors, message = problem(e)
        return await _editor(request, category, rows, text(form, "version"), status, message)
    await caught_up(request, w)
    return RedirectResponse(f"/admin/categories/{category.id}?done=saved", 303)


@ui
async def preview(request: Request, viewer: Viewer) -> Response:
    """The requester's fields as the editor stands (rows with mistakes left out)."""
    allowed(viewer, Setup.CHANGE_CATEGORY_FORM)
    form = await request.form()
    rows = rows_from(form)
    specs = [s for s in (r.spec() for r in rows) if s is not None]
    return page(request, "admin/form_preview.html", specs=specs, values={}, errors={},
                chosen="preview", left_out=sum(1 for r in rows if r.errors),
                helps=_helps(rows))  # fmt: skip


routes = [
    Route("/admin/categories", categories_page),
    Route("/admin/categories", define_category, methods=["POST"]),
    Route("/admin/categories/{category_id}", category_page),
    Route("/admin/categories/{category_id}", save_form, methods=["POST"]),
    Route("/admin/categories/{category_id}/preview", preview, methods=["POST"]),
]
