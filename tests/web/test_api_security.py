"""What the API refuses: CSRF, guessing, bad bodies, other people's requests, the wrong roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, PASSWORD, Person, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def code(r: object) -> str:
    return str(r.json()["error"]["code"])  # type: ignore[attr-defined]


def test_a_cookie_request_that_changes_state_needs_the_token_and_our_origin(site: Site) -> None:
    requester = site.sign_in("requester")
    head = site.services.desk.recorder.max_notification_id()
    body = site.filing()
    no_token = requester.client.post("/api/v1/tickets", json=body, headers={"Origin": ORIGIN})
    assert (no_token.status_code, code(no_token)) == (403, "csrf_refused")
    wrong = requester.client.post(
        "/api/v1/tickets", json=body, headers={"Origin": ORIGIN, "X-CSRF-Token": "guess"}
    )
    assert (wrong.status_code, code(wrong)) == (403, "csrf_refused")
    in_russian = requester.client.post(
        "/api/v1/tickets", json=body, headers={"Origin": ORIGIN, "Accept-Language": "ru"}
    )
    assert in_russian.json()["detail"].startswith("Ключ безопасности страницы отсутствует")
    foreign = requester.client.post(
        "/api/v1/tickets",
        json=body,
        headers={"Origin": "https://evil.example", "X-CSRF-Token": requester.csrf},
    )
    assert (foreign.status_code, code(foreign)) == (403, "csrf_refused")
    nowhere = requester.client.post(
        "/api/v1/tickets", json=body, headers={"X-CSRF-Token": requester.csrf}
    )
    assert nowhere.status_code == 403
    assert site.services.desk.recorder.max_notification_id() == head
    assert requester.post("/api/v1/tickets", body).status_code == 201


def test_an_unknown_login_and_a_wrong_password_look_the_same(site: Site) -> None:
    client = site.new_client()
    unknown = client.post("/api/v1/session", json={"login": "nobody", "password": PASSWORD})
    wrong = client.post("/api/v1/session", json={"login": "ivanova", "password": "wrong-pass!"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["code"] == "bad_credentials"
    assert "suz_session" not in unknown.cookies and "suz_session" not in wrong.cookies


def test_repeated_failures_are_slowed_down_with_retry_after(site: Site) -> None:
    client = site.new_client()
    statuses = []
    for _ in range(10):
        r = client.post("/api/v1/session", json={"login": "petrov", "password": "not-it-at-all"})
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {401}
    assert int(r.headers["retry-after"]) >= 1
    assert code(r) == "too_many_attempts"
    right = client.post("/api/v1/session", json={"login": "petrov", "password": PASSWORD})
    assert right.status_code == 429  # even the right password waits


@pytest.mark.parametrize("field", ["status", "organisation", "requester"])
def test_filing_refuses_fields_the_requester_may_not_set(site: Site, field: str) -> None:
    requester = site.sign_in("requester")
    r = requester.post("/api/v1/tickets", {**site.filing(), field: "x"})
    assert (r.status_code, code(r)) == (422, "forbidden_field")
    assert r.json()["error"]["fields"] == [field]


def test_bad_bodies_are_refused_before_anything_is_written(site: Site) -> None:
    requester = site.sign_in("requester")
    h = {**requester.headers(), "Content-Type": "application/json"}
    bad = requester.client.post("/api/v1/tickets", content=b"{not json", headers=h)
    assert (bad.status_code, code(bad)) == (400, "bad_json")
    array = requester.client.post("/api/v1/tickets", content=b"[1]", headers=h)
    assert array.status_code == 400
    text = requester.client.post(
        "/api/v1/tickets",
        content=b"subject=x",
        headers={**requester.headers(), "Content-Type": "text/plain"},
    )
    assert (text.status_code, code(text)) == (415, "unsupported_media_type")
    huge = b'{"subject": "' + b"x" * 1_000_001 + b'"}'
    big = requester.client.post("/api/v1/tickets", content=huge, headers=h)
    assert (big.status_code, code(big)) == (413, "too_large")
    wrong_type = requester.post("/api/v1/tickets", {**site.filing(), "subject": 5})
    assert (wrong_type.status_code, wrong_type.json()["error"]["fields"]) == (422, ["subject"])


def test_security_headers_are_on_every_answer(site: Site) -> None:
    client = site.new_client()
    for path in ("/api/v1/me", "/api/v1/nowhere", "/health"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-frame-options"] == "DENY"
        # a refusal is RFC 9457 problem details (tests/web/test_problem_details.py)
        json = "application/problem+json" if r.status_code >= 400 else "application/json"
        assert r.headers["content-type"] == json
        if r.status_code >= 400:
            assert set(r.json()["error"]) >= {"code", "message", "fields"}


def test_random_and_malformed_ticket_ids_are_not_found(site: Site) -> None:
    agent = site.sign_in("agent")
    ids = [str(uuid.uuid4()), "not-a-uuid", "1", "%20", str(site.world.org), str(site.world.line1)]
    for ticket_id in ids:
        r = agent.get(f"/api/v1/tickets/{ticket_id}")
        assert r.status_code == 404, (ticket_id, r.text)
        r = agent.command(ticket_id, "replies", 1, body="Ответ")
        assert r.status_code == 404, (ticket_id, r.text)
        assert code(r) == "not_found"
    filed = site.file(site.sign_in("requester"))
    assert agent.command(filed["id"], "no-such-command", 1).status_code == 404
    bad_version = agent.client.post(
        f"/api/v1/tickets/{filed['id']}/replies",
        json={"body": "x"},
        headers={**agent.headers(), "If-Match": '"abc"'},
    )
    assert bad_version.status_code == 400


def current_version(person: Person, ticket_id: str, site: Site) -> int:
    head = site.services.desk.recorder.max_notification_id() or 0
    return int(person.ticket(ticket_id, head)["ticket"]["version"])


def test_strangers_do_not_see_other_organisations_requests(site: Site) -> None:
    filed = site.file(site.sign_in("requester"))
    stranger, colleague = site.sign_in("stranger"), site.sign_in("colleague")
    assert stranger.get(f"/api/v1/tickets/{filed['id']}?after={filed['position']}").status_code == (
        404
    )
    r = stranger.command(filed["id"], "messages", filed["version"], body="Чужое")
    assert r.status_code == 404
    assert colleague.ticket(filed["id"], filed["position"])["ticket"]["id"] == filed["id"]
    stranger_list = stranger.get(f"/api/v1/my/tickets?scope=organisation&after={filed['position']}")
    assert stranger_list.json()["tickets"] == []


def test_auditors_and_curators_do_not_reply_but_curators_may_note(site: Site) -> None:
    filed = site.file(site.sign_in("requester"))
    auditor, curator = site.sign_in("auditor"), site.sign_in("curator")
    version = current_version(auditor, filed["id"], site)
    assert auditor.command(filed["id"], "replies", version, body="Нет").status_code == 403
    assert curator.command(filed["id"], "replies", version, body="Нет").status_code == 403
    assert auditor.command(filed["id"], "notes", version, body="Нет").status_code == 403
    noted = curator.command(filed["id"], "notes", version, body="Проверить сроки.")
    assert noted.status_code == 200, noted.text


def test_queues_are_for_the_staff(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    path = f"/api/v1/queues/unassigned?group={site.world.line1}"
    r = requester.get(path)
    assert (r.status_code, code(r)) == (403, "forbidden")
    assert requester.get("/api/v1/queues/counts?queue=x").status_code == 403
    assert agent.get(path).status_code == 200
    assert agent.get("/api/v1/queues/unassigned?group=zzz").status_code == 422
    assert agent.get("/api/v1/queues/nonsense").status_code == 404


# Who gets what: roles (columns) x routes (rows); "anon" has no session. The ticket is the
# requester's; commands are sent with the ticket's current version.
ROLES = ("anon", "requester", "colleague", "stranger", "agent", "curator", "auditor", "admin")
MATRIX = {
    "GET ticket":       (404, 200, 200, 404, 200, 200, 200, 200),
    "GET me":           (401, 200, 200, 200, 200, 200, 200, 200),
    "GET queue":        (401, 403, 403, 403, 200, 200, 200, 200),
    "GET activity":     (401, 403, 403, 403, 200, 200, 200, 200),
    "POST replies":     (404, 403, 403, 404, 200, 403, 403, 200),
    "POST notes":       (404, 403, 403, 404, 200, 200, 403, 200),
    "POST messages":    (404, 200, 403, 404, 403, 403, 403, 403),
}  # fmt: skip


def test_the_authorisation_matrix(site: Site) -> None:
    requester = site.sign_in("requester")
    filed = site.file(requester)
    people = {r: requester if r == "requester" else site.sign_in(r) for r in ROLES[1:]}
    anon = site.new_client()
    agent = people["agent"]
    got: dict[str, list[int]] = {}
    for route in MATRIX:
        got[route] = []
        for role in ROLES:
            method, what = route.split()
            if method == "GET":
                path = {
                    # read-your-write: without `after` a lagging view answers 404 (a race)
                    "ticket": f"/api/v1/tickets/{filed['id']}?after={filed['position']}",
                    "me": "/api/v1/me",
                    "queue": f"/api/v1/queues/unassigned?group={site.world.line1}",
                    "activity": "/api/v1/activity",
                }[what]
                r = anon.get(path) if role == "anon" else people[role].get(path)
            else:
                version = current_version(agent, filed["id"], site)
                path = f"/api/v1/tickets/{filed['id']}/{what}"
                body = {"body": f"{role}: текст", "version": version}
                if role == "anon":
                    r = anon.post(path, json=body, headers={"Origin": ORIGIN})
                else:
                    r = people[role].post(path, body)
            got[route].append(r.status_code)
    assert got == {route: list(codes) for route, codes in MATRIX.items()}
