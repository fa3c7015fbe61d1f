"""The desk's filter, saved views and bulk actions through HTTP (issue 18): a filter is a URL
whose bad values the form names (never a 500), a saved view shows in the sidebar with its live
count for whom it is meant, and a bulk action sends each request its own command, refusing each
on its own (a request changed since the list showed it is a conflict) and saying why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from uuid import UUID

import httpx
import pytest

from domain.article import Audience, Content, Kind
from domain.incident_commands import OpenIncident
from domain.settings import Settings
from tests.web.desk_site import LEAKS, LOGINS, ORIGIN, PASSWORD, Site, TestClient, open_site
from web.ui import bulk_actions

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


class Browser:
    """A person using the UI without scripts: plain forms, the session's CSRF token."""

    def __init__(self, site: Site, who: str, lang: str = "en") -> None:
        self.client: TestClient = site.new_client()
        self.client.headers["Accept-Language"] = lang
        r = self.client.post("/login", data={"login": LOGINS[who], "password": PASSWORD},
                             headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
        found = re.search(r'"X-CSRF-Token": "([^"]+)"', self.client.get("/desk").text)
        assert found
        self.csrf = found.group(1)

    def get(self, path: str) -> httpx.Response:
        r: httpx.Response = self.client.get(path, follow_redirects=False)
        return r

    def post(self, path: str, data: dict[str, str | list[str]]) -> httpx.Response:
        r: httpx.Response = self.client.post(
            path, data={"csrf_token": self.csrf, **data}, headers={"Origin": ORIGIN},
            follow_redirects=False,
        )  # fmt: skip
        return r


def listed(html: str) -> set[str]:
    """The requests the list shows (their ids)."""
    return set(re.findall(r'<tr data-ticket="([0-9a-f-]{36})">', html))


def picks(html: str) -> dict[str, str]:
    """Each listed request's checkbox value (id:version)."""
    found = re.findall(r'name="pick" value="([0-9a-f-]{36}):(\d+)"', html)
    return {ticket: f"{ticket}:{seen}" for ticket, seen in found}


def version(site: Site, ticket: str) -> int:
    return site.services.desk.ticket(site.world.admin, UUID(ticket)).version


def test_a_filter_is_a_url_and_a_bad_value_is_named_not_a_500(site: Site) -> None:
    w = site.world
    first, second = w.file(subject="Первая").id, w.file(subject="Вторая").id
    up = w.file(subject="Наверх").id
    last = w.desk.escalate(w.agent, up, w.line2, "Нужен инженер").position
    agent = Browser(site, "agent")
    r = agent.get(f"/desk?line=2&status=active&after={last}")
    assert r.status_code == 200 and listed(r.text) == {str(up)}
    assert 'name="line" value="2" checked' in r.text  # the form shows what the URL says
    r = agent.get("/desk?line=1&sort=oldest")
    assert listed(r.text) == {str(first), str(second)}
    assert r.text.index(str(first)) < r.text.index(str(second))
    assert agent.get("/desk?queue=filter").status_code == 200
    for bad, field, message in (("line=9", "line", "Choose from the list."),
                                ("from=2026-13-01", "from", "Give the date as YYYY-MM-DD."),
                                ("from=2026-02-02&to=2026-02-01", "to",
                                 "The end date is before the start date."),
                                ("sort=%3Cscript%3E", "sort", "Choose from the list."),
                                ("group=nope", "group", "Choose from the list."),
                                ("assignee=1%27%20OR%201=1", "assignee",
                                 "Choose from the list.")):  # fmt: skip
        r = agent.get(f"/desk?{bad}&status=active")
        assert r.status_code == 422, bad
        assert f'<p class="field-error" id="e-{field}">{message}</p>' in r.text, bad
        assert "<script>" not in r.text
    r = Browser(site, "agent", "ru").get("/desk?line=9")
    assert r.status_code == 422 and "Выберите значение из списка." in r.text
    r = agent.get("/desk?queue=filter&cursor=%27;DROP")
    assert r.status_code == 200 and len(listed(r.text)) == 3
    assert Browser(site, "requester").get("/desk?line=1").status_code == 403


def test_a_saved_view_shows_its_live_count_to_whom_it_is_meant(site: Site) -> None:
    w = site.world
    w.file(subject="Первая")
    up = w.file(subject="Наверх").id
    w.desk.escalate(w.agent, up, w.line2, "Нужен инженер")
    agent, engineer = Browser(site, "agent"), Browser(site, "engineer")
    admin = Browser(site, "admin")
    r = agent.post("/desk/views", {"name": "Линия 2", "query": "status=active&line=2",
                                   "shared": "1"})  # fmt: skip
    assert r.status_code == 303, r.text
    shared = re.search(r"view=([0-9a-f-]{36})", r.headers["location"])
    assert shared
    r = agent.post("/desk/views", {"name": "Только мои", "query": "assignee=me"})
    mine = re.search(r"view=([0-9a-f-]{36})", r.headers["location"])
    assert mine
    page = agent.get(r.headers["location"]).text
    assert f'data-count="view:{shared.group(1)}">1<' in page
    assert f'data-count="view:{mine.group(1)}">0<' in page
    assert "Только мои" in page and 'data-live-topics="queues presence activity"' in page
    # the engineer sees the shared view (not the agent's own), and may not change it
    page = engineer.get("/desk").text
    assert "Линия 2" in page and "Только мои" not in page
    assert listed(engineer.get(f"/desk?view={shared.group(1)}").text) == {str(up)}
    assert engineer.get(f"/desk?view={mine.group(1)}").status_code == 404
    r = engineer.post("/desk/views", {"op": "delete", "view_id": shared.group(1)})
    assert r.status_code == 403
    # the count follows a change: another request escalated to line 2
    moved = w.desk.escalate(w.agent, w.file(subject="Ещё").id, w.line2, "Тоже").position
    page = engineer.get(f"/desk?part=counts&view={shared.group(1)}&after={moved}").text
    assert f'data-count="view:{shared.group(1)}">2<' in page
    # a nameless view is refused at the field, nothing saved
    r = agent.post("/desk/views", {"name": " ", "query": "line=1"})
    assert r.status_code == 422 and 'id="e-view-name"' in r.text
    assert "Give the view a name." in r.text
    # an administrator deletes the shared view; it is gone for everyone
    r = admin.post("/desk/views", {"op": "delete", "view_id": shared.group(1)})
    assert r.status_code == 303
    gone = r.headers["location"].split("after=")[1]
    assert "Линия 2" not in engineer.get(f"/desk?after={gone}").text


def test_a_bulk_action_sends_each_request_its_own_command_and_says_which_were_refused(
    site: Site,
) -> None:
    w = site.world
    a, b, c = (w.file(subject=s).id for s in ("Первая", "Вторая", "Третья"))
    closed = w.file(subject="Закрытая").id
    w.desk.resolve(w.agent, closed, "Готово")
    last = w.desk.close_ticket(w.agent, closed).position
    agent = Browser(site, "agent")
    page = agent.get(f"/desk?queue=filter&after={last}").text
    shown = picks(page)
    assert set(shown) == {str(a), str(b), str(c), str(closed)}
    w.desk.reply(w.engineer, c, "Смотрим")  # changed since the list showed it
    before = {t: version(site, t) for t in map(str, (a, b, c, closed))}
    ticked = [shown[str(t)] for t in (a, b, c, closed)]
    r = agent.post("/desk/bulk", {"action": "assign", "assignee": "me", "pick": ticked,
                                  "back": "/desk?queue=filter"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert "Done for 2 of 4 requests." in r.text
    found = re.findall(r'<tr class="(done|refused)" data-ticket="([0-9a-f-]{36})">(.*?)</tr>',
                       r.text, re.S)  # fmt: skip
    outcome = {t: (state, " ".join(cell.split())) for state, t, cell in found}
    assert {t: state for t, (state, _) in outcome.items()} == {
        str(a): "done",
        str(b): "done",
        str(c): "refused",
        str(closed): "refused",
    }
    assert "This was changed meanwhile: you saw version" in outcome[str(c)][1]
    assert "is closed; file a new request." in outcome[str(closed)][1]
    after = {t: version(site, t) for t in before}
    assert after[str(a)] == before[str(a)] + 1 and after[str(b)] == before[str(b)] + 1
    assert after[str(c)] == before[str(c)] and after[str(closed)] == before[str(closed)]
    for t in (a, b):
        assert w.desk.ticket(w.admin, t).assignee_id == w.agent.id
    # in Russian, each refusal is said in Russian
    russian = Browser(site, "agent", "ru")
    r = russian.post("/desk/bulk", {"action": "priority", "priority": "high",
                                    "pick": [f"{closed}:{after[str(closed)]}"]})  # fmt: skip
    assert "закрыт" in r.text and "Done for" not in r.text
    # a value at fault changes nothing at all
    r = agent.post("/desk/bulk", {"action": "transfer", "group": "", "reason": "x",
                                  "pick": [f"{a}:{after[str(a)]}"]})  # fmt: skip
    assert r.status_code == 422 and "Choose a group." in r.text
    r = agent.post("/desk/bulk", {"action": "resolve", "pick": [f"{a}:{after[str(a)]}"]})
    assert r.status_code == 422
    r = agent.post("/desk/bulk", {"action": "assign", "assignee": "me", "pick": ["nope"]})
    assert r.status_code == 422
    assert version(site, str(a)) == after[str(a)]
    # read-only staff are refused each request, and nothing changes
    auditor = Browser(site, "auditor")
    r = auditor.post("/desk/bulk", {"action": "resolve", "reason": "Готово",
                                    "pick": [f"{a}:{after[str(a)]}"]})  # fmt: skip
    assert "Done for 0 of 1 requests." in r.text and version(site, str(a)) == after[str(a)]
    assert Browser(site, "requester").post("/desk/bulk", {"action": "assign"}).status_code == 403
    # resolving in bulk, then a tag (each its own command, in each request's history)
    both = [f"{a}:{after[str(a)]}", f"{b}:{after[str(b)]}"]
    r = agent.post("/desk/bulk", {"action": "resolve", "reason": "Исправлено в версии 12",
                                  "pick": both})  # fmt: skip
    assert "Done for 2 of 2 requests." in r.text
    assert w.desk.ticket(w.admin, a).resolution == "Исправлено в версии 12"
    r = agent.post("/desk/bulk", {"action": "tag", "tag": "релиз-12",
                                  "pick": [f"{c}:{version(site, str(c))}"]})  # fmt: skip
    assert "Done for 1 of 1 requests." in r.text
    assert "релиз-12" in w.desk.ticket(w.admin, c).tags
    # resolving with an answer template: filled in for each request
    m = w.methodologist
    template = w.desk.draft_article(
        m,
        Kind.ANSWER_TEMPLATE,
        Content("Исправлено", "Fixed", "Обращение {ticket_number} решено.", "", Audience.PUBLIC),
    ).id
    w.desk.submit_article(m, template)
    w.desk.review_article(w.admin, template, True)
    w.desk.publish_article(m, template)
    e, f = w.file(subject="Пятая").id, w.file(subject="Шестая").id
    ticked = [f"{t}:{version(site, str(t))}" for t in (e, f)]
    r = agent.post("/desk/bulk", {"action": "resolve", "template": str(template),
                                  "pick": ticked})  # fmt: skip
    assert "Done for 2 of 2 requests." in r.text
    for t in (e, f):
        ticket = w.desk.ticket(w.admin, t)
        assert ticket.resolution == f"Обращение {ticket.number} решено."
    # linking to a mass incident: the request moved since is refused, the other linked
    incident = w.desk.handle(w.developer, OpenIncident("Сбой подписи", "Не подписываются")).id
    d = w.file(subject="Четвёртая").id
    stale = f"{c}:{version(site, str(c)) - 1}"
    r = agent.post("/desk/bulk", {"action": "link", "incident": str(incident),
                                  "pick": [f"{d}:{version(site, str(d))}", stale]})  # fmt: skip
    assert "Done for 1 of 2 requests." in r.text and "This was changed meanwhile" in r.text
    assert str(d) in r.text
    # transferring to line 2 with a reason: recorded on the request, with who and why
    r = agent.post("/desk/bulk", {"action": "transfer", "group": str(w.line2),
                                  "reason": "Профиль второй линии",
                                  "pick": [f"{d}:{version(site, str(d))}"]})  # fmt: skip
    assert "Done for 1 of 1 requests." in r.text
    assert w.desk.ticket(w.admin, d).group_id == w.line2


def test_a_bulk_action_on_every_request_of_a_filter_reaches_those_past_the_first_page(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = site.world
    many = [w.file(subject=f"Массовая {n}").id for n in range(53)]
    up = w.file(subject="Наверх").id
    w.desk.escalate(w.agent, up, w.line2, "Нужен инженер")
    theirs = w.file(subject="Чужая").id
    last = w.desk.escalate(w.agent, theirs, w.line2, "Тоже").position
    agent, engineer = Browser(site, "agent"), Browser(site, "engineer")
    page = agent.get(f"/desk?line=1&status=active&after={last}").text
    assert len(listed(page)) == 50 and "cursor=" in page  # a second page
    assert "all 53 requests of this filter, on every page" in page
    assert 'name="filter" value="status=active&amp;line=1"' in page
    r = agent.post("/desk/bulk", {"action": "tag", "tag": "massfix", "scope": "filter",
                                  "filter": "line=1&status=active", "pick": []})  # fmt: skip
    assert r.status_code == 200, r.text
    assert "Done for 53 of 53 requests." in r.text
    for t in many:
        assert "massfix" in w.desk.ticket(w.admin, t).tags
    assert "massfix" not in w.desk.ticket(w.admin, up).tags
    # a saved view's filter: the engineer's own, the line-2 requests only
    r = engineer.post("/desk/views", {"name": "Вторая линия", "query": "status=active&line=2"})
    view = re.search(r"view=([0-9a-f-]{36})", r.headers["location"])
    assert view
    assert "all 2 requests of this filter" in engineer.get(r.headers["location"]).text
    mine = f"view={view.group(1)}"
    r = engineer.post("/desk/bulk", {"action": "priority", "priority": "high",
                                     "scope": "filter", "filter": mine})  # fmt: skip
    assert "Done for 2 of 2 requests." in r.text, r.text
    assert {w.desk.ticket(w.admin, t).priority.value for t in (up, theirs)} == {"high"}
    # another's private view, a bad filter, a filter naming none: refused, nothing changed
    head = site.services.desk.recorder.max_notification_id()
    for data, says in (
        ({"filter": mine}, "No such view."),
        ({"filter": "line=7"}, "This filter cannot be applied"),
        ({"filter": "tag=nothing-has-it"}, "The filter names no requests."),
    ):
        r = agent.post("/desk/bulk", {"action": "priority", "priority": "low", "scope": "filter",
                                      **data})  # fmt: skip
        assert r.status_code == 422 and says in r.text, (data, r.text)
    # more than a bulk action may take at once: refused whole, nothing changed
    monkeypatch.setattr(bulk_actions, "MAX_PICKS", 50)
    r = agent.post("/desk/bulk", {"action": "priority", "priority": "low", "scope": "filter",
                                  "filter": "line=1&status=active"})  # fmt: skip
    assert r.status_code == 422 and "narrow it" in r.text
    assert site.services.desk.recorder.max_notification_id() == head
