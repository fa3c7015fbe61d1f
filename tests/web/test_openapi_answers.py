"""Real answers fit the OpenAPI document: a day at the desk told through the API (filing,
commands, queues, set-up, the knowledge base, an incident, the auditors' reads, refusals), and
every JSON answer validated against the schema its operation documents for its status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from audit.checks import run_check
from audit.seals import finish_seal_check, make_seal
from domain.settings import Settings
from tests.web.api_description import Answers, call
from tests.web.desk_site import LEAKS, PASSWORD, Person, Site, open_site
from web import background

pytestmark = LEAKS
S = dict[str, Any]


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_real_answers_fit_the_document(site: Site) -> None:
    answers = Answers()
    ticket = requests_story(site, answers)
    people_story(site, answers)
    knowledge_story(site, answers, ticket)
    incident_story(site, answers, ticket)
    audit_story(site, answers, ticket)
    refusals_story(site, answers, ticket)
    described = {(m, p) for p, ms in answers.doc["paths"].items() for m in ms}
    assert answers.seen <= described
    assert len(answers.seen) >= 0.9 * len(described), sorted(described - answers.seen)


def requests_story(site: Site, check: Answers) -> str:
    """A request filed, worked, resolved and rated; the queues and searches around it."""
    w = site.world
    requester, agent, admin = (
        site.sign_in("requester"),
        site.sign_in("agent"),
        site.sign_in("admin"),
    )
    nobody = site.new_client()
    check(call(nobody, "GET", "/api/v1/categories"), "get", "/api/v1/categories", 200)
    public = {**site.filing(), "contact_name": "Иван Петров", "contact_email": "ivan@example.org"}
    visitor = check(call(nobody, "POST", "/api/v1/tickets", public), "post", "/api/v1/tickets", 201)
    check(call(nobody, "GET", f"{visitor['private_link']}&after={visitor['position']}"), "get",
          "/api/v1/tickets/{ticket_id}", 200)  # fmt: skip
    filed = check(call(requester, "POST", "/api/v1/tickets", site.filing()), "post",
                  "/api/v1/tickets", 201)  # fmt: skip
    t, v = filed["id"], filed["version"]
    one = f"/api/v1/tickets/{t}"
    tickets = "/api/v1/tickets/{ticket_id}"

    def command(who: Person, name: str, **body: Any) -> S:
        nonlocal v
        w_ = check(call(who, "POST", f"{one}/{name}", body, v), "post", f"{tickets}/{name}", 200)
        v = w_["version"]
        return w_  # type: ignore[no-any-return]

    command(agent, "assignment", assignee=str(w.agent.id))
    command(agent, "replies", body="Проверяем подпись.")
    command(agent, "notes", body="Внутреннее.")
    command(agent, "information-requests", fields=["signed_on"], message="Когда подписан?")
    command(requester, "information", values={"signed_on": "2026-11-02"})
    command(requester, "messages", body="Срочно, пожалуйста.")
    command(agent, "priority", priority="high", reason="Срочно")
    same = call(agent, "POST", f"{one}/category", {"category": str(w.contracts), "reason": "-"}, v)
    assert check(same, "post", f"{tickets}/category", 409)["error"]["code"] == "invalid_transition"
    command(agent, "escalations", group=str(w.line2), reason="Нужна вторая линия")
    command(admin, "transfers", group=str(w.line1), reason="Обратно")
    up = check(requester.client.post(f"{one}/attachments", files={"file": ("a.txt", b"hi")},
                                     data={"version": str(v)}, headers=requester.headers()),
               "post", f"{tickets}/attachments", 201)  # fmt: skip
    v = up["version"]
    check(agent.get(f"{one}/attachments/{up['sha256']}?after={up['position']}"), "get",
          f"{tickets}/attachments/{{sha256}}", 200)  # fmt: skip
    command(agent, "links", other=visitor["id"])
    command(agent, "tags", tag="Подпись")
    command(agent, "tag-removal", tag="подпись")
    twin = check(call(requester, "POST", "/api/v1/tickets", site.filing()), "post",
                 "/api/v1/tickets", 201)  # fmt: skip
    merged = check(call(agent, "POST", f"/api/v1/tickets/{twin['id']}/merge", {"other": t},
                        twin["version"]), "post", f"{tickets}/merge", 200)  # fmt: skip
    page = check(agent.get(f"{one}?after={merged['position']}"), "get", tickets, 200)
    v = page["ticket"]["version"]  # the merge told this one too
    command(agent, "resolution", resolution="Сертификат перевыпущен.")
    command(requester, "reopening", reason="Снова ошибка.")
    command(agent, "resolution", resolution="Теперь точно.")
    last = command(requester, "rating", score=5, comment="Спасибо")
    after = f"?after={last['position']}"
    check(requester.get(f"{one}{after}"), "get", tickets, 200)
    check(agent.get(f"{one}{after}"), "get", tickets, 200)
    for who in (requester, agent):
        check(who.get(f"{one}/history"), "get", f"{tickets}/history", 200)
    check(agent.get(f"{one}/history?version=2&view=requester"), "get", f"{tickets}/history", 200)
    check(requester.get(f"/api/v1/my/tickets{after}"), "get", "/api/v1/my/tickets", 200)
    queue = "/api/v1/queues/{kind}"
    for kind in (f"group?group={w.line1}", "mine", "line?line=2&status=open",
                 f"unassigned?group={w.line1}", f"waiting?group={w.line1}"):  # fmt: skip
        check(agent.get(f"/api/v1/queues/{kind}"), "get", queue, 200)
    check(agent.get(f"/api/v1/queues/counts?queue=open&queue=group:{w.line1}"), "get",
          "/api/v1/queues/counts", 200)  # fmt: skip
    check(agent.get("/api/v1/search?q=подпись"), "get", "/api/v1/search", 200)
    check(agent.get("/api/v1/activity"), "get", "/api/v1/activity", 200)
    check(agent.get("/api/v1/directory"), "get", "/api/v1/directory", 200)
    check(agent.get("/api/v1/callers?q=Иван"), "get", "/api/v1/callers", 200)
    check(admin.get("/api/v1/releases"), "get", "/api/v1/releases", 200)
    check(agent.get(f"{one}/export"), "get", f"{tickets}/export", 200)
    closed = call(agent, "POST", f"{one}/closing", {"reason": "Готово"}, v)
    check(closed, "post", f"{tickets}/closing", 200)
    return str(t)


def people_story(site: Site, check: Answers) -> None:
    """Sessions, tokens, passwords; accounts, groups, categories set up by an administrator."""
    w = site.world
    admin, colleague = site.sign_in("admin"), site.sign_in("colleague")
    me, session = "/api/v1/me", "/api/v1/session"
    wrong = {"login": "petrov", "password": "wrong"}
    check(site.new_client().post(session, json=wrong), "post", session, 401)
    right = {"login": "petrov", "password": PASSWORD}
    check(site.new_client().post(session, json=right), "post", session, 200)
    check(colleague.get(me), "get", me, 200)
    token = check(call(colleague, "POST", f"{me}/tokens", {"name": "CI"}), "post",
                  f"{me}/tokens", 201)  # fmt: skip
    check(colleague.get(f"{me}/tokens"), "get", f"{me}/tokens", 200)
    check(call(colleague, "DELETE", f"{me}/tokens/{token['id']}"), "delete",
          f"{me}/tokens/{{token_id}}", 204)  # fmt: skip
    check(call(colleague, "POST", f"{me}/password", {"current": PASSWORD, "new": PASSWORD + "!"}),
          "post", f"{me}/password", 200)  # fmt: skip
    org = check(call(admin, "POST", "/api/v1/organisations", {"name": "ООО Ромашка",
                                                              "inn": "7736207543"}),
                "post", "/api/v1/organisations", 201)  # fmt: skip
    edited = {"name": "ООО «Ромашка»", "kpp": "773601001"}
    check(call(admin, "PUT", f"/api/v1/organisations/{org['id']}", edited, org["version"]), "put",
          "/api/v1/organisations/{organisation_id}", 200)  # fmt: skip
    group = check(call(admin, "POST", "/api/v1/groups", {"name": "Вторая", "kind": "line2"}),
                  "post", "/api/v1/groups", 201)  # fmt: skip
    account = check(call(admin, "POST", "/api/v1/accounts", {
        "login": "anna", "display_name": "Анна", "roles": ["agent"], "password": PASSWORD,
        "organisation": org["id"]}), "post", "/api/v1/accounts", 201)  # fmt: skip
    a = f"/api/v1/accounts/{account['id']}"
    accounts = "/api/v1/accounts/{account_id}"
    check(call(admin, "POST", f"{a}/groups/{group['id']}"), "post",
          f"{accounts}/groups/{{group_id}}", 200)  # fmt: skip
    check(call(admin, "PUT", f"/api/v1/groups/{group['id']}/lead", {"lead_id": account["id"]}),
          "put", "/api/v1/groups/{group_id}/lead", 200)  # fmt: skip
    check(call(admin, "PUT", f"/api/v1/groups/{group['id']}/lead", {"lead_id": None}),
          "put", "/api/v1/groups/{group_id}/lead", 200)  # fmt: skip
    check(call(admin, "DELETE", f"{a}/groups/{group['id']}"), "delete",
          f"{accounts}/groups/{{group_id}}", 200)  # fmt: skip
    check(call(admin, "PUT", f"{a}/roles", {"roles": ["agent", "analyst"]}), "put",
          f"{accounts}/roles", 200)  # fmt: skip
    check(call(admin, "PUT", f"{a}/password", {"password": PASSWORD + "?"}), "put",
          f"{accounts}/password", 200)  # fmt: skip
    for action in ("disable", "enable"):
        check(call(admin, "POST", f"{a}/{action}"), "post", f"{accounts}/{{action}}", 200)
    form = [{"key": "law", "label_ru": "Закон", "label_en": "Law", "type": "choice",
             "choices": ["44-FZ", "223-FZ"]}]  # fmt: skip
    category = check(call(admin, "POST", "/api/v1/categories", {
        "name_ru": "Закупки", "name_en": "Purchases", "form": form,
        "default_group": str(w.line1)}), "post", "/api/v1/categories", 201)  # fmt: skip
    check(call(admin, "PUT", f"/api/v1/categories/{category['id']}/form", {"form": []}), "put",
          "/api/v1/categories/{category_id}/form", 200)  # fmt: skip
    routing = {"rules": [{"name": "Закупки", "group_id": str(w.line2),
                          "category_id": category["id"], "priority": "high"}]}  # fmt: skip
    sla = {"calendars": [{"key": "business", "name": "9-18", "holidays": ["2027-01-01"]}],
           "policies": [{"name": "Обычная", "first_response_minutes": 60,
                         "resolution_minutes": 480, "priority": "high"}]}  # fmt: skip
    triggers = {"rules": [{"name": "Подпись", "words": ["подпись"], "threshold": 2,
                           "rate_factor": 1.5, "category_id": category["id"],
                           "groups": [str(w.line1)]}]}  # fmt: skip
    for path, body in (("/api/v1/routing/rules", routing), ("/api/v1/sla", sla),
                       ("/api/v1/incidents/triggers", triggers)):  # fmt: skip
        before = check(admin.get(path), "get", path, 200)
        saved = check(call(admin, "PUT", path, body, before["version"]), "put", path, 200)
        check(admin.get(f"{path}?after={saved['position']}"), "get", path, 200)
    check(call(colleague, "DELETE", session), "delete", session, 204)


def knowledge_story(site: Site, check: Answers, ticket: str) -> None:
    """A template drafted, reviewed, published and filled in; a stale revision; a gap."""
    method, admin, agent = (site.sign_in(w) for w in ("methodologist", "admin", "agent"))
    requester = site.sign_in("requester")
    content = {"title_ru": "Ответ про подпись", "title_en": "Signature answer",
               "body_ru": "Здравствуйте, {requester_name}! Перевыпустите **сертификат**.",
               "body_en": "Reissue the certificate.", "audience": "public",
               "tags": ["подпись"],
               "references": [{"name": "44-ФЗ", "clause": "ст. 4"}]}  # fmt: skip
    articles = "/api/v1/kb/articles"
    one, act = f"{articles}/{{article_id}}", f"{articles}/{{article_id}}/{{action}}"

    def published(kind: str) -> tuple[str, str]:
        draft = check(call(method, "POST", articles, {"kind": kind, "content": content}), "post",
                      articles, 201)  # fmt: skip
        a = f"{articles}/{draft['id']}"
        check(call(method, "POST", f"{a}/submit", {}), "post", act, 200)
        check(call(admin, "POST", f"{a}/approve", {"comment": "Хорошо"}), "post", act, 200)
        done = check(call(method, "POST", f"{a}/publish", {}), "post", act, 200)
        return a, f"after={done['position']}"

    a, _ = published("answer_template")
    public, after = published("article")
    check(method.get(a), "get", one, 200)
    check(requester.get(public), "get", one, 200)
    draft = {"id": a.rsplit("/", 1)[1]}
    check(call(method, "PUT", a, {"based_on": 1, "content": {**content, "body_en": "Renew."}}),
          "put", one, 200)  # fmt: skip
    stale = call(method, "PUT", a, {"based_on": 1, "content": {**content, "body_en": "Other."}})
    assert check(stale, "put", one, 409)["error"]["changes"]
    check(agent.get(f"{articles}?q=подпись&{after}"), "get", articles, 200)
    check(requester.get(f"/api/v1/kb/suggestions?q=сертификат&{after}"), "get",
          "/api/v1/kb/suggestions", 200)  # fmt: skip
    check(agent.get(f"/api/v1/tickets/{ticket}/suggestions"), "get",
          "/api/v1/tickets/{ticket_id}/suggestions", 200)  # fmt: skip
    check(agent.get(f"/api/v1/tickets/{ticket}/template?template={draft['id']}&lang=en"), "get",
          "/api/v1/tickets/{ticket_id}/template", 200)  # fmt: skip
    check(call(requester, "POST", f"{public}/helped", {}), "post", act, 200)
    gap = {"subject": "Нет статьи", "description": "Спрашивают снова", "tickets": [ticket]}
    check(call(agent, "POST", "/api/v1/kb/gaps", gap), "post", "/api/v1/kb/gaps", 201)
    check(method.get("/api/v1/kb/usage"), "get", "/api/v1/kb/usage", 200)
    check(call(method, "POST", f"{a}/archive", {"reason": "Устарела"}), "post", act, 200)


def incident_story(site: Site, check: Answers, ticket: str) -> None:
    """An incident opened by hand, a request linked, told, taken out, the incident resolved;
    another (opened by hand, not proposed) cannot be dismissed."""
    dev = site.sign_in("developer")
    incidents = "/api/v1/incidents"
    one = f"{incidents}/{{incident_id}}"
    opened = check(call(dev, "POST", incidents, {"title": "Сбой подписи", "description": "ЭП",
                                                 "criteria": {"words": ["подпись"]}}),
                   "post", incidents, 201)  # fmt: skip
    i = f"{incidents}/{opened['id']}"
    check(call(dev, "POST", f"{i}/links", {"tickets": [ticket]}), "post", f"{one}/links", 200)
    update = check(call(dev, "POST", f"{i}/updates", {"body": "Чиним."}), "post",
                   f"{one}/updates", 200)  # fmt: skip
    told = check(dev.get(f"{incidents}?after={update['position']}"), "get", incidents, 200)
    assert told["open"]
    check(dev.get(i), "get", one, 200)
    check(call(dev, "DELETE", f"{i}/links/{ticket}"), "delete", f"{one}/links/{{ticket_id}}", 200)
    resolved = check(call(dev, "POST", f"{i}/resolution", {"answer": "Починили.",
                                                           "resolve_requests": False}),
                     "post", f"{one}/resolution", 200)  # fmt: skip
    other = check(call(dev, "POST", incidents, {"title": "Ложная", "description": "—"}), "post",
                  incidents, 201)  # fmt: skip
    dismissed = call(dev, "POST", f"{incidents}/{other['id']}/dismissal", {"reason": "Не сбой"})
    assert check(dismissed, "post", f"{one}/dismissal", 409)["error"]["code"] == (
        "invalid_transition"
    )  # only a trigger's proposal is dismissed
    done = check(dev.get(f"{i}?after={resolved['position']}"), "get", one, 200)  # its views
    assert done["incident"]["status"] == "resolved"


def audit_story(site: Site, check: Answers, ticket: str) -> None:
    """A seal and both checks made, then read by an auditor with the exports."""
    auditor, svc = site.sign_in("auditor"), site.services
    audit = "/api/v1/audit"
    check(auditor.get(f"{audit}/checks/last"), "get", f"{audit}/checks/last", 200)
    check(auditor.get(f"{audit}/seals/checks/last"), "get", f"{audit}/seals/checks/last", 200)
    assert make_seal(svc.settings, svc.desk, svc.projections.db) is not None
    run_check(
        svc.desk,
        svc.projections.db,
        background._record_start(svc.projections.db, "audit_checks") or 0,
    )
    number = background._record_start(svc.projections.db, "audit_seal_checks") or 0
    finish_seal_check(svc.settings, svc.desk, svc.projections.db, number)  # fmt: skip
    last = check(auditor.get(f"{audit}/checks/last"), "get", f"{audit}/checks/last", 200)
    assert last["last"]["ok"], last
    sealed = check(auditor.get(f"{audit}/seals/checks/last"), "get",
                   f"{audit}/seals/checks/last", 200)  # fmt: skip
    assert sealed["last"]["report"]["seals"] == 1
    assert check(auditor.get(f"{audit}/seals"), "get", f"{audit}/seals", 200)["seals"]
    check(auditor.get(f"{audit}/seals?format=jsonl"), "get", f"{audit}/seals", 200)
    check(auditor.get(f"{audit}/public-key"), "get", f"{audit}/public-key", 200)
    check(auditor.get(f"{audit}/export?from=2000-01-01&to=2100-01-01"), "get",
          f"{audit}/export", 200)  # fmt: skip
    for path in ("/api/openapi.json", "/api/v1/asyncapi.json", "/api/docs"):
        check(auditor.get(path), "get", path, 200)
    figures = check(auditor.get("/api/v1/analytics?by=category"), "get", "/api/v1/analytics", 200)
    assert figures["total"]["filed"] >= 1, figures
    rollups = "/api/v1/analytics/quality"
    check(site.sign_in("quality").get(rollups), "get", rollups, 200)


def refusals_story(site: Site, check: Answers, ticket: str) -> None:
    """Refusals of every kind are problems of the documented shape."""
    agent, requester, nobody = site.sign_in("agent"), site.sign_in("requester"), site.new_client()
    one, tickets = f"/api/v1/tickets/{ticket}", "/api/v1/tickets/{ticket_id}"
    stale = check(call(agent, "POST", f"{one}/notes", {"body": "x", "version": 1}), "post",
                  f"{tickets}/notes", 409)  # fmt: skip
    assert stale["error"]["current_version"] > 1
    check(call(agent, "POST", f"{one}/notes", {"body": "x"}), "post", f"{tickets}/notes", 422)
    check(
        agent.client.post(
            f"{one}/notes",
            content=b"{",
            headers={**agent.headers(), "content-type": "application/json"},
        ),
        "post",
        f"{tickets}/notes",
        400,
    )
    check(
        agent.client.post(
            f"{one}/notes", content=b"x", headers={**agent.headers(), "content-type": "text/plain"}
        ),
        "post",
        f"{tickets}/notes",
        415,
    )
    check(call(nobody, "GET", "/api/v1/me"), "get", "/api/v1/me", 401)
    check(requester.get("/api/v1/directory"), "get", "/api/v1/directory", 403)
    check(agent.get(f"/api/v1/tickets/{'0' * 8}-0000-4000-8000-{'0' * 12}"), "get", tickets, 404)
    check(call(requester, "PUT", "/api/v1/me", {}), "get", "/api/v1/me", 405)


def test_an_answer_with_a_field_not_described_does_not_fit() -> None:
    answers = Answers()
    written = {"id": "6f1c0b9e-1d2a-4c3b-9a8e-0d5f1e2a3b4c", "position": 7, "version": 2}
    path = "/api/v1/tickets/{ticket_id}/replies"
    answers(httpx.Response(200, json=written), "post", path, 200)
    with pytest.raises(AssertionError, match="Additional properties"):
        answers(httpx.Response(200, json={**written, "secret": "x"}), "post", path, 200)
    with pytest.raises(AssertionError, match="is not a"):
        answers(httpx.Response(200, json={**written, "id": "7"}), "post", path, 200)
