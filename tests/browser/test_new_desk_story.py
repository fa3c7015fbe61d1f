"""A desk set up from nothing, in a real browser (issue 18's "done when"): `suz init` and `suz
create-admin` only, then the administrator builds the rest in the UI: an organisation (its INN
checked), two lines with their agents, a category whose form asks for an INN, a routing rule, an
SLA policy and the knowledge base's one-methodologist rule. A requester files through the form
(the INN checked there too); 1,200 requests arrive through the real commands in bulk; an agent
filters the desk, saves a view, assigns 50 in one go (each recorded on its request) and merges
two; the lone methodologist publishes an article; the analyst reads the figures through the JSON
API with a personal token."""

from __future__ import annotations

import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from domain.access import Actor
from domain.bulk import deferred
from domain.desk import Desk
from domain.eis_fields import is_valid_inn
from domain.settings import Settings
from domain.ticket import Channel, Contact, Urgency
from tests.browser.site import LIVE, RU, VIEWPORT, save_pages, sign_in_through_the_form
from tests.e2e.server import Server, run_cli, serve, server_env

ADMIN, ADMIN_PASSWORD = "boss", "пароль администратора"
PASSWORD = "пароль сотрудника desk"  # every account the administrator registers
ORG = "ГБУ «Центр закупок Самарской области»"
LINE1, LINE2 = "1 линия (Самара)", "2 линия (эксперты)"
CATEGORY = "Регистрация организаций"
FIELD_HELP = "10 цифр для организации, 12 — для индивидуального предпринимателя"
INN = "6315000000"  # replaced below by the first valid INN from this prefix
BULK = 1200  # requests written through the real commands, between the two servers
PEOPLE = {  # login: (name, role, groups)
    "o.kuznetsova": ("Ольга Кузнецова", "agent", (LINE1,)),
    "i.volkov": ("Иван Волков", "agent", (LINE1,)),
    "s.orlov": ("Сергей Орлов", "agent", ()),  # joins line 2 on the group's page
    "m.lebedeva": ("Марина Лебедева", "methodologist", ()),
    "a.fedorov": ("Антон Фёдоров", "analyst", ()),
    "p.zakupkin": ("Пётр Закупкин", "requester", ()),
}


def valid_inn(prefix: str) -> str:
    """The first 10-digit INN with a right check digit after `prefix` (9 digits)."""
    for last in range(10):
        if is_valid_inn(prefix + str(last)):
            return prefix + str(last)
    raise AssertionError(prefix)


ORG_INN = valid_inn("631500000")
WRONG_INN = ORG_INN[:9] + str((int(ORG_INN[9]) + 1) % 10)  # its check digit broken


# -- the desk: an empty store made as the README says -------------------------------------------
@dataclass
class EmptyDesk:
    """`suz init` and `suz create-admin` on a fresh SQLite store, served by `suz serve`."""

    root: Path
    settings: Settings
    env: dict[str, str]
    server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url


@dataclass
class Browsers:
    """Browser contexts of the story, each with its own cookies; JavaScript errors collected."""

    browser: Browser
    desk: EmptyDesk
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self) -> Page:
        ctx = self.browser.new_context(base_url=self.desk.url, locale=RU, viewport=VIEWPORT)
        ctx.set_default_timeout(LIVE)
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        page.on("console", lambda m: self.errors.append(f"{page.url}: {m.text}")
                if m.type == "error" and m.text.startswith("htmx:") else None)  # fmt: skip
        return page

    def sign_in(self, login: str, password: str = PASSWORD, path: str = "/") -> Page:
        return sign_in_through_the_form(self.page(), login, password, path)

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()
        self.contexts.clear()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[EmptyDesk]:
    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    env = server_env(settings)
    del env["SUZ_ORIGINS"]  # `suz serve` allows its own address, the one the browser uses
    run_cli(env, "migrate")
    run_cli(env, "init")
    run_cli({**env, "SUZ_ADMIN_PASSWORD": ADMIN_PASSWORD}, "create-admin", "--login", ADMIN,
            "--name", "Анна Администратова", "--email", "boss@desk.example.ru")  # fmt: skip
    (tmp_path / "logs").mkdir()
    yield EmptyDesk(tmp_path, settings, env)


