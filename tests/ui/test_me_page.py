"""A person's own account page (/me), through the pages as a browser drives them: the password
the administrator told him is changed there (the current one checked, the new one twice; his
other sessions and his tokens end, this one stays), and an analyst issues himself an API token
there (its secret shown once) and revokes it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, LOGINS, ORIGIN, PASSWORD, Site, open_site

pytestmark = LEAKS
NEW = "новый пароль агента"


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


class Browser:
    """Signed in through the form; the CSRF token read from a page, as a form sends it."""

    def __init__(self, site: Site, who: str, password: str = PASSWORD) -> None:
        self.client = site.new_client()
        self.client.cookies.set("suz_lang", "ru")
        r = self.client.post("/login", data={"login": LOGINS[who], "password": password},
                             headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
        found = re.search(r'"X-CSRF-Token": "([^"]+)"', self.get("/me").text)
        assert found, "the page carries the CSRF token"
        self.csrf = found.group(1)

    def get(self, path: str) -> httpx.Response:
        r: httpx.Response = self.client.get(path, follow_redirects=False)
        return r

    def post(self, path: str, form: dict[str, str], csrf: bool = True) -> httpx.Response:
        data = {**form, **({"csrf_token": self.csrf} if csrf else {})}
        r: httpx.Response = self.client.post(path, data=data, headers={"Origin": ORIGIN},
                                             follow_redirects=False)  # fmt: skip
        return r


def test_an_agent_changes_the_password_he_was_given(site: Site) -> None:
    agent, laptop = Browser(site, "agent"), Browser(site, "agent")
    page = agent.get("/me").text
    assert 'id="me-login">agent1<' in page and "Специалист" in page and 'href="/me"' in page
    token = agent.post("/me/tokens", {"name": "скрипт"})
    secret = re.search(r'id="token-secret" value="([^"]+)"', token.text)
    assert token.status_code == 201 and secret, token.text

    def refused(form: dict[str, str], field: str, says: str) -> None:
        r = agent.post("/me/password", form)
        assert r.status_code == 422, r.text
        assert f'id="e-{field}"' in r.text and says in r.text, r.text

    refused({"current": "не тот", "new": NEW, "repeat": NEW}, "current",
            "Текущий пароль указан неверно")  # fmt: skip
    refused({"current": PASSWORD, "new": "короткий", "repeat": "короткий"}, "new",
            "не короче 10 символов")  # fmt: skip
    refused({"current": PASSWORD, "new": NEW, "repeat": NEW + "!"}, "repeat",
            "Новые пароли не совпадают")  # fmt: skip
    assert agent.post("/me/password", {"current": PASSWORD, "new": NEW, "repeat": NEW},
                      csrf=False).status_code == 403  # fmt: skip
    assert laptop.get("/me").status_code == 200  # nothing changed yet

    done = agent.post("/me/password", {"current": PASSWORD, "new": NEW, "repeat": NEW})
    assert (done.status_code, done.headers["location"]) == (303, "/me?done=password")
    assert "Пароль изменён" in agent.get("/me?done=password").text  # this session stays
    assert laptop.get("/me").status_code == 303  # the other one is signed out
    api = site.new_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret[1]}"})
    assert api.status_code == 401  # and the token ended
    Browser(site, "agent", NEW)  # the new password signs in


def test_an_analyst_issues_a_token_for_his_reports_and_revokes_it(site: Site) -> None:
    curator = Browser(site, "curator")
    assert 'id="no-tokens"' in curator.get("/me").text
    assert curator.post("/me/tokens", {"name": " "}).status_code == 422
    r = curator.post("/me/tokens", {"name": "ежемесячный отчёт"})
    assert r.status_code == 201 and "показан только сейчас" in r.text
    secret = re.search(r'id="token-secret" value="([^"]+)"', r.text)
    assert secret, r.text
    shown = curator.get("/me").text
    assert "ежемесячный отчёт" in shown and secret[1] not in shown  # the secret only once
    bearer = {"Authorization": f"Bearer {secret[1]}"}
    report = site.new_client().get("/api/v1/analytics?by=channel", headers=bearer)
    assert report.status_code == 200, report.text
    token_id = re.search(r'data-token="([0-9a-f-]{36})"', shown)
    assert token_id
    other = Browser(site, "agent")  # another's token is not his to revoke
    assert other.post(f"/me/tokens/{token_id[1]}/revoke", {}).status_code == 404
    done = curator.post(f"/me/tokens/{token_id[1]}/revoke", {})
    assert (done.status_code, done.headers["location"]) == (303, "/me?done=revoked")
    assert site.new_client().get("/api/v1/analytics", headers=bearer).status_code == 401


def test_a_visitor_is_asked_to_sign_in(site: Site) -> None:
    r = site.new_client().get("/me", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
