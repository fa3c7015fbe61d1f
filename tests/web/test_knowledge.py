"""The knowledge loop through the API: a gap raised from a request, an article drafted, sent
back, revised, approved by a second methodologist and published; the request shows it and the
next requester typing the same problem is offered it; templates fill themselves in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, Person, Site, open_site

pytestmark = LEAKS
CONTENT = {
    "title_ru": "Ошибка подписи при публикации контракта",
    "title_en": "Signature error when publishing a contract",
    "body_ru": "Если при публикации контракта возникает ошибка подписи, обновите сертификат.",
    "body_en": "If publishing a contract fails with a signature error, renew the certificate.",
    "audience": "public",
    "tags": ["подпись"],
    "references": [{"name": "44-ФЗ", "clause": "ст. 103", "link": "https://example.org/44"}],
}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def act(person: Person, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = person.post(path, body or {})
    assert r.status_code in (200, 201), r.text
    data: dict[str, Any] = r.json()
    return data


def test_a_gap_becomes_a_published_article_that_answers_the_next_requester(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    method, admin = site.sign_in("methodologist"), site.sign_in("admin")
    ticket = site.file(requester)
    gap = act(
        agent,
        "/api/v1/kb/gaps",
        {
            "subject": "Нет статьи про ошибку подписи",
            "description": "Пользователи спрашивают снова и снова",
            "tickets": [ticket["id"]],
        },
    )
    assert (
        method.get(f"/api/v1/tickets/{gap['id']}?after={gap['position']}").json()["ticket"]["kind"]
        == "knowledge_gap"
    )
    assert requester.post("/api/v1/kb/articles", {"content": CONTENT}).status_code == 403
    draft = act(
        method,
        "/api/v1/kb/articles",
        {"content": {**CONTENT, "body_en": "draft"}, "gap": gap["id"]},
    )
    path = f"/api/v1/kb/articles/{draft['id']}"
    act(method, f"{path}/submit")
    own = method.post(f"{path}/approve")
    assert own.status_code == 403  # a second methodologist reviews
    assert admin.post(f"{path}/send-back").status_code == 422  # say what to change
    act(admin, f"{path}/send-back", {"comment": "Допишите английский текст"})
    revised = method.client.put(
        path, json={"based_on": 1, "content": CONTENT}, headers=method.headers()
    )
    assert revised.status_code == 200, revised.text
    stale = admin.client.put(
        path, json={"based_on": 1, "content": {**CONTENT, "tags": ["x"]}}, headers=admin.headers()
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["current_revision"] == 2
    assert any("renew the certificate" in line for line in stale.json()["error"]["changes"])
    act(method, f"{path}/submit")
    act(admin, f"{path}/approve", {"comment": "Хорошо"})
    published = act(method, f"{path}/publish")
    seen = requester.ticket(ticket["id"], after=published["position"])
    linked = [e for e in seen["timeline"] if e["event"] == "ArticleLinked"]
    assert [e["data"]["article_id"] for e in linked] == [draft["id"]]
    gap_now = method.ticket(gap["id"])["ticket"]
    assert gap_now["status"] == "resolved"
    staff_view = method.get(path).json()
    assert [r["revision"] for r in staff_view["revisions"]] == [1, 2]
    assert any(line.startswith("+If publishing") for line in staff_view["revisions"][1]["diff"])
    visitor = site.new_client()
    for words in ("контракт не публикуется", "ошибка контрактов", "publishing contracts"):
        offered = visitor.get("/api/v1/kb/suggestions", params={"q": words}).json()
        assert [a["id"] for a in offered][:1] == [draft["id"]], words
    assert visitor.get("/api/v1/kb/suggestions", params={"q": "погода"}).json() == []
    helped = visitor.post(f"{path}/helped", json={}, headers={"Origin": "http://testserver"})
    assert helped.status_code == 200, helped.text
    usage = agent.get(f"/api/v1/kb/usage?after={helped.json()['position']}").json()
    assert [(a["id"], a["deflections"]) for a in usage["articles"]] == [(draft["id"], 1)]
    assert (usage["gaps"]["by_status"], usage["gaps"]["answered"]) == ({"resolved": 1}, 1)
    assert 0 <= usage["gaps"]["mean_hours_to_answer"] < 1
    inside = agent.get(f"/api/v1/tickets/{ticket['id']}/suggestions").json()
    assert [a["id"] for a in inside][:1] == [draft["id"]]
    assert requester.get(f"/api/v1/tickets/{ticket['id']}/suggestions").status_code == 403
    article = visitor.get(path).json()
    assert "<p>" in article["content"]["html_ru"] and "revisions" not in article


def test_templates_fill_in_and_their_use_is_recorded(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    method, admin = site.sign_in("methodologist"), site.sign_in("admin")
    answer = act(
        method,
        "/api/v1/kb/articles",
        {
            "kind": "answer_template",
            "content": {
                "title_ru": "Ответ",
                "title_en": "Answer",
                "body_ru": "{requester_name}, по заявке №{ticket_number} ({category}): "
                "контракт {field:contract_number}.",
                "body_en": "",
                "audience": "internal",
            },
        },
    )
    ask = act(
        method,
        "/api/v1/kb/articles",
        {
            "kind": "info_request_template",
            "content": {
                "title_ru": "Запрос даты",
                "title_en": "Ask the date",
                "body_ru": "Укажите дату.",
                "body_en": "",
                "fields": ["signed_on"],
                "questions": ["Какой браузер?"],
            },
        },
    )
    for a in (answer, ask):
        act(method, f"/api/v1/kb/articles/{a['id']}/submit")
        act(admin, f"/api/v1/kb/articles/{a['id']}/approve")
        last = act(method, f"/api/v1/kb/articles/{a['id']}/publish")
    ticket = site.file(requester)
    filled = agent.get(
        f"/api/v1/tickets/{ticket['id']}/template?template={answer['id']}&after={last['position']}"
    ).json()
    assert filled["text"] == (
        "Ivanova, по заявке №1 (Реестр контрактов): контракт 1234567890123456789."
    )
    replied = agent.command(
        ticket["id"], "replies", ticket["version"], body=filled["text"], template=filled["template"]
    )
    assert replied.status_code == 200, replied.text
    asked = agent.command(
        ticket["id"],
        "information-requests",
        replied.json()["version"],
        template={"id": ask["id"], "revision": 1},
    )
    assert asked.status_code == 200, asked.text
    now = requester.ticket(ticket["id"], after=asked.json()["position"])
    assert now["ticket"]["status"] == "waiting"
    request = next(e for e in now["timeline"] if e["event"] == "InformationRequested")
    assert (request["data"]["fields"], request["data"]["questions"]) == (
        ["signed_on"],
        ["Какой браузер?"],
    )
    assert request["data"]["message"] == "Укажите дату."
    usage = agent.get(f"/api/v1/kb/usage?after={asked.json()['position']}").json()["articles"]
    assert {(a["id"], a["used_in_replies"], a["used_in_requests"]) for a in usage} == {
        (answer["id"], 1, 0),
        (ask["id"], 0, 1),
    }
    assert requester.get(f"/api/v1/kb/articles/{answer['id']}").status_code == 404
    stale = agent.command(
        ticket["id"],
        "replies",
        asked.json()["version"],
        body="x",
        template={"id": answer["id"], "revision": 7},
    )
    assert stale.status_code == 422