@pytest.fixture
def browsers(browser: Browser, desk: EmptyDesk, tmp_path: Path,
             request: pytest.FixtureRequest) -> Iterator[Browsers]:  # fmt: skip
    crowd = Browsers(browser, desk)
    yield crowd
    if getattr(request.node, "failed_call", False):
        save_pages(crowd.contexts, tmp_path)
    crowd.close()
    assert getattr(request.node, "failed_call", False) or not crowd.errors, crowd.errors


# -- the administrator --------------------------------------------------------------------------
def set_up_the_desk(admin: Page) -> dict[str, str]:
    """Everything a desk needs, through the administrators' pages; the ids made, by name."""
    ids: dict[str, str] = {}
    admin.goto("/admin/accounts")
    admin.get_by_role("link", name="Организации").click()
    admin.locator("#org-name").fill(ORG)
    admin.locator("#org-inn").fill(WRONG_INN)
    admin.locator("#org-kpp").fill("631501001")
    admin.locator("#organisation-new button[type=submit]").click()
    refused = admin.locator("#e-inn")  # at the field, saying what is wrong
    expect(refused).to_contain_text("ИНН: не сходится контрольное число")
    expect(admin.locator("#org-name")).to_have_value(ORG)  # kept as typed
    admin.locator("#org-inn").fill(ORG_INN)
    admin.locator("#organisation-new button[type=submit]").click()
    expect(admin.locator("h1")).to_contain_text(ORG)
    ids["org"] = admin.url.split("/admin/organisations/")[1].split("?")[0]

    for name, kind in ((LINE1, "line1"), (LINE2, "line2")):
        admin.get_by_role("link", name="Группы и линии").click()
        admin.locator("#group-name").fill(name)
        admin.locator("#group-kind").select_option(kind)
        admin.locator("#group-new button[type=submit]").click()
        expect(admin.locator("h1")).to_contain_text(name)
        ids[name] = admin.url.split("/admin/groups/")[1].split("?")[0]

    for login, (name, role, groups) in PEOPLE.items():
        admin.get_by_role("link", name="Учётные записи").click()
        admin.get_by_role("link", name="Зарегистрировать учётную запись").click()
        admin.locator("#login").fill(login)
        admin.locator("#display_name").fill(name)
        admin.locator("#email").fill(f"{login}@desk.example.ru")
        admin.locator(f"input[name=roles][value={role}]").check()
        if role == "requester":
            admin.locator("#organisation").select_option(label=ORG)
        for group in groups:
            admin.get_by_label(group).check()
        admin.locator("#password").fill(PASSWORD)
        admin.locator("form[action='/admin/accounts'] button[type=submit]").click()
        expect(admin.locator("#done")).to_have_text("Учётная запись зарегистрирована.")
        ids[login] = admin.url.split("/admin/accounts/")[1].split("?")[0]

    admin.goto(f"/admin/groups/{ids[LINE2]}")  # a member added on the group's own page
    admin.locator("#member").select_option(label="Сергей Орлов (s.orlov)")
    admin.locator("#member-add button[type=submit]").click()
    expect(admin.locator("#group-members")).to_contain_text("Сергей Орлов")
    admin.goto(f"/admin/groups/{ids[LINE1]}")
    admin.locator("#lead").select_option(label="Ольга Кузнецова")
    admin.locator("#lead-form button[type=submit]").click()
    expect(admin.locator("#group-members .badge")).to_have_text("Руководитель")

    admin.get_by_role("link", name="Категории и формы").click()
    admin.locator("#name_ru").fill(CATEGORY)
    admin.locator("#name_en").fill("Registering organisations")
    admin.locator("#default_group").select_option(label=LINE1)
    admin.locator("#category-new button[type=submit]").click()
    expect(admin.locator("h1")).to_have_text(CATEGORY)
    ids["category"] = admin.url.split("/admin/categories/")[1].split("?")[0]
    row = admin.locator("#form-editor tbody tr").last
    row.locator("input[name^='key-']").fill("inn")
    row.locator("input[name^='label_ru-']").fill("ИНН организации")
    row.locator("input[name^='label_en-']").fill("Organisation's INN")
    row.locator("select[name^='type-']").select_option("inn")
    row.locator("input[name^='required-']").check()
    row.locator("textarea[name^='help_ru-']").fill(FIELD_HELP)
    expect(admin.locator("#form-preview #help-inn")).to_have_text(FIELD_HELP)
    admin.get_by_role("button", name="Сохранить форму").click()
    expect(admin.locator("#done")).to_contain_text("Форма сохранена")

    # routing: this organisation's registrations go to line 2's experts, at high priority
    admin.get_by_role("link", name="Правила маршрутизации").first.click()
    expect(admin.locator("h1")).to_have_text("Правила маршрутизации")
    rule = admin.locator("form[action='/admin/routing'] tbody tr").last
    rule.locator("input[name^='name-']").fill("Регистрация: ИНН Центра закупок — эксперты")
    rule.locator("select[name^='category-']").select_option(label=CATEGORY)
    rule.locator("input[name^='field_key-']").fill("inn")
    rule.locator("input[name^='field_value-']").fill(ORG_INN)
    rule.locator("select[name^='group-']").select_option(label=LINE2)
    rule.locator("select[name^='priority-']").select_option("high")
    admin.get_by_role("button", name="Сохранить правила").click()
    saved = admin.locator("form[action='/admin/routing'] tbody tr").first
    expect(saved.locator("input[name^='name-']")).to_have_value(
        "Регистрация: ИНН Центра закупок — эксперты"
    )

    admin.get_by_role("link", name="Политики SLA").first.click()
    policy = admin.locator("form[action='/admin/sla'] tbody tr").last
    policy.locator("input[name^='pname-']").fill("Регистрация: ответ за час")
    policy.locator("select[name^='pcategory-']").select_option(label=CATEGORY)
    policy.locator("input[name^='fr-']").fill("60")
    policy.locator("input[name^='res-']").fill("480")
    admin.get_by_role("button", name="Сохранить настройки SLA").click()
    saved = admin.locator("form[action='/admin/sla'] tbody tr").first
    expect(saved.locator("input[name^='pname-']")).to_have_value("Регистрация: ответ за час")

    admin.goto("/kb/settings")  # a team of one methodologist
    admin.locator("#review-self_publish").check()
    admin.get_by_role("button", name="Сохранить").click()
    expect(admin.locator("#review-rule")).to_have_attribute("data-rule", "self_publish")
    return ids


