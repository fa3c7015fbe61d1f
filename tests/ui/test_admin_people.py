"""The administrators' account and group pages, on both stores: each change is a set-up command
(an event of the account or group), refused to other roles before the form is read, refused
with the message at the field for bad input (nothing written), and refused with 409 when the
form showed an older version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.people import Account, Group, Role
from domain.settings import Settings
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, ORIGIN, PASSWORD, Site, open_site

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


def head(site: Site) -> int:
    return int(site.services.desk.recorder.max_notification_id() or 0)


def account(site: Site, login: str) -> Account:
    found = site.services.desk.account_by_login(login)
    assert found is not None
    return found


NEW = {"login": "k.orlova", "display_name": "Ксения Орлова", "email": "orlova@example.org",
       "roles": ["agent"], "password": "длинный пароль 1"}  # fmt: skip


def test_the_set_up_pages_are_for_administrators_only(site: Site) -> None:
    agent, requester = Browser(site, "agent"), Browser(site, "requester")
    someone = str(site.world.agent.id)
    for who in (agent, requester):
        for path in ("/admin/accounts", "/admin/accounts/new", f"/admin/accounts/{someone}",
                     "/admin/groups", f"/admin/groups/{site.world.line1}", "/admin/categories",
                     f"/admin/categories/{site.world.contracts}", "/admin/organisations",
                     f"/admin/organisations/{site.world.org}"):  # fmt: skip
            assert who.get(path).status_code == 403, path
    before = head(site)
    line1 = f"/admin/groups/{site.world.line1}"
    for path, form in (
        ("/admin/accounts", NEW),
        (f"/admin/accounts/{someone}", {"roles": ["admin"], "version": "1"}),
        (f"/admin/accounts/{someone}/disable", {}),
        (f"/admin/accounts/{someone}/password", {"password": "чужой пароль 123"}),
        ("/admin/groups", {"name": "Своя", "kind": "line1"}),
        (f"{line1}/lead", {"lead": someone, "version": "1"}),
        (f"{line1}/members", {"account": someone}),
        (f"{line1}/members/{someone}/remove", {}),
        ("/admin/organisations", {"name": "ООО Ромашка", "inn": "7707083808"}),
        (f"/admin/organisations/{site.world.org}", {"name": "Своя", "version": "1"}),
    ):
        assert post(agent, path, form).status_code == 403, path
    assert head(site) == before, "nothing written"
    anonymous = site.new_client()
    r = anonymous.get("/admin/accounts", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_form_without_the_csrf_token_is_refused(site: Site) -> None:
    admin = Browser(site, "admin")
    before = head(site)
    r = admin.client.post("/admin/groups", data={"name": "Линия 4", "kind": "line3"},
                          headers={"Origin": ORIGIN})  # fmt: skip
    assert r.status_code == 403
    assert head(site) == before


def test_an_administrator_registers_an_account_who_then_signs_in(site: Site) -> None:
    admin = Browser(site, "admin", lang="ru")
    assert "Зарегистрировать" in admin.get("/admin/accounts/new").text
    refused = post(admin, "/admin/accounts", {**NEW, "password": "short"})
    assert refused.status_code == 422
    assert 'id="e-password"' in refused.text and 'value="k.orlova"' in refused.text
    assert post(admin, "/admin/accounts", {**NEW, "login": "к орлова"}).status_code == 422
    assert post(admin, "/admin/accounts", {**NEW, "roles": []}).status_code == 422
    assert post(admin, "/admin/accounts", {**NEW, "roles": ["king"]}).status_code == 422
    assert post(admin, "/admin/accounts", {**NEW, "groups": ["nope"]}).status_code == 422
    requester = post(admin, "/admin/accounts", {**NEW, "roles": ["requester"]})
    assert requester.status_code == 422 and 'id="e-organisation"' in requester.text
    taken = post(admin, "/admin/accounts", {**NEW, "login": "agent1"})
    assert taken.status_code == 422 and "Этот логин занят." in taken.text
    assert site.services.desk.account_by_login("k.orlova") is None, "nothing registered"

    r = post(admin, "/admin/accounts", {**NEW, "groups": [str(site.world.line1)]})
    assert r.status_code == 303, r.text
    made = account(site, "k.orlova")
    assert made.roles == (Role.AGENT,) and made.group_ids == (site.world.line1,)
    page = admin.get(r.headers["location"]).text
    assert "Ксения Орлова" in page and "Учётная запись зарегистрирована." in page
    assert "Пароль изменён" in page and "Вступил(а) в группу" in page, "the history lists events"

    listed = admin.get("/admin/accounts?q=орлов").text
    assert "k.orlova" in listed and "agent1" not in listed
    assert "k.orlova" in admin.get("/admin/accounts?q=ORLOVA@EXAMPLE").text
    assert "k.orlova" not in admin.get("/admin/accounts?role=admin").text
    fragment = admin.client.get("/admin/accounts?q=k.orl&state=enabled",
                                headers={"HX-Request": "true"}).text  # fmt: skip
    assert fragment.startswith('<div id="accounts-found"') and "k.orlova" in fragment

    newcomer = site.new_client()
    signed = newcomer.post("/login", data={"login": "k.orlova", "password": NEW["password"]},
                           headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303


def test_roles_and_groups_are_edited_against_the_version_shown(site: Site) -> None:
    admin = Browser(site, "admin")
    agent = account(site, "agent1")
    path = f"/admin/accounts/{agent.id}"
    page = admin.get(path).text
    assert f'name="version" value="{agent.version}"' in page
    form = {"roles": ["agent", "methodologist"], "groups": [str(site.world.line2)],
            "version": str(agent.version)}  # fmt: skip
    assert post(admin, path, {**form, "roles": []}).status_code == 422
    assert post(admin, path, {**form, "groups": ["x"]}).status_code == 422
    assert account(site, "agent1").version == agent.version, "nothing written"
    r = post(admin, path, form)
    assert r.status_code == 303
    edited = account(site, "agent1")
    assert set(edited.roles) == {Role.AGENT, Role.METHODOLOGIST}
    assert edited.group_ids == (site.world.line2,)
    stale = post(admin, path, {**form, "roles": ["agent"]})  # the page still shows the old one
    assert stale.status_code == 409 and 'role="alert"' in stale.text
    assert "changed this meanwhile" in stale.text
    assert account(site, "agent1").version == edited.version, "a stale form writes nothing"
    me = account(site, "admin")
    own = post(admin, f"/admin/accounts/{me.id}", {"roles": ["agent"], "version": str(me.version)})
    assert own.status_code == 422 and Role.ADMIN in account(site, "admin").roles


def test_an_account_is_disabled_enabled_and_given_a_new_password(site: Site) -> None:
    admin, agent = Browser(site, "admin"), Browser(site, "agent")
    target = account(site, "agent1")
    path = f"/admin/accounts/{target.id}"
    assert agent.get("/desk").status_code == 200
    assert post(admin, f"{path}/disable", {}).status_code == 303
    assert account(site, "agent1").disabled
    assert agent.get("/desk").status_code in (303, 401), "the disabled account's session ended"
    assert post(admin, f"{path}/enable", {}).status_code == 303
    assert not account(site, "agent1").disabled
    assert post(admin, f"{path}/explode", {}).status_code == 404
    me = account(site, "admin")
    assert post(admin, f"/admin/accounts/{me.id}/disable", {}).status_code == 422
    assert not account(site, "admin").disabled

    short = post(admin, f"{path}/password", {"password": "123"})
    assert short.status_code == 422 and 'id="e-password"' in short.text
    assert post(admin, f"{path}/password", {"password": "новый пароль агента"}).status_code == 303
    client = site.new_client()
    old = client.post("/login", data={"login": "agent1", "password": PASSWORD},
                      headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
    assert old.status_code != 303, "the old password no longer signs in"
    new = client.post("/login", data={"login": "agent1", "password": "новый пароль агента"},
                      headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
    assert new.status_code == 303
    assert admin.get(f"/admin/accounts/{UUID(int=7)}").status_code == 404
    assert admin.get("/admin/accounts/not-an-id").status_code == 404


def test_an_administrator_forms_a_group_fills_it_and_appoints_its_lead(site: Site) -> None:
    admin = Browser(site, "admin")
    assert post(admin, "/admin/groups", {"name": "", "kind": "line1"}).status_code == 422
    wrong = post(admin, "/admin/groups", {"name": "Линия 1 (Казань)", "kind": "line9"})
    assert wrong.status_code == 422 and 'id="e-kind"' in wrong.text
    r = post(admin, "/admin/groups", {"name": "Линия 1 (Казань)", "kind": "line1"})
    assert r.status_code == 303
    group_path = r.headers["location"].split("?")[0]
    group_id = UUID(group_path.rsplit("/", 1)[1])
    assert "Линия 1 (Казань)" in admin.get("/admin/groups").text

    agent = account(site, "agent1")
    assert post(admin, f"{group_path}/members", {"account": "x"}).status_code == 422
    assert post(admin, f"{group_path}/members", {"account": str(UUID(int=5))}).status_code == 422
    assert post(admin, f"{group_path}/members", {"account": str(agent.id)}).status_code == 303
    assert group_id in account(site, "agent1").group_ids
    assert "agent1" in admin.get(group_path).text

    group = site.services.desk.repository.get(group_id)
    assert isinstance(group, Group)
    engineer = account(site, "engineer2")
    not_member = post(admin, f"{group_path}/lead",
                      {"lead": str(engineer.id), "version": str(group.version)})  # fmt: skip
    assert not_member.status_code == 422 and 'id="e-lead"' in not_member.text
    lead = {"lead": str(agent.id), "version": str(group.version)}
    assert post(admin, f"{group_path}/lead", lead).status_code == 303
    group = site.services.desk.repository.get(group_id)
    assert isinstance(group, Group) and group.lead_id == agent.id
    assert "Lead appointed: Agent1" in admin.get(group_path).text, "the group's history"
    stale = post(admin, f"{group_path}/lead", {**lead, "lead": ""})
    assert stale.status_code == 409
    assert post(admin, f"{group_path}/members/{agent.id}/remove", {}).status_code == 303
    assert group_id not in account(site, "agent1").group_ids


def test_an_administrator_registers_an_organisation_and_sees_its_members(site: Site) -> None:
    admin = Browser(site, "admin", lang="ru")
    assert "Организации" in admin.get("/admin/organisations").text
    wrong = post(admin, "/admin/organisations", {"name": "ООО Ромашка", "inn": "7707083809"})
    assert wrong.status_code == 422 and 'id="e-inn"' in wrong.text
    assert "не сходится контрольное число" in wrong.text and 'value="ООО Ромашка"' in wrong.text
    assert post(admin, "/admin/organisations", {"name": "", "inn": "7707083808"}).status_code == 422
    r = post(admin, "/admin/organisations", {"name": "ООО Ромашка", "inn": "7707083808"})
    assert r.status_code == 303
    assert "7707083808" in admin.get("/admin/organisations").text
    twice = post(admin, "/admin/organisations", {"name": "ООО Другая", "inn": "7707083808"})
    assert twice.status_code == 422 and "уже зарегистрирована" in twice.text
    members = admin.get(f"/admin/organisations/{site.world.org}").text
    assert "ivanova" in members and "agent1" not in members
    form = admin.get(f"/admin/accounts/new?organisation={site.world.org}").text
    assert f'<option value="{site.world.org}" selected' in form


def test_an_organisations_kpp_and_addresses_are_checked_kept_and_shown_to_staff(
    site: Site,
) -> None:
    admin = Browser(site, "admin", lang="ru")
    new = {"name": "ООО Ромашка", "inn": "7707083808", "kpp": "77070100",
           "legal_address": "101000, г. Москва, ул. Мира, д. 1"}  # fmt: skip
    before = head(site)
    wrong = post(admin, "/admin/organisations", new)
    assert wrong.status_code == 422 and 'id="e-kpp"' in wrong.text
    assert "КПП должен состоять из 9 символов" in wrong.text
    assert 'value="101000, г. Москва, ул. Мира, д. 1"' in wrong.text  # what was typed stays
    assert head(site) == before, "nothing written"
    r = post(admin, "/admin/organisations", {**new, "kpp": "7707 01 001"})
    assert r.status_code == 303
    listed = admin.get("/admin/organisations").text
    assert "770701001" in listed
    path = r.headers["location"].split("?")[0]
    shown = admin.get(path).text
    assert "101000, г. Москва, ул. Мира, д. 1" in shown and "Юридический адрес" in shown
    # the administrator edits the world's organisation: KPP and postal address, then a stale form
    org = f"/admin/organisations/{site.world.org}"
    saved = post(admin, org, {"name": "ГКУ Заказчик", "version": "1", "kpp": "770701001",
                              "postal_address": "а/я 15"})  # fmt: skip
    assert saved.status_code == 303, saved.text
    page = admin.get(org).text
    assert "а/я 15" in page and "КПП и адреса изменены" in page  # the facts and the history
    stale = post(admin, org, {"name": "ГКУ Заказчик", "version": "1", "kpp": "770701002"})
    assert stale.status_code == 409
    bad = post(admin, org, {"name": "ГКУ Заказчик", "version": "2", "kpp": "7707-01"})
    assert bad.status_code == 422 and 'id="e-kpp"' in bad.text
    organisation = site.services.desk.repository.get(site.world.org)
    assert (organisation.kpp, organisation.postal_address) == ("770701001", "а/я 15")
    # staff see the organisation's INN and KPP beside its name on a request
    filed = site.world.file()
    agent = Browser(site, "agent", lang="ru")
    side = agent.get(f"/t/{filed.id}?after={filed.position}").text
    assert "ИНН 7707083893 · КПП 770701001" in side


def test_a_requester_role_needs_an_organisation(site: Site) -> None:
    admin = Browser(site, "admin")
    agent = site.services.desk.account_by_login("agent1")
    assert agent is not None
    form = {"roles": ["requester"], "version": str(agent.version)}
    r = post(admin, f"/admin/accounts/{agent.id}", form)
    assert r.status_code == 422 and 'id="e-roles"' in r.text
