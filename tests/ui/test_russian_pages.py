"""Russian everywhere a Russian user goes: every role's pages, read with the `suz_lang=ru`
cookie, show no raw key (a snake_case identifier, an enum's value, an event's class name) and no
English domain message in their visible text; an anonymous requester's files are his, not the
System's; the history's lines do not decline a name they cannot decline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from domain.errors import Conflict
from domain.settings import Settings
from domain.ticket import Ticket
from domain.tickets.values import Channel, LinkKind, Priority, Status, TicketKind
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, open_site
from web.ui import i18n
from web.ui.refusals import translated

pytestmark = LEAKS
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
EVENTS = {c.__name__ for c in vars(Ticket).values() if isinstance(c, type)
          and issubclass(c, Ticket.Event)}  # fmt: skip
# values a Russian page must show in words: lower-case enum values in a Russian sentence
ENUM_WORDS = {str(v.value) for kind in (Priority, LinkKind, Status, Channel, TicketKind)
              for v in kind}  # fmt: skip
# English domain messages the desk raises with values in them (caught before translation)
ENGLISH = re.compile(r"\b(The priority is already|is closed; file a new|is resolved; reopen"
                     r"|No such|This was changed meanwhile|Please fill in)\b")  # fmt: skip
SKIPPED = {"script", "style", "code", "pre", "textarea", "template"}


class VisibleText(HTMLParser):
    """The page's text nodes a reader sees (not scripts, styles, code or attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.nodes: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in SKIPPED:
            self.inside += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.inside = max(0, self.inside - 1)

    def handle_data(self, data: str) -> None:
        if not self.inside and data.strip():
            self.nodes.append(" ".join(data.split()))