def file_through_the_form(requester: Page) -> str:
    """The requester files in the new category; a wrong INN is refused at the field first."""
    requester.goto("/new")
    requester.get_by_role("radio", name=CATEGORY).check()
    inn = requester.locator("#f-inn")
    expect(inn).to_have_attribute("required", "")
    expect(requester.locator("#help-inn")).to_have_text(FIELD_HELP)
    inn.fill(WRONG_INN)
    requester.locator("#subject").fill("Не проходит регистрация организации")
    requester.locator("#description").fill("При регистрации в ЕИС ошибка проверки ИНН.")
    requester.locator("#new-request button[type=submit]").click()
    expect(requester.locator("#new-request")).to_contain_text("не сходится контрольное число")
    requester.locator("#f-inn").fill(ORG_INN)
    requester.locator("#new-request button[type=submit]").click()
    expect(requester).to_have_url(re.compile(r"/t/[0-9a-f-]{36}"))
    found = re.search(r"[0-9a-f-]{36}", requester.url)
    assert found is not None
    return found.group(0)


# -- 1,200 requests through the real commands ---------------------------------------------------
def file_in_bulk(settings: Settings, ids: dict[str, str]) -> None:
    """BULK requests in the new category, from the requester and from visitors by mail and the
    public form, written in a few transactions (domain/bulk.py), the server stopped meanwhile."""
    rnd = random.Random(18)
    desk = Desk(settings.store_env())
    try:
        requester = desk.actor_for(UUID(ids["p.zakupkin"]))
        category = UUID(ids["category"])
        with deferred(desk):
            for n in range(BULK):
                inn = valid_inn(f"63{rnd.randrange(10**7):07d}")
                subject = f"Регистрация организации {inn}: ошибка №{n + 1}"
                body = "Не удаётся завершить регистрацию в ЕИС."
                values = {"inn": inn}
                urgency = (Urgency.NORMAL, Urgency.HIGH, Urgency.LOW)[n % 3]
                if n % 4 == 0:
                    contact = Contact(f"Посетитель {n}", f"visitor{n}@mail.example.ru")
                    desk.file_ticket(
                        Actor.visitor(),
                        category,
                        subject,
                        body,
                        values,
                        Channel.PUBLIC_FORM,
                        contact,
                        urgency=urgency,
                    )
                else:
                    desk.file_ticket(requester, category, subject, body, values, urgency=urgency)
    finally:
        desk.close()


