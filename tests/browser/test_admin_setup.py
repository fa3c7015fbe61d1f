"""An administrator sets part of a desk up in the UI, in a real browser: a group, a category
whose form asks for a required field (its preview following as she types), and an agent account
in the group; then the public form asks a requester for that field, and the new agent signs in."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.site import People

GROUP = "Линия 1 (Самара)"
CATEGORY = "Банковские гарантии"
LABEL = "Номер гарантии"
PASSWORD = "пароль новой сотрудницы"


def test_an_administrator_sets_up_a_group_a_category_with_a_required_field_and_an_account(
    people: People,
) -> None:
    admin = people.sign_in("admin", "/admin/accounts")
    admin.get_by_role("link", name="Группы и линии").click()
    admin.locator("#group-name").fill(GROUP)
    admin.locator("#group-kind").select_option("line1")
    admin.locator("#group-new button[type=submit]").click()
    expect(admin.locator("h1")).to_contain_text(GROUP)
    expect(admin.locator("#done")).to_have_text("Группа создана.")

    admin.get_by_role("link", name="Категории и формы").click()
    admin.locator("#name_ru").fill(CATEGORY)
    admin.locator("#name_en").fill("Bank guarantees")
    admin.locator("#default_group").select_option(label=GROUP)
    admin.locator("#category-new button[type=submit]").click()
    expect(admin.locator("h1")).to_have_text(CATEGORY)

    row = admin.locator("#form-editor tbody tr").last
    row.locator("input[name^='key-']").fill("9guarantee")
    expect(admin.locator("#preview-left-out")).to_be_visible()  # a wrong key: left out
    row.locator("input[name^='key-']").fill("guarantee")
    row.locator("input[name^='label_ru-']").fill(LABEL)
    row.locator("input[name^='label_en-']").fill("Guarantee number")
    row.locator("select[name^='type-']").select_option("registry_number")
    row.locator("input[name^='required-']").check()
    preview = admin.locator("#form-preview")
    expect(preview.locator("#f-guarantee")).to_have_attribute("required", "")
    expect(preview).to_contain_text(LABEL)
    row.locator("textarea[name^='help_ru-']").fill("Номер из реестра банковских гарантий")
    expect(preview.locator("#help-guarantee")).to_have_text("Номер из реестра банковских гарантий")
    admin.get_by_role("button", name="Добавить поле").click()  # nothing saved yet
    row = admin.locator("#form-editor tbody tr").last
    expect(row.locator("input[name^='key-']")).to_have_value("")
    row.locator("input[name^='key-']").fill("issued_on")
    row.locator("input[name^='label_ru-']").fill("Дата выдачи")
    row.locator("select[name^='type-']").select_option("date")
    expect(preview.locator("#f-issued_on")).to_have_attribute("type", "date")
    admin.get_by_role("button", name="Сохранить форму").click()
    expect(admin.locator("#done")).to_contain_text("Форма сохранена")
    expect(admin.locator("#form-editor input[value='guarantee']")).to_be_visible()
    expect(admin.locator("#form-preview #help-guarantee")).to_be_visible()  # the help was saved

    admin.get_by_role("link", name="Учётные записи").click()
    admin.get_by_role("link", name="Зарегистрировать учётную запись").click()
    admin.locator("#login").fill("m.sokolova")
    admin.locator("#display_name").fill("Мария Соколова")
    admin.locator("#email").fill("sokolova@example.org")
    admin.get_by_label(GROUP).check()
    admin.locator("#password").fill("короткий")
    admin.locator("form[action='/admin/accounts'] button[type=submit]").click()
    expect(admin.locator("#e-password")).to_be_visible()  # refused at the field, kept as typed
    expect(admin.locator("#login")).to_have_value("m.sokolova")
    admin.locator("#password").fill(PASSWORD)
    admin.locator("form[action='/admin/accounts'] button[type=submit]").click()
    expect(admin.locator("#done")).to_have_text("Учётная запись зарегистрирована.")
    expect(admin.locator("#account-history")).to_contain_text("Вступил(а) в группу")
    admin.get_by_role("link", name="Учётные записи").click()
    admin.locator("#account-q").fill("sokolova@")
    expect(admin.locator("#accounts-found")).to_contain_text("m.sokolova")
    expect(admin.locator("#accounts-found")).not_to_contain_text("agent1")

    requester = people.sign_in("requester", "/new")
    requester.get_by_role("radio", name=CATEGORY).check()
    field = requester.locator("#f-guarantee")
    expect(field).to_be_visible()
    expect(field).to_have_attribute("required", "")
    expect(requester.locator("label[for='f-guarantee']")).to_have_text(LABEL)
    expect(requester.locator("#f-issued_on")).not_to_have_attribute("required", "")

    newcomer = people.context().new_page()
    newcomer.goto("/login")
    newcomer.locator("#login").fill("m.sokolova")
    newcomer.locator("#password").fill(PASSWORD)
    newcomer.locator("form[action='/login'] button[type=submit]").click()
    expect(newcomer).not_to_have_url(re.compile(r"/login"))
