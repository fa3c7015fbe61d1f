"""The administrators' category pages, on both stores: defining a category, editing its form
(every mistake shown at its field with 422 and nothing saved; a form saved on an older version
refused with 409), the live preview, and the public form asking for what was saved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.category import Category, FieldType
from domain.settings import Settings
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def post(who: Browser, path: str, form: dict[str, Any], **headers: str) -> httpx.Response:
    r: httpx.Response = who.client.post(path, data={**form, "csrf_token": who.csrf},
                                        headers={"Origin": ORIGIN, **headers},
                                        follow_redirects=False)  # fmt: skip
    return r


def category(site: Site, path: str) -> Category:
    found = site.services.desk.repository.get(UUID(path.split("?")[0].rsplit("/", 1)[1]))
    assert isinstance(found, Category)
    return found


FIELDS = {
    "key-0": "inn", "label_ru-0": "ИНН заказчика", "label_en-0": "Customer INN",
    "type-0": "text", "required-0": "1", "order-0": "2",
    "key-1": "law", "label_ru-1": "Закон", "label_en-1": "Law", "type-1": "choice",
    "choices-1": "44-ФЗ\n223-ФЗ\n\n44-ФЗ", "order-1": "1",
    "key-2": "", "label_ru-2": "", "label_en-2": "", "type-2": "text", "order-2": "3",
}  # fmt: skip


def test_an_administrator_defines_a_category_and_its_form(site: Site) -> None:
    admin = Browser(site, "admin", lang="ru")
    assert "Категории и формы" in admin.get("/admin/categories").text
    missing = post(admin, "/admin/categories", {"name_ru": "Оплата", "name_en": ""})
    assert missing.status_code == 422 and 'id="e-name_en"' in missing.text
    assert 'value="Оплата"' in missing.text, "kept as typed"
    unknown = post(admin, "/admin/categories",
                   {"name_ru": "Оплата", "name_en": "Payments", "default_group": "x"})  # fmt: skip
    assert unknown.status_code == 422 and 'id="e-default_group"' in unknown.text
    r = post(admin, "/admin/categories", {"name_ru": "Оплата", "name_en": "Payments",
                                          "default_group": str(site.world.line1)})  # fmt: skip
    assert r.status_code == 303
    path = r.headers["location"].split("?")[0]
    made = category(site, path)
    third = {"key-2": "amount", "label_ru-2": "Сумма", "type-2": "number"}
    more = post(admin, path, {**FIELDS, **third, "add": "1", "version": str(made.version)})
    assert more.status_code == 200 and 'name="key-3"' in more.text, "another empty row"
    assert 'value="ИНН заказчика"' in more.text and category(site, path).version == made.version
    assert made.name_en == "Payments" and made.form == ()
    assert "Оплата" in admin.get("/admin/categories").text

    page = admin.get(path).text
    assert f'name="version" value="{made.version}"' in page
    assert 'hx-post="' + path + '/preview"' in page
    saved = post(admin, path, {**FIELDS, "version": str(made.version)})
    assert saved.status_code == 303, saved.text
    form = category(site, path).form
    assert [f.key for f in form] == ["law", "inn"], "in the order asked"
    assert form[0].type is FieldType.CHOICE and form[0].choices == ("44-ФЗ", "223-ФЗ")
    assert form[1].required and not form[0].required
    shown = admin.get(path).text
    assert 'value="ИНН заказчика"' in shown and "44-ФЗ\n223-ФЗ</textarea>" in shown
    assert "Изменена форма: Закон, ИНН заказчика*" in shown, "the history names fields by label"

    stale = post(admin, path, {**FIELDS, "version": str(made.version)})
    assert stale.status_code == 409 and "изменил кто-то другой" in stale.text
    assert 'value="ИНН заказчика"' in stale.text, "the stale form is shown as typed"
    assert category(site, path).version == made.version + 1, "nothing written"

    # the public form asks for the fields saved
    requester = Browser(site, "requester")
    fields = requester.client.get(f"/new/fields?category={made.id}").text
    assert 'name="field.inn"' in fields and "required" in fields
    assert '<option value="223-ФЗ"' in fields


@pytest.mark.parametrize(("change", "where"), [
    ({"key-0": "ИНН"}, "key-0"),
    ({"key-0": "9inn"}, "key-0"),
    ({"key-1": "inn"}, "key-1"),
    ({"label_ru-0": "", "label_en-0": ""}, "label_ru-0"),
    ({"type-0": "colour"}, "type-0"),
    ({"choices-1": " \n "}, "choices-1"),
    ({"order-0": "first"}, "order-0"),
])  # fmt: skip
def test_a_wrong_field_is_shown_at_its_place_and_nothing_is_saved(
    site: Site, change: dict[str, str], where: str
) -> None:
    admin = Browser(site, "admin")
    path = f"/admin/categories/{site.world.contracts}"
    before = category(site, path)
    r = post(admin, path, {**FIELDS, **change, "version": str(before.version)})
    assert r.status_code == 422
    assert f'id="e-{where}"' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="ИНН заказчика"' in r.text or "label_ru" in where, "kept as typed"
    assert category(site, path).version == before.version, "nothing written"


def test_the_preview_shows_the_requester_s_fields_as_the_form_is_typed(site: Site) -> None:
    admin, agent = Browser(site, "admin"), Browser(site, "agent")
    path = f"/admin/categories/{site.world.contracts}/preview"
    r = post(admin, path, FIELDS, **{"HX-Request": "true"})
    assert r.status_code == 200
    assert 'name="field.inn"' in r.text and 'name="field.law"' in r.text
    assert r.text.index("field.law") < r.text.index("field.inn"), "in the order asked"
    assert re.search(r'id="f-inn"[^>]*required', r.text), "required as the requester sees it"
    wrong = post(admin, path, {**FIELDS, "key-0": "ИНН"}, **{"HX-Request": "true"})
    assert 'name="field.inn"' not in wrong.text and 'id="preview-left-out"' in wrong.text
    assert post(agent, path, FIELDS, **{"HX-Request": "true"}).status_code == 403


def test_a_field_s_help_text_shows_under_it_in_the_preview_the_requester_s_form_and_history(
    site: Site,
) -> None:
    admin = Browser(site, "admin", lang="ru")
    path = f"/admin/categories/{site.world.contracts}"
    helped = {**FIELDS, "help_ru-0": "10 цифр, <как в ЕГРЮЛ>", "help_en-0": "10 digits"}
    preview = post(admin, f"{path}/preview", helped, **{"HX-Request": "true"})
    assert 'id="help-inn"' in preview.text and "10 цифр, &lt;как в ЕГРЮЛ&gt;" in preview.text
    assert re.search(r'id="f-inn"[^>]*aria-describedby="help-inn"', preview.text)
    assert 'id="help-law"' not in preview.text, "no text, no help"
    before = category(site, path)
    too_long = post(admin, path, {**helped, "help_en-0": "x" * 501, "version": str(before.version)})
    assert too_long.status_code == 422 and 'id="e-help_en-0"' in too_long.text
    assert category(site, path).version == before.version, "nothing written"
    saved = post(admin, path, {**helped, "version": str(before.version)})
    assert saved.status_code == 303, saved.text
    after = category(site, path)
    assert [(h.key, h.text_ru, h.text_en) for h in after.help] == [
        ("inn", "10 цифр, <как в ЕГРЮЛ>", "10 digits")
    ]
    page = admin.get(path).text
    assert "10 цифр, &lt;как в ЕГРЮЛ&gt;</textarea>" in page, "the editor shows it to change"
    assert "Изменены подсказки: inn" in page, "the change is in the history"
    for lang, text in (("ru", "10 цифр, &lt;как в ЕГРЮЛ&gt;"), ("en", "10 digits")):
        requester = Browser(site, "requester", lang=lang)
        fields = requester.client.get(f"/new/fields?category={site.world.contracts}").text
        assert f'<span class="hint field-help" id="help-inn">{text}</span>' in fields
    # taking the field out of the form takes its help text along
    rest = {k: v for k, v in helped.items() if not k.endswith("-0")}
    assert post(admin, path, {**rest, "version": str(after.version)}).status_code == 303
    assert category(site, path).help == ()


def test_categories_are_for_administrators_only(site: Site) -> None:
    agent, methodologist = Browser(site, "agent"), Browser(site, "methodologist")
    path = f"/admin/categories/{site.world.contracts}"
    before = category(site, path).version
    for who in (agent, methodologist):
        assert who.get("/admin/categories").status_code == 403
        assert who.get(path).status_code == 403
        assert post(who, path, {**FIELDS, "version": str(before)}).status_code == 403
        assert post(who, "/admin/categories",
                    {"name_ru": "Своя", "name_en": "Own"}).status_code == 403  # fmt: skip
    assert category(site, path).version == before
    admin = Browser(site, "admin")
    assert admin.get("/admin/categories/00000000-0000-0000-0000-000000000007").status_code == 404
