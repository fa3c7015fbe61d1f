"""The administrators' set-up pages: routing rules and SLA policies saved from forms; a mistake
is said at the input it concerns (aria-invalid, aria-describedby), in English and Russian, with
what was typed kept; only what concerns no input is said above the form."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from domain.settings import Settings
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def post(who: Browser, path: str, form: dict[str, str]) -> int:
    r = who.client.post(path, data={**form, "csrf_token": who.csrf}, headers={"Origin": ORIGIN})
    return int(r.status_code)


def test_an_administrator_saves_routing_rules_and_others_cannot(site: Site) -> None:
    admin, agent = Browser(site, "admin"), Browser(site, "agent")
    assert agent.get("/admin/routing").status_code == 403
    rule = {
        "version": "0",
        "name-0": "223 → L2",
        "group-0": str(site.world.line2),
        "category-0": str(site.world.contracts),
        "field_key-0": "law",
        "field_value-0": "223-FZ",
        "assignment-0": "none",
    }
    assert post(agent, "/admin/routing", rule) == 403
    assert post(admin, "/admin/routing", {**rule, "group-0": ""}) == 422
    assert post(admin, "/admin/routing", {**rule, "channel-0": "fax"}) == 422
    assert site.services.desk.routing().rules == ()
    assert post(admin, "/admin/routing", rule) == 200
    assert [r.name for r in site.services.desk.routing().rules] == ["223 → L2"]
    assert post(admin, "/admin/routing", rule) == 409, "saved against an old version"
    page = admin.get("/admin/routing").text
    assert 'value="223 → L2"' in page
    assert (
        post(
            admin,
            "/admin/routing",
            {
                **rule,
                "version": "2",
                "id-0": str(site.services.desk.routing().rules[0].id),
                "delete-0": "1",
            },
        )
        == 200
    )
    assert site.services.desk.routing().rules == ()


def test_an_administrator_saves_sla_policies(site: Site) -> None:
    admin = Browser(site, "admin")
    form = {
        "version": "0",
        "auto_close_days": "3",
        "ckey-0": "business",
        "cname-0": "Будни",
        "ctz-0": "Europe/Moscow",
        **{f"day-0-{d}": "09:00-18:00" for d in range(5)},
        "holidays-0": "2026-12-31",
        "pname-0": "Стандарт",
        "fr-0": "60",
        "res-0": "480",
        "warn-0": "75",
        "pcalendar-0": "business",
        "escalate-0": "1",
    }
    assert post(admin, "/admin/sla", {**form, "fr-0": "sixty"}) == 422
    refused = admin.client.post(
        "/admin/sla",
        data={**form, "fr-0": "sixty", "csrf_token": admin.csrf},
        headers={"Origin": ORIGIN},
    )
    assert 'value="sixty"' in refused.text and 'value="Стандарт"' in refused.text, "kept as typed"
    assert post(admin, "/admin/sla", {**form, "day-0-0": "9-18"}) == 422
    assert post(admin, "/admin/sla", {**form, "ctz-0": "Mars/Olympus"}) == 422
    assert site.services.desk.sla_setup().policies == ()
    assert post(admin, "/admin/sla", form) == 200
    setup = site.services.desk.sla_setup()
    assert setup.auto_close_days == 3 and setup.policies[0].warn_percent == 75
    assert [str(d) for d in setup.calendars[0].holidays] == ["2026-12-31"]


def test_trigger_rules_are_edited_by_administrators_and_analysts(site: Site) -> None:
    admin, agent = Browser(site, "admin"), Browser(site, "agent")
    assert agent.get("/admin/triggers").status_code == 403
    form = {
        "version": "0",
        "tname-0": "Подпись: всплеск",
        "tcategory-0": str(site.world.contracts),
        "twords-0": "подпись, сертификат",
        "tthreshold-0": "5",
        "twindow-0": "10",
        "tfactor-0": "0",
        "tgroups-0": str(site.world.line2),
    }
    assert post(agent, "/admin/triggers", form) == 403
    assert post(admin, "/admin/triggers", {**form, "tthreshold-0": "many"}) == 422
    assert post(admin, "/admin/triggers", {**form, "tgroups-0": "not-an-id"}) == 422
    assert post(admin, "/admin/triggers", {**form, "tfactor-0": "x"}) == 422
    assert site.services.desk.triggers().rules == ()
    assert post(admin, "/admin/triggers", form) == 200
    rule = site.services.desk.triggers().rules[0]
    assert rule.criteria.words == ("подпись", "сертификат") and rule.groups == (site.world.line2,)
    assert 'value="Подпись: всплеск"' in admin.get("/admin/triggers").text


# -- a refusal at the field it concerns ----------------------------------------------------------
def sent(who: Browser, path: str, form: dict[str, str]) -> httpx.Response:
    r: httpx.Response = who.client.post(
        path, data={**form, "csrf_token": who.csrf}, headers={"Origin": ORIGIN}
    )
    return r


def at(page: str, name: str, message: str) -> None:
    """`message` is said under the input `name`, which points to it; not above the form."""
    said = re.search(rf'<p class="field-error" id="e-{re.escape(name)}">([^<]*)</p>', page)
    assert said, f"no message at {name}"
    assert html.unescape(said.group(1)) == message
    attrs = re.search(rf'name="{re.escape(name)}"([^>]*)>', page)
    assert attrs, f"no input {name}"
    assert 'aria-invalid="true"' in attrs.group(1)
    assert f'aria-describedby="e-{name}"' in attrs.group(1)
    top = re.search(r'id="form-error">([^<]*)<', page)
    assert top is None or message not in html.unescape(top.group(1)), "said above the form"


def above(page: str) -> str:
    top = re.search(r'id="form-error">([^<]*)<', page)
    assert top, "no message above the form"
    return html.unescape(top.group(1))


def test_routing_mistakes_are_said_at_their_fields_and_the_typed_rows_kept(site: Site) -> None:
    admin = Browser(site, "admin")
    form = {
        "version": "0",
        "name-0": "",  # the empty row of the page: not a rule, not shown again
        "name-1": "223 → L2",
        "order-1": "007",
        "group-1": "",
        "category-1": str(site.world.contracts),
        "name-2": "Поле без значения",
        "group-2": str(site.world.line2),
        "field_key-2": "law",
        "name-3": "Без условий",
        "group-3": str(site.world.line2),
        "channel-3": "fax",
        "name-4": "Всё подряд",
        "group-4": str(site.world.line2),
    }
    r = sent(admin, "/admin/routing", form)
    assert r.status_code == 422
    page = r.text
    at(page, "group-0", "Choose the group the rule sends requests to.")  # row 1, shown first
    at(page, "field_key-1", "A field condition needs both the field and its value.")
    at(page, "field_value-1", "A field condition needs both the field and its value.")
    at(page, "channel-2", "Choose from the list.")
    at(page, "category-3", "A rule needs at least one condition.")
    assert above(page) == "Some fields have mistakes; see the marked fields."
    assert 'name="order-0" value="007"' in page and 'value="Поле без значения"' in page
    assert 'name="field_key-1" value="law"' in page, "kept as typed"
    assert site.services.desk.routing().rules == ()

    ru = Browser(site, "admin", "ru")
    page = sent(ru, "/admin/routing", form).text
    at(page, "group-0", "Выберите группу, в которую правило направляет обращения.")
    at(page, "category-3", "В правиле должно быть хотя бы одно условие.")
    assert above(page) == "В некоторых полях ошибки — они отмечены."


def test_a_stale_routing_form_is_refused_above_the_form(site: Site) -> None:
    admin = Browser(site, "admin", "ru")
    rule = {"version": "0", "name-0": "223 → L2", "group-0": str(site.world.line2),
            "category-0": str(site.world.contracts)}  # fmt: skip
    assert sent(admin, "/admin/routing", rule).status_code == 200
    stale = sent(admin, "/admin/routing", {**rule, "name-0": "Другое имя"})
    assert stale.status_code == 409
    assert above(stale.text).startswith("Пока вы редактировали, это изменил кто-то другой")
    assert 'class="field-error"' not in stale.text, "it concerns no field"
    assert 'value="Другое имя"' in stale.text


def test_sla_mistakes_are_said_at_their_fields_and_the_typed_form_kept(site: Site) -> None:
    admin = Browser(site, "admin")
    form = {
        "version": "0",
        "auto_close_days": "400",
        "ckey-0": "business",
        "cname-0": "Будни",
        "ctz-0": "Mars/Olympus",
        **{f"day-0-{d}": "09:00-18:00" for d in range(5)},
        "day-0-2": "9-18",
        "holidays-0": "2026-12-31 31.12.2026",
        "pname-0": "",  # the empty row of the page
        "pname-1": "Стандарт",
        "fr-1": "600",
        "res-1": "480",
        "warn-1": "75",
        "pcalendar-1": "business",
        "pname-2": "Срочно",
        "fr-2": "sixty",
        "res-2": "480",
        "warn-2": "150",
        "pcalendar-2": "business",
    }
    r = sent(admin, "/admin/sla", form)
    assert r.status_code == 422
    page = r.text
    targets = "Targets are minutes: 0 < first response <= resolution."
    at(page, "fr-0", targets)  # policy row 1, shown first
    at(page, "res-0", targets)
    at(page, "fr-1", "Write a whole number.")
    at(page, "day-0-2", "Write working hours like 09:00-18:00, not '9-18'.")
    at(page, "holidays-0", "Write dates as YYYY-MM-DD, separated by spaces.")
    at(page, "auto_close_days", "Close resolved requests after 0-365 working days.")
    assert above(page) == "Some fields have mistakes; see the marked fields."
    assert 'value="sixty"' in page and 'value="Срочно"' in page and 'value="400"' in page
    assert 'value="9-18"' in page and "31.12.2026" in page, "kept as typed"
    assert site.services.desk.sla_setup().policies == ()

    fixed = {**form, "day-0-2": "09:00-18:00", "holidays-0": "2026-12-31", "fr-1": "60",
             "fr-2": "30", "auto_close_days": "3"}  # fmt: skip
    page = sent(admin, "/admin/sla", fixed).text
    at(page, "ctz-0", "Unknown time zone.")  # each day checked alone, then the calendar
    at(page, "warn-1", "Warn between 1% and 99% of the target.")

    ru = Browser(site, "admin", "ru")
    page = sent(ru, "/admin/sla", form).text
    at(page, "day-0-2", "Укажите рабочие часы в виде 09:00-18:00, а не '9-18'.")
    at(page, "fr-0", "Сроки задаются в минутах: 0 < первый ответ <= решение.")
    at(page, "fr-1", "Введите целое число.")
    at(page, "auto_close_days",
       "Срок автоматического закрытия решённых обращений — от 0 до 365 рабочих дней.")  # fmt: skip
    assert above(page) == "В некоторых полях ошибки — они отмечены."