def caught_up(url: str, timeout: float = 120.0) -> None:
    """Waits until every view has read the whole log (the restarted server builds them)."""
    deadline = time.monotonic() + timeout
    while httpx.get(f"{url}/ready", timeout=5.0).status_code != 200:
        assert time.monotonic() < deadline, "the views did not catch up"
        time.sleep(0.2)


# -- agents, the methodologist, the analyst ----------------------------------------------------
def work_the_desk(agent: Page, ids: dict[str, str]) -> None:
    """Filters the desk to line 1's unassigned registrations, saves that as a view, ticks the
    50 shown and assigns them to a colleague, each recorded on its request; merges two."""
    agent.locator("a[data-queue='filter']").click()
    filters = agent.locator("#filter-form")
    filters.locator("input[name=status][value=active]").check()
    agent.locator("#f-category").select_option(label=CATEGORY)
    agent.locator("#f-group").select_option(label=LINE1)
    agent.locator("#f-assignee").select_option("none")
    agent.locator("#filter-apply").click()
    for wanted in (f"category={ids['category']}", f"group={ids[LINE1]}", "assignee=none"):
        expect(agent).to_have_url(re.compile(wanted))
    rows = agent.locator("#list tbody tr")
    expect(rows).to_have_count(50)  # a page of them
    expect(agent.locator("#list .pager a")).to_be_visible()  # and more beyond
    expect(agent.locator("#list")).not_to_contain_text("ИНН Центра")  # routed to line 2

    agent.locator("#view-name").fill("Регистрация: без исполнителя")
    agent.locator("#view-save").click()
    expect(agent).to_have_url(re.compile(r"/desk\?view="))
    count = agent.locator("#queues a", has_text="Регистрация: без исполнителя").locator(".count")
    expect(count).to_have_text(re.compile(rf"^{BULK}$|^1\s?200$"))

    agent.locator("#pick-all").check()
    expect(agent.locator("#list input[name=pick]:checked")).to_have_count(50)
    picked = agent.locator("#list input[name=pick]").first.get_attribute("value") or ""
    agent.locator("#bulk-action").select_option("assign")
    agent.locator("#bulk-assignee").select_option(label="Иван Волков")
    agent.locator("#bulk-apply").click()
    expect(agent.locator("#bulk-outcomes tr.done")).to_have_count(50)
    expect(agent.locator("#bulk-outcomes tr.refused")).to_have_count(0)
    expect(agent.locator("#bulk-summary")).to_have_text("Выполнено для 50 из 50 обращений.")
    agent.goto(f"/t/{picked.split(':')[0]}")  # recorded on the request itself
    assigned = agent.locator("#timeline li.entry[data-event='Assigned']")
    expect(assigned.filter(has_text="Ольга Кузнецова")).to_contain_text("исполнителя: Иван Волков")
    agent.goto("/desk")
    expect(count).to_have_text(re.compile(rf"^{BULK - 50}$|^1\s?150$"))

    # two requests about the same organisation: the later merged into the earlier
    agent.locator("#queues a", has_text="Регистрация: без исполнителя").click()
    first, second = (agent.locator("#list tbody tr").nth(n) for n in (0, 1))
    into = (first.locator("td.num").first.text_content() or "").strip()
    second.locator("a.subject").click()
    agent.locator("#tab-more").click()
    agent.locator("#merge-other").fill(into)
    agent.locator("#merge button[type=submit]").click()
    expect(agent.locator("#merged-into")).to_contain_text(f"№{into}")
    agent.locator("#merged-into a").click()
    expect(agent.locator("#timeline li.entry[data-event='MergedFrom']")).to_be_visible()


