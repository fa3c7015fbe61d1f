"""Accounts: a password change ends every session; a disabled account loses sessions and tokens;
personal API tokens; administrators set up organisations, groups, categories and accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from domain.settings import Settings
from tests.web.api_description import Answers, call
from tests.web.desk_site import LEAKS, ORIGIN, PASSWORD, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_changing_the_password_ends_every_other_session(site: Site) -> None:
    laptop, phone = site.sign_in("agent"), site.sign_in("agent")
    wrong = laptop.post("/api/v1/me/password", {"current": "nope", "new": "a much longer one"})
    assert (wrong.status_code, wrong.json()["error"]["fields"]) == (422, ["current"])
    short = laptop.post("/api/v1/me/password", {"current": PASSWORD, "new": "short"})
    assert short.status_code == 422
    r = laptop.post("/api/v1/me/password", {"current": PASSWORD, "new": "a much longer one"})
    assert r.status_code == 200  # this session stays (tests/web/test_password_change.py)
    assert phone.get("/api/v1/me").status_code == 401
    fresh = site.new_client()
    old = fresh.post("/api/v1/session", json={"login": "agent1", "password": PASSWORD})
    assert old.status_code == 401
    new = fresh.post("/api/v1/session", json={"login": "agent1", "password": "a much longer one"})
    assert new.status_code == 200


def test_api_tokens_work_until_revoked_and_die_with_a_disabled_account(site: Site) -> None:
    agent, admin = site.sign_in("agent"), site.sign_in("admin")
    issued = agent.post("/api/v1/me/tokens", {"name": "integration"})
    assert issued.status_code == 201
    secret, token_id = issued.json()["secret"], issued.json()["id"]
    bearer = {"Authorization": f"Bearer {secret}"}
    client = site.new_client()
    assert client.get("/api/v1/me", headers=bearer).json()["id"] == str(site.world.agent.id)
    listed = agent.get("/api/v1/me/tokens").json()
    assert [t["name"] for t in listed] == ["integration"] and "secret" not in listed[0]
    second = agent.post("/api/v1/me/tokens", {"name": "second"}).json()["secret"]
    assert (
        agent.client.delete(f"/api/v1/me/tokens/{token_id}", headers=agent.headers()).status_code
        == 204
    )
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    r = admin.post(f"/api/v1/accounts/{site.world.agent.id}/disable")
    assert r.status_code == 200, r.text
    assert agent.get("/api/v1/me").status_code == 401
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    )
    again = site.new_client().post(
        "/api/v1/session", json={"login": "agent1", "password": PASSWORD}
    )
    assert again.status_code == 401


def test_an_administrator_sets_up_the_desk_and_others_may_not(site: Site) -> None:
    admin, agent = site.sign_in("admin"), site.sign_in("agent")
    org = admin.post("/api/v1/organisations", {"name": "ГБУ Школа", "inn": "7707083893"})
    assert (org.status_code, org.json()["error"]["fields"]) == (422, ["inn"])  # INN taken
    bad = admin.post("/api/v1/organisations", {"name": "ГБУ Школа", "inn": "1234567890"})
    assert (bad.status_code, bad.json()["error"]["fields"]) == (422, ["inn"])
    group = admin.post("/api/v1/groups", {"name": "Line 2 bis", "kind": "line2"})
    assert group.status_code == 201
    form = [
        {
            "key": "notice",
            "label_ru": "Извещение",
            "label_en": "Notice",
            "type": "registry_number",
            "required": True,
        }
    ]
    cat = admin.post(
        "/api/v1/categories",
        {
            "name_ru": "Извещения",
            "name_en": "Notices",
            "form": form,
            "default_group": group.json()["id"],
        },
    )
    assert cat.status_code == 201, cat.text
    broken = admin.post(
        "/api/v1/categories", {"name_ru": "x", "name_en": "x", "form": [{"key": "a"}]}
    )
    assert (broken.status_code, broken.json()["error"]["fields"]) == (422, ["form[0]"])
    account = admin.post(
        "/api/v1/accounts",
        {
            "login": "newbie",
            "display_name": "Новичок",
            "roles": ["agent"],
            "password": "long enough pw",
        },
    )
    assert account.status_code == 201, account.text
    signed = site.new_client().post(
        "/api/v1/session", json={"login": "newbie", "password": "long enough pw"}
    )
    assert signed.status_code == 200
    assert agent.post("/api/v1/groups", {"name": "x", "kind": "line1"}).status_code == 403
    assert agent.post(f"/api/v1/accounts/{site.world.admin.id}/disable").status_code == 403
    assert (
        site.new_client()
        .post("/api/v1/groups", json={"name": "x", "kind": "line1"}, headers={"Origin": ORIGIN})
        .status_code
        == 403
    )


def test_an_administrator_changes_groups_roles_and_a_category_form(site: Site) -> None:
    admin, requester = site.sign_in("admin"), site.sign_in("requester")
    agent = site.world.agent.id
    joined = admin.post(f"/api/v1/accounts/{agent}/groups/{site.world.line2}")
    assert joined.status_code == 200, joined.text
    me = site.sign_in("agent").get("/api/v1/me").json()
    assert set(me["groups"]) == {str(site.world.line1), str(site.world.line2)}
    left = admin.client.delete(
        f"/api/v1/accounts/{agent}/groups/{site.world.line1}", headers=admin.headers()
    )
    assert left.status_code == 200
    roles = admin.client.put(
        f"/api/v1/accounts/{agent}/roles",
        json={"roles": ["agent", "analyst"]},
        headers=admin.headers(),
    )
    assert roles.status_code == 200, roles.text
    me = site.sign_in("agent").get("/api/v1/me").json()
    assert (me["roles"], me["groups"]) == (["agent", "analyst"], [str(site.world.line2)])
    bad_role = admin.client.put(
        f"/api/v1/accounts/{agent}/roles", json={"roles": ["boss"]}, headers=admin.headers()
    )
    assert (bad_role.status_code, bad_role.json()["error"]["fields"]) == (422, ["roles"])
    form = [
        {"key": "contract_number", "label_ru": "Номер", "label_en": "Contract number",
         "type": "registry_number", "required": True},
        {"key": "customer_inn", "label_ru": "ИНН заказчика", "label_en": "Customer INN",
         "type": "text", "required": True},
    ]  # fmt: skip
    changed = admin.client.put(
        f"/api/v1/categories/{site.world.contracts}/form", json={"form": form},
        headers=admin.headers(),
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    refused = requester.post("/api/v1/tickets", site.filing())
    assert (refused.status_code, refused.json()["error"]["fields"]) == (422, ["customer_inn"])
    assert (
        requester.post("/api/v1/tickets", site.filing(customer_inn="7707083893")).status_code == 201
    )
    assert requester.client.put(
        f"/api/v1/categories/{site.world.contracts}/form", json={"form": []},
        headers=requester.headers(),
    ).status_code == 403  # fmt: skip


def test_an_administrator_appoints_a_groups_lead(site: Site) -> None:
    admin, agent = site.sign_in("admin"), site.sign_in("agent")
    path = f"/api/v1/groups/{site.world.line1}/lead"

    def put(who: Any, body: dict[str, Any]) -> Any:
        return who.client.put(path, json=body, headers=who.headers())

    lead = {"lead_id": str(site.world.agent.id)}
    assert put(agent, lead).status_code == 403
    assert put(admin, {}).json()["error"]["fields"] == ["lead_id"]
    wrong = put(admin, {"lead_id": str(site.world.engineer.id)})  # an agent of line 2
    assert (wrong.status_code, wrong.json()["error"]["fields"]) == (422, ["lead_id"])
    assert put(admin, {"lead_id": "boss"}).status_code == 422
    done = put(admin, lead)
    assert done.status_code == 200, done.text
    assert put(admin, lead).status_code == 409  # already the lead
    assert put(admin, {"lead_id": None}).status_code == 200


def test_an_administrator_edits_an_organisation_against_the_version_seen(site: Site) -> None:
    """PUT /api/v1/organisations/{id}: name, KPP and addresses as a whole, against the version
    the caller saw; a stale one is 409 with the current version, a wrong KPP names the field,
    others may not (refused before the body is read), and the INN stays."""
    admin, agent = site.sign_in("admin"), site.sign_in("agent")
    check = Answers()
    org = check(call(admin, "POST", "/api/v1/organisations", {"name": "ГБУ Школа",
                                                              "inn": "7736207543"}),
                "post", "/api/v1/organisations", 201)  # fmt: skip
    path, spec = f"/api/v1/organisations/{org['id']}", "/api/v1/organisations/{organisation_id}"
    body = {"name": "ГБУ «Школа № 1»", "kpp": "770701001", "legal_address": "Москва, ул. 1",
            "postal_address": "Москва, а/я 1"}  # fmt: skip
    assert call(agent, "PUT", path, body, version=org["version"]).status_code == 403
    assert call(agent, "PUT", path, "not json").status_code == 403  # refused before parsing
    missing = call(admin, "PUT", path, body)
    assert (missing.status_code, missing.json()["error"]["fields"]) == (422, ["version"])
    bad = call(admin, "PUT", path, {**body, "kpp": "77070100"}, version=org["version"])
    assert (bad.status_code, bad.json()["error"]["fields"]) == (422, ["kpp"])
    done = check(call(admin, "PUT", path, body, version=org["version"]), "put", spec, 200)
    stale = call(admin, "PUT", path, {**body, "name": "Другое"}, version=org["version"])
    assert stale.status_code == 409 and stale.json()["error"]["current_version"] == done["version"]
    assert call(admin, "PUT", "/api/v1/organisations/nope", body, version=1).status_code == 404
    stored = site.world.desk.repository.get(UUID(org["id"]))
    assert (stored.name, stored.inn, stored.kpp, stored.legal_address, stored.postal_address) == (
        "ГБУ «Школа № 1»",
        "7736207543",
        "770701001",
        "Москва, ул. 1",
        "Москва, а/я 1",
    )


def test_a_category_form_changed_through_the_api_carries_its_help_texts(site: Site) -> None:
    admin = site.sign_in("admin")
    path = f"/api/v1/categories/{site.world.contracts}/form"
    form = [{"key": "contract_number", "label_ru": "Номер", "label_en": "Contract number",
             "type": "registry_number", "required": True}]  # fmt: skip
    helped = {"contract_number": {"text_ru": "19 или 23 цифры из реестра",
                                  "text_en": "19 or 23 digits from the registry"}}  # fmt: skip

    def shown(written: Any) -> dict[str, Any]:  # read after the write (the view may lag)
        listed = admin.get(f"/api/v1/categories?after={written.json()['position']}").json()
        found = next(c for c in listed if c["id"] == str(site.world.contracts))
        help_texts: dict[str, Any] = found["help"]
        return help_texts

    unknown = admin.client.put(path, json={"form": form, "help": {"inn": {"text_ru": "x"}}},
                               headers=admin.headers())  # fmt: skip
    assert (unknown.status_code, unknown.json()["error"]["fields"]) == (422, ["inn"])
    wrong = admin.client.put(path, json={"form": form, "help": ["x"]}, headers=admin.headers())
    assert (wrong.status_code, wrong.json()["error"]["fields"]) == (422, ["help"])
    r = admin.client.put(path, json={"form": form, "help": helped}, headers=admin.headers())
    assert r.status_code == 200, r.text
    assert shown(r) == helped
    r = admin.client.put(path, json={"form": form}, headers=admin.headers())  # left as they are
    assert r.status_code == 200 and shown(r) == helped
    r = admin.client.put(path, json={"form": form, "help": {}}, headers=admin.headers())
    assert r.status_code == 200 and shown(r) == {}
