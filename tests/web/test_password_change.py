"""A changed password shuts out whoever knew the old one: the account's API tokens and other
sessions end; a self-change keeps the session that made it (and says so)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, PASSWORD, Person, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def token(person: Person) -> dict[str, str]:
    r = person.post("/api/v1/me/tokens", {"name": "integration"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['secret']}"}


def test_changing_ones_password_ends_tokens_and_other_sessions_but_not_this_one(
    site: Site,
) -> None:
    laptop, phone = site.sign_in("agent"), site.sign_in("agent")
    bearer = token(phone)
    r = laptop.post("/api/v1/me/password", {"current": PASSWORD, "new": "a much longer one"})
    assert r.status_code == 200, r.text
    assert r.json()["ended"] == 2  # the phone's session and the token
    assert r.json()["message"] == ("The password was changed. Your other sessions and your API "
                                   "tokens were ended; this session stays signed in.")  # fmt: skip
    assert laptop.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401
    assert site.new_client().get("/api/v1/me", headers=bearer).status_code == 401
    old = site.new_client().post("/api/v1/session", json={"login": "agent1", "password": PASSWORD})
    assert old.status_code == 401
    new = site.new_client().post(
        "/api/v1/session", json={"login": "agent1", "password": "a much longer one"}
    )
    assert new.status_code == 200


def test_an_administrators_reset_ends_every_session_and_token_of_the_account(site: Site) -> None:
    admin, agent = site.sign_in("admin"), site.sign_in("agent")
    bearer = token(agent)
    path = f"/api/v1/accounts/{site.world.agent.id}/password"
    mine = agent.client.put(path, json={"password": "my own new one"}, headers=agent.headers())
    assert (mine.status_code, mine.json()["error"]["code"]) == (403, "forbidden")
    short = admin.client.put(path, json={"password": "short"}, headers=admin.headers())
    assert (short.status_code, short.json()["error"]["fields"]) == (422, ["password"])
    unknown = admin.client.put(
        f"/api/v1/accounts/{site.world.org}/password",
        json={"password": "long enough pw"},
        headers=admin.headers(),
    )
    assert unknown.status_code == 404
    assert agent.get("/api/v1/me").status_code == 200  # nothing changed so far
    r = admin.client.put(path, json={"password": "set by the admin"}, headers=admin.headers())
    assert r.status_code == 200, r.text
    assert r.json()["ended"] == 2
    assert agent.get("/api/v1/me").status_code == 401
    assert site.new_client().get("/api/v1/me", headers=bearer).status_code == 401
    assert admin.get("/api/v1/me").status_code == 200
    new = site.new_client().post(
        "/api/v1/session", json={"login": "agent1", "password": "set by the admin"}
    )
    assert new.status_code == 200
