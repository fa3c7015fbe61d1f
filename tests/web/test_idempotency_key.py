"""A command sent again with the same Idempotency-Key gets the first answer and writes nothing
(issue 13, point 5): a client whose connection broke may safely send again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, Person, Site, open_site
from tests.web.support import FakeClock
from web import idempotency
from web.idempotency import Answer, Busy, Claimed, IdempotencyStore, Mismatch
from web.sessions import open_session_store

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def head(site: Site) -> int:
    return site.services.desk.recorder.max_notification_id() or 0


def post(
    person: Person, path: str, body: Any, key: str, version: int | None = None
) -> httpx.Response:
    headers = {**person.headers(version), "Idempotency-Key": key}
    r: httpx.Response = person.client.post(path, json=body, headers=headers)
    return r


def test_a_filing_sent_twice_with_one_key_is_filed_once_and_answered_the_same(
    site: Site,
) -> None:
    requester = site.sign_in("requester")
    first = post(requester, "/api/v1/tickets", site.filing(), "filing-7f3c")
    assert first.status_code == 201, first.text
    written = head(site)

    again = post(requester, "/api/v1/tickets", site.filing(), "filing-7f3c")

    assert again.status_code == 201
    assert again.json() == first.json()  # the same request id and number, not a second one
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert head(site) == written  # nothing was written


def test_a_reply_sent_again_gets_its_first_answer_not_a_conflict(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    path = f"/api/v1/tickets/{filed['id']}/replies"
    first = post(agent, path, {"body": "Проверяем."}, "reply-1", filed["version"])
    assert first.status_code == 200, first.text

    again = post(agent, path, {"body": "Проверяем."}, "reply-1", filed["version"])
    without_key = agent.command(filed["id"], "replies", filed["version"], body="Проверяем.")

    assert (again.status_code, again.json()) == (200, first.json())
    assert without_key.status_code == 409  # the same request without a key is a stale write
    timeline = agent.ticket(filed["id"], first.json()["position"])["timeline"]
    assert [e["event"] for e in timeline].count("Replied") == 1


def test_one_key_for_a_different_request_is_refused_and_changes_nothing(site: Site) -> None:
    requester = site.sign_in("requester")
    assert post(requester, "/api/v1/tickets", site.filing(), "k-1").status_code == 201
    written = head(site)

    other = site.filing()
    other["subject"] = "Другая тема"
    r = post(requester, "/api/v1/tickets", other, "k-1")

    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["fields"] == ["Idempotency-Key"]
    assert "Idempotency-Key" in error["message"]
    assert head(site) == written


def test_keys_belong_to_their_caller(site: Site) -> None:
    requester, colleague = site.sign_in("requester"), site.sign_in("colleague")
    mine = post(requester, "/api/v1/tickets", site.filing(), "shared-key")
    theirs = post(colleague, "/api/v1/tickets", site.filing(), "shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]  # the colleague's command ran as their own
    assert "idempotent-replayed" not in theirs.headers


def test_a_malformed_key_is_refused_naming_the_header(site: Site) -> None:
    requester = site.sign_in("requester")
    written = head(site)

    r = post(requester, "/api/v1/tickets", site.filing(), "x" * 256)

    assert r.status_code == 422
    assert r.json()["error"]["fields"] == ["Idempotency-Key"]
    assert head(site) == written


def test_two_copies_sent_at_once_run_once(site: Site) -> None:
    requester = site.sign_in("requester")
    start = threading.Barrier(2, timeout=10)
    answers: list[httpx.Response] = []

    def send() -> None:
        start.wait()
        answers.append(post(requester, "/api/v1/tickets", site.filing(), "twins"))

    before = head(site)
    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("idempotent-replayed", "no") for a in answers) == ["no", "true"]
    assert head(site) > before  # written once: one ticket number taken
    assert site.file(requester)["number"] == answers[0].json()["number"] + 1


def test_a_copy_sent_while_the_first_still_runs_is_answered_in_progress(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request is held in flight by claiming its key in the store directly."""
    monkeypatch.setattr(idempotency, "WAIT", 0.2)
    with open_site(settings, monkeypatch) as site:
        requester = site.sign_in("requester")
        body = site.filing()
        request = requester.client.build_request(
            "POST",
            "/api/v1/tickets",
            json=body,
            headers={**requester.headers(), "Idempotency-Key": "held"},
        )
        scope = {
            "method": "POST",
            "path": "/api/v1/tickets",
            "query_string": b"",
            "headers": [
                (b"cookie", f"suz_session={requester.token}".encode()),
                (b"content-type", request.headers["content-type"].encode()),
            ],
        }
        store = IdempotencyStore(site.services.sessions)
        secret = idempotency._secret(scope, b"held")
        assert isinstance(
            store.begin(secret, idempotency._fingerprint(scope, request.read())), Claimed
        )
        written = head(site)

        started = time.monotonic()
        r = requester.client.send(request)

        assert time.monotonic() - started >= 0.2  # it waited for the first to finish
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "idempotency_key_in_progress"
        assert r.headers["retry-after"] == "1"
        assert head(site) == written


def test_keys_are_remembered_for_a_day(settings: Settings) -> None:
    sessions = open_session_store(settings)
    sessions.migrate()
    clock = FakeClock()
    store = IdempotencyStore(sessions, clock)
    try:
        assert isinstance(store.begin(b"who\0k", "f1"), Claimed)
        assert isinstance(store.begin(b"who\0k", "f1"), Busy)
        store.finish(b"who\0k", Answer(201, [(b"content-type", b"application/json")], b"{}"))
        assert store.begin(b"who\0k", "f1") == Answer(
            201, [(b"content-type", b"application/json")], b"{}"
        )
        assert isinstance(store.begin(b"who\0k", "f2"), Mismatch)

        clock.advance(24 * 3600 + 1)

        assert isinstance(store.begin(b"who\0k", "f2"), Claimed)  # expired: a new request
    finally:
        sessions.close()
