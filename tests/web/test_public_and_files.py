"""An anonymous visitor files from the public form and follows the request by its private link;
files are attached, sniffed, and served only to those who may see them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site

pytestmark = LEAKS
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_a_visitor_files_and_follows_by_private_link(site: Site) -> None:
    visitor = site.new_client()
    head = visitor.get("/health").json()["log_position"]
    categories = visitor.get(f"/api/v1/categories?after={head}").json()
    contracts = next(c for c in categories if c["id"] == str(site.world.contracts))
    assert [f["key"] for f in contracts["form"] if f["required"]] == ["contract_number"]
    body = {**site.filing(), "contact_name": "Анна", "contact_email": "anna@example.org"}
    r = visitor.post("/api/v1/tickets", json=body, headers={"Origin": ORIGIN})
    assert r.status_code == 201, r.text
    filed = r.json()
    link = filed["private_link"]
    assert link == f"/api/v1/tickets/{filed['id']}?key={filed['key']}"
    seen = visitor.get(f"{link}&after={filed['position']}")
    assert seen.status_code == 200
    assert seen.json()["ticket"]["contact_name"] == "Анна"
    wrong = visitor.get(f"/api/v1/tickets/{filed['id']}?key=guess")
    assert wrong.status_code == 404
    nokey = visitor.get(f"/api/v1/tickets/{filed['id']}")
    assert nokey.status_code == 404
    answer = visitor.post(f"/api/v1/tickets/{filed['id']}/messages",
                          json={"body": "Дополняю: ошибка 42", "version": filed["version"]},
                          headers={"X-Ticket-Key": filed["key"]})  # fmt: skip
    assert answer.status_code == 200, answer.text
    note = visitor.post(f"/api/v1/tickets/{filed['id']}/notes",
                        json={"body": "x", "version": answer.json()["version"]},
                        headers={"X-Ticket-Key": filed["key"]})  # fmt: skip
    assert note.status_code == 403


def test_files_are_sniffed_and_served_only_to_who_may_see_them(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    stranger = site.sign_in("stranger")
    filed = site.file(requester)
    r = requester.client.post(
        f"/api/v1/tickets/{filed['id']}/attachments",
        files={"file": ("../../screen shot.png", PNG, "text/html")},
        data={"version": str(filed["version"])},
        headers=requester.headers(),
    )
    assert r.status_code == 201, r.text
    up = r.json()
    assert (up["media_type"], up["name"], up["size"]) == ("image/png", "screen shot.png", len(PNG))
    html = agent.client.post(
        f"/api/v1/tickets/{filed['id']}/attachments",
        files={"file": ("evil.png", b"<script>alert(1)</script>", "image/png")},
        data={"version": str(up["version"]), "internal": "1"},
        headers=agent.headers(),
    )
    assert html.status_code == 201, html.text
    assert html.json()["media_type"] == "text/plain"
    url = f"/api/v1/tickets/{filed['id']}/attachments/{up['sha256']}"
    got = requester.client.get(url + f"?inline=1&after={html.json()['position']}")
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("inline")
    assert got.headers["x-content-type-options"] == "nosniff"
    internal = f"/api/v1/tickets/{filed['id']}/attachments/{html.json()['sha256']}"
    assert requester.client.get(internal).status_code == 404
    staff_copy = agent.client.get(internal + "?inline=1")
    assert staff_copy.status_code == 200
    assert staff_copy.headers["content-disposition"].startswith("attachment")
    assert stranger.client.get(url).status_code == 404
    stale = requester.client.post(
        f"/api/v1/tickets/{filed['id']}/attachments",
        files={"file": ("a.txt", b"hello", "text/plain")},
        data={"version": str(filed["version"])},
        headers=requester.headers(),
    )
    assert stale.status_code == 409


def test_the_public_form_is_rate_limited_per_address(site: Site) -> None:
    visitor = site.new_client()
    body = {**site.filing(), "contact_name": "Анна", "contact_email": "anna@example.org"}
    codes = [
        visitor.post("/api/v1/tickets", json=body, headers={"Origin": ORIGIN}).status_code
        for _ in range(11)
    ]
    assert codes == [201] * 10 + [429]
    refused = visitor.post("/api/v1/tickets", json=body, headers={"Origin": ORIGIN})
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) > 0
    signed = site.sign_in("requester")  # a signed-in requester is not limited by the form's rule
    assert signed.post("/api/v1/tickets", site.filing()).status_code == 201
