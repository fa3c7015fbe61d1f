"""What the edge says about itself: JSON only as application/json, a CSP that also fixes the base
and where forms go, HSTS over https, and metrics only for the holder of their token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, LOGINS, PASSWORD, Site, TestClient, open_site

pytestmark = LEAKS
TOKEN = "scraper-token"


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(replace(settings, metrics_token=TOKEN), monkeypatch) as s:
        yield s


def test_the_body_is_read_only_when_its_media_type_is_application_json(site: Site) -> None:
    client = site.new_client()
    sign_in = b'{"login": "%s", "password": "%s"}' % (LOGINS["agent"].encode(), PASSWORD.encode())
    for refused in ("text/plain; application/json", "text/plain;x=application/json",
                    "application/jsonp", "application/json-seq", ""):  # fmt: skip
        r = client.post("/api/v1/session", content=sign_in, headers={"Content-Type": refused})
        assert r.status_code == 415, refused
        assert r.json()["error"] == {"code": "unsupported_media_type", "fields": [],
                                     "message": "Send the body as application/json."}  # fmt: skip
    for accepted in ("application/json", "Application/JSON; charset=utf-8",
                     " application/json ;charset=UTF-8"):  # fmt: skip
        r = site.new_client().post("/api/v1/session", content=sign_in,
                                   headers={"Content-Type": accepted})  # fmt: skip
        assert r.status_code == 200, (accepted, r.text)


def test_the_csp_forbids_other_bases_and_form_targets_and_https_gets_hsts(site: Site) -> None:
    plain = site.new_client().get("/login")
    csp = plain.headers["content-security-policy"]
    assert csp == (
        "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none';"
        " base-uri 'none'; form-action 'self'"
    )
    assert "strict-transport-security" not in plain.headers, "never over plain http"
    secure = TestClient(site.client.app, base_url="https://testserver").get("/login")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    assert secure.headers["content-security-policy"] == csp


def test_metrics_need_their_token(site: Site) -> None:
    client = site.new_client()
    assert client.get("/metrics").status_code == 401
    r = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    agent = site.sign_in("agent")  # a session is no key to the metrics, even an admin's
    assert agent.client.get("/metrics").status_code == 401
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and "suz_log_position " in r.text


def test_metrics_are_off_without_a_token(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_site(settings, monkeypatch) as site:
        client = site.new_client()
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