def visible(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.nodes


def raw_keys(html: str, lang: str = "ru") -> list[str]:
    """Text nodes holding a raw key: snake_case or an event's name; in Russian also an enum's
    value among Cyrillic words, or an English domain message."""
    found = []
    for node in visible(html):
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", node))
        cyrillic = re.search(r"[а-яё]", node, re.IGNORECASE)
        english = lang == "ru" and ENGLISH.search(node)
        # in English "Resolved" is a word; an event's name of two words is still a key
        events = EVENTS if lang == "ru" else {e for e in EVENTS if re.search(r"[a-z][A-Z]", e)}
        # in Russian an enum's value among Cyrillic words, or alone (an option's text)
        enum = lang == "ru" and (cyrillic or node in ENUM_WORDS) and words & ENUM_WORDS
        if SNAKE.search(node) or words & events or english or enum:
            found.append(node)
    return found


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def russian(site: Site, who: str, lang: str = "ru") -> Person:
    p = site.sign_in(who)
    p.client.cookies.set("suz_lang", lang)
    return p


def act(site: Site, p: Person, ticket: str, action: str, **form: str) -> httpx.Response:
    """An action form posted by htmx against the request's latest version (read from the
    write side, which views on PostgreSQL may lag behind)."""
    version = str(site.services.desk.ticket(site.world.admin, UUID(ticket)).version)
    headers = {"X-CSRF-Token": p.csrf, "Origin": ORIGIN, "HX-Request": "true"}
    data = {"version": version, **form}
    r: httpx.Response = p.client.post(f"/t/{ticket}/act/{action}", data=data, headers=headers)
    return r


def fresh(site: Site, path: str) -> str:
    """`path` read once the views hold every write so far (read-your-writes)."""
    head = site.services.desk.recorder.max_notification_id() or 0
    return f"{path}{'&' if '?' in path else '?'}after={head}"


def visitor_request(site: Site) -> tuple[str, str]:
    """A request filed from the public form by Анна Смирнова, who then attaches a file through
    her private link: (its id, the link's key)."""
    visitor = site.new_client()
    body = {**site.filing(), "contact_name": "Анна Смирнова", "contact_email": "anna@example.org"}
    r = visitor.post("/api/v1/tickets", json=body, headers={"Origin": ORIGIN})
    assert r.status_code == 201, r.text
    filed = r.json()
    up = visitor.post(f"/api/v1/tickets/{filed['id']}/attachments",
                      files={"file": ("скан.png", PNG, "image/png")},
                      data={"version": str(filed["version"])},
                      headers={"X-Ticket-Key": filed["key"]})  # fmt: skip
    assert up.status_code == 201, up.text
    return str(filed["id"]), str(filed["key"])


def worked_request(site: Site) -> str:
    """A request that went through most of a ticket's life: assigned, prioritised, linked,
    escalated, resolved and rated."""
    w = site.world
    first = site.file(site.sign_in("requester"))["id"]
    other = site.file(site.sign_in("requester"))
    agent, engineer = russian(site, "agent"), russian(site, "engineer")
    steps = [
        (agent, "assign", {"group": str(w.line1), "assignee": str(w.agent.id)}),
        (agent, "priority", {"priority": "high", "reason": "срочно"}),
        (agent, "link", {"other": str(other["number"]), "kind": "duplicate_of"}),
        (agent, "note", {"body": "Проверим подпись"}),
        (agent, "escalate", {"group": str(w.line2), "reason": "нужна вторая линия"}),
        (agent, "gap", {"subject": "Нет статьи о сертификатах", "description": "Частый вопрос"}),
        (engineer, "resolve", {"resolution": "Сертификат обновлён"}),
    ]
    for person, action, form in steps:
        r = act(site, person, first, action, **form)
        assert r.status_code == 200 and 'role="alert"' not in r.text, (action, r.text[:2000])
    return str(first)


def gap(site: Site, ticket: str) -> str:
    """The knowledge gap raised from `ticket`."""
    links = site.services.desk.ticket(site.world.admin, UUID(ticket)).links
    return next(str(other) for other, kind in links if str(kind) == "knowledge_gap")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_no_raw_keys_on_any_role_s_pages(site: Site, lang: str) -> None:
    ticket = worked_request(site)
    anonymous, key = visitor_request(site)
    pages = {
        "agent": ["/", f"/t/{ticket}", f"/t/{ticket}/history", f"/t/{anonymous}", "/kb",
                  "/notifications", "/activity", "/incidents", "/quality/mine"],
        "engineer": [f"/t/{ticket}", "/notifications"],
        "methodologist": ["/kb", "/kb/gaps", "/kb/new", "/notifications", "/",
                          f"/t/{gap(site, ticket)}"],
        "curator": ["/analytics", "/analytics/kb", "/analytics/report", "/activity", "/quality",
                    f"/t/{ticket}"],
        "quality": ["/quality", f"/t/{ticket}/history"],
        "auditor": ["/audit", f"/t/{ticket}/history"],
        "admin": ["/admin/accounts", "/admin/groups", "/admin/categories",
                  f"/admin/categories/{site.world.contracts}", f"/admin/groups/{site.world.line1}",
                  "/admin/organisations", "/admin/routing", "/admin/sla", "/admin/triggers",
                  "/kb/settings", "/me"],
        "requester": ["/my", "/new", f"/r/{ticket}", f"/t/{ticket}/history", "/notifications",
                      "/me"],
    }  # fmt: skip
    leaks = {}
    for who, paths in pages.items():
        person = russian(site, who, lang)
        for path in paths:
            r = person.get(fresh(site, path))
            assert r.status_code == 200, (who, path, r.status_code)
            found = raw_keys(r.text, lang)
            if found:
                leaks[f"{who} {path}"] = found
    visitor = site.new_client()
    visitor.cookies.set("suz_lang", lang)
    r = visitor.get(fresh(site, f"/r/{anonymous}?key={key}"))
    assert r.status_code == 200 and "скан.png" in r.text, r.status_code
    if raw_keys(r.text, lang):
        leaks["visitor"] = raw_keys(r.text, lang)
    assert not leaks, "\n".join(f"{page}: {found}" for page, found in leaks.items())


def test_a_domain_message_with_values_is_shown_in_russian(site: Site) -> None:
    ticket = str(site.file(site.sign_in("requester"))["id"])
    agent = russian(site, "agent")
    assert act(site, agent, ticket, "priority", priority="high", reason="").status_code == 200
    again = act(site, agent, ticket, "priority", priority="high", reason="")
    assert again.status_code == 422, again.text
    assert "Приоритет уже" in again.text and "«Высокий»" in again.text
    assert not raw_keys(again.text), raw_keys(again.text)


def test_an_anonymous_requester_s_file_is_attributed_to_her(site: Site) -> None:
    anonymous, key = visitor_request(site)
    for path, person in ((f"/t/{anonymous}", russian(site, "agent")),
                         (f"/t/{anonymous}/history", russian(site, "auditor"))):  # fmt: skip
        html = person.get(fresh(site, path)).text
        line = next(n for n in re.findall(r'<li[^>]*data-event="AttachmentAdded".*?</li>', html,
                                          re.S))  # fmt: skip
        assert "Анна Смирнова" in line, line
        assert "Система" not in line, line
    english = site.sign_in("agent")
    english.client.cookies.set("suz_lang", "en")
    line = re.search(r'<li[^>]*data-event="AttachmentAdded".*?</li>',
                     english.get(fresh(site, f"/t/{anonymous}")).text, re.S)  # fmt: skip
    assert line and "Анна Смирнова" in line.group(0) and "System" not in line.group(0)
    visitor = site.new_client()
    visitor.cookies.set("suz_lang", "ru")
    page = visitor.get(fresh(site, f"/r/{anonymous}?key={key}")).text
    # her page shows the file on her side of the conversation (folded into her bubble)
    bubbles = re.findall(
        r'<li class="entry (\w+) ev-\w+".*?(?=<li class="entry |</ol>)', page, re.S
    )
    mine = re.findall(r'<li class="entry mine ev-\w+".*?(?=<li class="entry |</ol>)', page, re.S)
    assert bubbles and any("скан.png" in b for b in mine), page
    assert "Служба поддержки" not in page


def test_history_lines_do_not_decline_names(site: Site) -> None:
    ticket = worked_request(site)
    html = russian(site, "agent").get(fresh(site, f"/t/{ticket}")).text
    lines = [" ".join(visible(m)) for m in
             re.findall(r'<li[^>]*data-event="Assigned".*?</li>', html, re.S)]  # fmt: skip
    assigned = next((line for line in lines if "Agent1" in line.split("·", 1)[-1]), None)
    assert assigned is not None, lines
    assert "назначил(а) обращение на" not in assigned, assigned
    assert "исполнителя: Agent1" in assigned, assigned
    routed = next(line for line in lines if line is not assigned)
    assert "в группу «line1»" in routed, routed
    priority = re.search(r'<li[^>]*data-event="PriorityChanged".*?</li>', html, re.S)
    assert priority and "Высокий" in " ".join(visible(priority.group(0)))


def test_refusals_with_values_are_said_from_translated_templates() -> None:
    stale = Conflict(uuid4(), 3, 5).message
    i18n.use("ru")
    try:
        said = translated(stale)
        assert said.startswith("Пока вы работали") and "версию 3" in said and "версия 5" in said
        assert translated("Request 42 is closed; file a new request.").startswith(
            "Обращение № 42 закрыто"
        )
        assert translated("Name a group or an agent to assign to.").startswith("Укажите группу")
        assert translated("Something no one wrote down.") == "Something no one wrote down."
        i18n.use("en")
        assert translated(stale) == stale
    finally:
        i18n.use("ru")


def test_a_closed_request_refuses_in_russian(site: Site) -> None:
    ticket = str(site.file(site.sign_in("requester"))["id"])
    agent = russian(site, "agent")
    assert act(site, agent, ticket, "resolve", resolution="Готово").status_code == 200
    assert act(site, agent, ticket, "close", reason="").status_code == 200
    refused = act(site, agent, ticket, "priority", priority="high", reason="")
    assert refused.status_code in (409, 422), refused.text
    assert "закрыто; подайте новое обращение" in refused.text, refused.text[-3000:]