def publish_alone(method: Page) -> None:
    """The desk's only methodologist writes an article and publishes it without a reviewer."""
    method.goto("/kb/new?kind=article")
    method.locator("#title_ru").fill("Ошибка проверки ИНН при регистрации организации")
    method.locator("#title_en").fill("INN check error when registering an organisation")
    method.locator("#body_ru").fill("Проверьте ИНН по выписке ЕГРЮЛ: в номере опечатка.")
    method.locator("#body_en").fill("Check the INN against the register: it has a typo.")
    method.locator("#editor button.primary").click()
    expect(method).to_have_url(re.compile(r"/kb/[0-9a-f-]{36}"))
    method.once("dialog", lambda d: d.accept())  # "publish without a second reviewer?"
    method.get_by_role("button", name="Опубликовать без рецензии").click()
    expect(method.locator(".kb-journal")).to_contain_text("без второго рецензента")


def read_the_figures(analyst: Page) -> tuple[dict[str, Any], dict[str, Any]]:
    """The analyst issues himself a personal token on his account page and reads the analytics
    with it through the JSON API: by category, and by channel (labelled, keys kept)."""
    analyst.locator("header a.who").click()
    expect(analyst.locator("h1")).to_have_text("Моя учётная запись")
    analyst.locator("#token-name").fill("ежемесячный отчёт")
    analyst.get_by_role("button", name="Выпустить токен").click()
    expect(analyst.locator("#token-issued")).to_contain_text("показан только сейчас")
    secret = analyst.locator("#token-secret").input_value()
    bearer = {"Authorization": f"Bearer {secret}", "Accept-Language": "ru"}
    with httpx.Client(base_url=analyst.url.split("/me")[0], timeout=30.0) as api:
        figures = []
        for by in ("category", "channel"):
            r = api.get(f"/api/v1/analytics?by={by}", headers=bearer)
            assert r.status_code == 200, r.text
            figures.append(r.json())
    return figures[0], figures[1]


# -- the story -----------------------------------------------------------------------------------
def test_a_desk_set_up_from_nothing_in_the_ui_serves_agents_a_methodologist_and_an_analyst(
    desk: EmptyDesk, browsers: Browsers
) -> None:
    started = time.monotonic()
    with serve(desk.env, desk.root / "logs") as desk.server:
        admin = browsers.sign_in(ADMIN, ADMIN_PASSWORD)
        ids = set_up_the_desk(admin)
        requester = browsers.sign_in("p.zakupkin", path="/my")
        first = file_through_the_form(requester)
        browsers.close()
    print(f"set up in {time.monotonic() - started:.1f} s", file=sys.stderr)
    file_in_bulk(desk.settings, ids)
    print(f"bulk in {time.monotonic() - started:.1f} s", file=sys.stderr)
    with serve({**desk.env, "SUZ_READY_MAX_LAG": "0"}, desk.root / "logs") as desk.server:
        caught_up(desk.url)
        print(f"views caught up in {time.monotonic() - started:.1f} s", file=sys.stderr)
        expert = browsers.sign_in("s.orlov", path=f"/t/{first}")  # routed by the rule
        routed = expert.locator("#timeline li.entry[data-event='Assigned']").first
        expect(routed).to_contain_text(f"направил(а) обращение в группу «{LINE2}»")
        expect(routed).to_contain_text("Регистрация: ИНН Центра закупок — эксперты")
        expect(expert.locator("#ticket")).to_contain_text("Высокий")
        expect(expert.locator("#ticket")).to_contain_text(ORG_INN)
        agent = browsers.sign_in("o.kuznetsova", path="/desk")
        work_the_desk(agent, ids)
        publish_alone(browsers.sign_in("m.lebedeva", path="/kb"))
        figures, channels = read_the_figures(browsers.sign_in("a.fedorov", path="/analytics"))
        print(f"done in {time.monotonic() - started:.1f} s", file=sys.stderr)
        browsers.close()  # before the server stops: their pages would poll a closed port
    row = next(r for r in figures["rows"] if r["key"] == ids["category"])
    assert (row["label"], row["filed"]) == (CATEGORY, BULK + 1)
    assert figures["total"]["filed"] == BULK + 1
    assert sum(b["count"] for b in figures["backlog"]) == BULK  # one merged: closed
    labels = {r["key"]: (r["label"], r["filed"]) for r in channels["rows"]}
    assert labels == {"cabinet": ("Личный кабинет", BULK - BULK // 4 + 1),
                      "public_form": ("Публичная форма", BULK // 4)}  # fmt: skip
