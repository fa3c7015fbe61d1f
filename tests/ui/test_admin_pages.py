"""The administrators' set-up pages: routing rules and SLA policies saved from forms."""

from __future__ import annotations

from collections.abc import Iterator

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
