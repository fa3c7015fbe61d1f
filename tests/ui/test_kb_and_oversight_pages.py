"""The knowledge-base pages (list, editor, stale saves, review, publication, diffs, the gaps
queue) and the oversight pages (activity stream, search), driven as a browser drives them: form
posts through htmx with the session's CSRF token, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, open_site

pytestmark = LEAKS
FORM = {
    "title_ru": "Ошибка подписи при публикации контракта",
    "title_en": "Signature error when publishing a contract",
    "body_ru": "Если при публикации возникает ошибка подписи, **обновите сертификат**.",
    "body_en": "If publishing fails with a signature error, renew the certificate.",
    "audience": "public",
    "tags": "подпись, сертификат",
    "references": "44-ФЗ | ст. 103 | https://example.org/44",
}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def person(site: Site, who: str) -> Person:
    """A signed-in browser reading the pages in English."""
    p = site.sign_in(who)
    p.client.cookies.set("suz_lang", "en")
    return p


def post(p: Person, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
    """A form posted by htmx (the CSRF token in its header, as <body hx-headers> sends it)."""
    headers = {"X-CSRF-Token": p.csrf, "Origin": ORIGIN, "HX-Request": "true"}
    r: httpx.Response = p.client.post(path, data=data or {}, headers=headers)
    return r


def fragment(p: Person, path: str) -> httpx.Response:
    """A part of a page, asked for by htmx."""
    r: httpx.Response = p.client.get(path, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    return r


def done(r: httpx.Response) -> str:
    """The page htmx is sent to after a command that succeeded."""
    assert r.status_code == 204, r.text
    target: str = r.headers["HX-Redirect"]
    return target


def article(p: Person, article_id: str) -> dict[str, Any]:
    r = p.get(f"/api/v1/kb/articles/{article_id}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def draft(site: Site, method: Person, **changes: str) -> str:
    target = done(post(method, "/kb/new", {**FORM, "kind": "article", **changes}))
    match = re.match(r"/kb/([0-9a-f-]{36})\?after=\d+$", target)
    assert match, target
    return match.group(1)


def test_an_article_answers_a_gap_through_draft_revision_review_and_publication(
    site: Site,
) -> None:
    requester, agent = person(site, "requester"), person(site, "agent")
    method, admin = person(site, "methodologist"), person(site, "admin")
    ticket = site.file(requester)
    r = agent.post("/api/v1/kb/gaps", {"subject": "Нет статьи про ошибку подписи",
                                        "description": "Спрашивают снова и снова",
                                        "tickets": [ticket["id"]]})  # fmt: skip
    assert r.status_code == 201, r.text
    gap = r.json()

    queue = method.get(f"/kb/gaps?after={gap['position']}")
    assert queue.status_code == 200
    assert "Нет статьи про ошибку подписи" in queue.text
    assert f'href="/t/{gap["id"]}"' in queue.text
    assert f'href="/kb/new?gap={gap["id"]}"' in queue.text
    editor = method.get(f"/kb/new?gap={gap['id']}")
    assert editor.status_code == 200
    assert f'name="gap" value="{gap["id"]}"' in editor.text

    article_id = draft(site, method, gap=gap["id"])
    page = method.get(f"/kb/{article_id}")
    assert page.status_code == 200
    assert 'name="based_on" value="1"' in page.text
    assert f'data-live-topics="article:{article_id}"' in page.text
    assert f'action="/kb/{article_id}/submit"' in page.text
    assert "<strong>обновите сертификат</strong>" in page.text  # the rendered preview

    revised = {**FORM, "body_en": "Renew the certificate, then publish again.", "based_on": "1"}
    done(post(method, f"/kb/{article_id}", revised))
    assert article(method, article_id)["revision"] == 2

    # The administrator edited revision 1 meanwhile: refused, shown the change, text kept.
    stale = post(admin, f"/kb/{article_id}", {**FORM, "title_en": "Admin's own title",
                                                "based_on": "1"})  # fmt: skip
    assert stale.status_code == 409
    assert "<ins>" in stale.text and "Renew the certificate, then publish again." in stale.text
    assert "<del>" in stale.text
    assert 'value="Admin&#39;s own title"' in stale.text  # what he typed, kept
    assert 'name="based_on" value="2"' in stale.text  # saving again is a deliberate choice
    shown = article(method, article_id)
    assert shown["revision"] == 2
    assert shown["content"]["title_en"] == FORM["title_en"]

    diff = method.get(f"/kb/{article_id}/diff?from=1&to=2")
    assert diff.status_code == 200
    assert "<ins>" in diff.text and "Renew the certificate, then publish again." in diff.text
    assert "<del>" in diff.text and "If publishing fails with a signature error" in diff.text

    done(post(method, f"/kb/{article_id}/submit"))
    own = method.get(f"/kb/{article_id}")
    assert f'hx-post="/kb/{article_id}/approve"' not in own.text  # the author does not review
    assert post(method, f"/kb/{article_id}/approve").status_code == 403
    review = admin.get(f"/kb/{article_id}")
    assert f'hx-post="/kb/{article_id}/approve"' in review.text
    assert post(admin, f"/kb/{article_id}/send-back").status_code == 422  # say what to change
    assert article(admin, article_id)["stage"] == "in_review"
    done(post(admin, f"/kb/{article_id}/approve", {"comment": "Хорошо"}))
    assert f'action="/kb/{article_id}/publish"' in method.get(f"/kb/{article_id}").text
    target = done(post(method, f"/kb/{article_id}/publish"))
    assert article(method, article_id)["stage"] == "published"

    history = method.get(target)
    assert "Хорошо" in history.text  # the reviewer's comment, in the article's history
    closed = method.ticket(gap["id"], after=int(target.rsplit("=", 1)[1]))
    assert closed["ticket"]["status"] == "resolved"
    assert "Нет статьи про ошибку подписи" not in method.get(target.replace(
        f"/kb/{article_id}", "/kb/gaps")).text  # fmt: skip

    # An agent reads the published article and cannot change it.
    listed = agent.get(f"/kb?after={target.rsplit('=', 1)[1]}")
    assert f'href="/kb/{article_id}"' in listed.text
    read = agent.get(f"/kb/{article_id}")
    assert read.status_code == 200
    assert "Renew the certificate, then publish again." in read.text
    assert 'name="based_on"' not in read.text and "/archive" not in read.text
    assert '<form method="post" action="/kb/' not in read.text
    refused = post(agent, f"/kb/{article_id}", {**FORM, "title_en": "Agent's", "based_on": "2"})
    assert refused.status_code == 403
    assert post(agent, f"/kb/{article_id}/archive").status_code == 403
    assert post(agent, "/kb/new", {**FORM, "kind": "article"}).status_code == 403
    assert agent.get(f"/kb/{article_id}/diff?from=1&to=2").status_code == 403
    after = article(method, article_id)
    assert (after["revision"], after["stage"]) == (2, "published")
    assert after["content"]["title_en"] == FORM["title_en"]


def test_drafts_are_for_methodologists_and_overseers(site: Site) -> None:
    method, agent, curator = (person(site, w) for w in ("methodologist", "agent", "curator"))
    form = {**FORM, "kind": "article", "title_en": "A draft nobody reads yet"}
    found = re.match(r"/kb/([0-9a-f-]{36})\?after=(\d+)$", done(post(method, "/kb/new", form)))
    assert found
    article_id, written_at = found.groups()
    assert "A draft nobody reads yet" in method.get(f"/kb?after={written_at}").text
    assert "A draft nobody reads yet" in method.get("/kb?q=draft&stage=draft").text
    assert "A draft nobody reads yet" not in agent.get("/kb").text
    assert agent.get(f"/kb/{article_id}").status_code == 404
    seen = curator.get(f"/kb/{article_id}")
    assert seen.status_code == 200 and "A draft nobody reads yet" in seen.text
    assert 'name="based_on"' not in seen.text  # read, never edited
    assert post(curator, f"/kb/{article_id}/submit").status_code == 403
    assert agent.get("/kb/gaps").status_code == 403

    invalid = post(method, "/kb/new", {**FORM, "kind": "article", "title_ru": "", "title_en": ""})
    assert invalid.status_code == 422
    assert 'aria-invalid="true"' in invalid.text and FORM["body_en"] in invalid.text

    # Without JavaScript: a plain form with the token in a hidden field, answered by a redirect.
    plain = method.client.post(
        f"/kb/{article_id}/submit", data={"csrf_token": method.csrf},
        headers={"Origin": ORIGIN}, follow_redirects=False,
    )  # fmt: skip
    assert plain.status_code == 303 and plain.headers["location"].startswith(f"/kb/{article_id}")
    assert article(method, article_id)["stage"] == "in_review"
    assert method.client.post(f"/kb/{article_id}/archive", headers={"Origin": ORIGIN},
                              follow_redirects=False).status_code == 403  # no token  # fmt: skip

    preview = post(method, "/kb/preview?lang=en", {"body_en": "**bold** <script>alert(1)</script>"})
    assert preview.status_code == 200
    assert "<strong>bold</strong>" in preview.text and "<script>" not in preview.text


def test_requesters_and_visitors_are_kept_out(site: Site) -> None:
    requester = person(site, "requester")
    for path in ("/kb", "/kb/new", "/kb/gaps", "/activity", "/search?q=x"):
        r = requester.get(path)
        assert r.status_code == 403, path
        anonymous = site.new_client().get(path, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert post(requester, "/kb/new", {**FORM, "kind": "article"}).status_code == 403


def test_activity_streams_the_desk_and_escapes_what_people_wrote(site: Site) -> None:
    requester, agent, auditor = person(site, "requester"), person(site, "agent"), person(
        site, "auditor")  # fmt: skip
    filed = site.file(requester)
    nasty = requester.post(
        "/api/v1/tickets", {**site.filing(), "subject": "<script>alert(1)</script> подпись"}
    )
    assert nasty.status_code == 201, nasty.text
    ticket = nasty.json()
    note = agent.command(ticket["id"], "notes", ticket["version"], body="Секретная заметка")
    assert note.status_code == 200, note.text
    position = note.json()["position"]

    page = auditor.get(f"/activity?after={position}")
    assert page.status_code == 200
    assert 'data-live-topics="activity"' in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; подпись" in page.text
    assert "<script>alert(1)" not in page.text
    assert f'href="/t/{ticket["id"]}"' in page.text and f'href="/t/{filed["id"]}"' in page.text
    assert "filed" in page.text and "internal note" in page.text
    assert "Секретная заметка" not in page.text  # what was written stays on the request

    newest = re.search(r"since=(\d+)", page.text)
    assert newest and int(newest[1]) == position
    assert "<time" not in fragment(auditor, f"/activity?part=newer&since={position}").text
    reply = agent.command(ticket["id"], "replies", note.json()["version"], body="Ответ")
    assert reply.status_code == 200, reply.text
    after = reply.json()["position"]
    fresh = fragment(auditor, f"/activity?part=newer&since={position}&after={after}")
    assert "replied" in fresh.text and f"since={after}" in fresh.text
    older = fragment(auditor, f"/activity?part=older&before={position}")
    assert "filed" in older.text and "internal note" not in older.text


def test_search_finds_requests_by_their_words_and_number(site: Site) -> None:
    requester, agent = person(site, "requester"), person(site, "agent")
    filed = site.file(requester)
    other = requester.post(
        "/api/v1/tickets",
        {**site.filing(), "subject": "Не входит в кабинет", "description": "Пароль не подходит"},
    )
    assert other.status_code == 201
    found = agent.get(f"/search?q=подписи&after={other.json()['position']}")
    assert found.status_code == 200
    assert f'href="/t/{filed["id"]}"' in found.text
    assert f'href="/t/{other.json()["id"]}"' not in found.text
    by_number = agent.get(f"/search?q=№{other.json()['number']}")
    assert f'href="/t/{other.json()["id"]}"' in by_number.text
    assert "No request matches" in agent.get("/search?q=несуществующееслово").text
