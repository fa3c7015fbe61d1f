"""Stored XSS: hostile text through every text field comes back only as JSON strings (never
as HTML), markdown is sanitised, and the one HTML page (/api/docs) escapes what it shows."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site

pytestmark = LEAKS
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "</textarea><iframe src=//evil>",
]


class Tags(HTMLParser):
    """The real elements and attributes of a piece of HTML (escaped text is not one)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_is_stored_verbatim_and_served_as_json(site: Site, payload: str) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filing = {**site.filing(), "subject": payload, "description": payload}
    r = requester.post("/api/v1/tickets", filing)
    assert r.status_code == 201, r.text
    ticket = r.json()
    replied = agent.command(ticket["id"], "replies", ticket["version"], body=payload).json()
    noted = agent.command(ticket["id"], "notes", replied["version"], body=payload).json()
    for who in (requester, agent):
        got = who.client.get(f"/api/v1/tickets/{ticket['id']}?after={noted['position']}")
        assert got.headers["content-type"] == "application/json"
        assert got.headers["x-content-type-options"] == "nosniff"
        data = got.json()
        assert data["ticket"]["subject"] == payload
        bodies = [e["data"].get("body") for e in data["timeline"] if "body" in e["data"]]
        assert payload in bodies
    anon = site.new_client().post(
        "/api/v1/tickets",
        json={**site.filing(), "contact_name": payload, "contact_email": "a@example.org"},
        headers={"Origin": ORIGIN},
    )
    assert anon.status_code == 201 and anon.headers["content-type"] == "application/json"


def test_article_markdown_is_sanitised(site: Site) -> None:
    method = site.sign_in("methodologist")
    body = "\n\n".join(["**bold** [ok](https://e.org)", "[link](javascript:alert(1))", *PAYLOADS])
    draft = method.post(
        "/api/v1/kb/articles",
        {"content": {"title_ru": PAYLOADS[0], "title_en": "t", "body_ru": body, "body_en": body}},
    )
    assert draft.status_code == 201, draft.text
    html = method.get(f"/api/v1/kb/articles/{draft.json()['id']}").json()["content"]["html_ru"]
    tags = Tags()
    tags.feed(html)
    assert not {"script", "iframe", "svg", "img"} & {t for t, _ in tags.seen}
    attributes = [(name, value or "") for _, attrs in tags.seen for name, value in attrs]
    assert not [a for a in attributes if a[0].startswith("on")]
    assert not [v for n, v in attributes if n == "href" and not v.startswith("https://")]
    assert "<strong>bold</strong>" in html and 'href="https://e.org"' in html


def test_the_docs_page_escapes() -> None:
    from web.openapi import docs_page

    page = docs_page({"/x": {"get": {"summary": "<script>alert(1)</script>"}}})
    assert "<script>alert" not in page and "&lt;script&gt;" in page
