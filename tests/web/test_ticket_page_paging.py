"""A long request's pages open on their newest entries and load earlier ones on demand.

An agent and a requester follow "show earlier" back to the filing: every entry they may see comes
exactly once, in order, whatever the number of entries around the page size; the requester's
bubbles are exactly those of his whole chat drawn at once (files sent after a message join it,
answers keep their questions), and no internal note reaches him through any cursor, crafted or
not. New entries are appended live after the version the page shows. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from domain.errors import DeskError
from domain.settings import Settings
from domain.ticket import Attachment
from tests.web.desk_site import LEAKS, Person, Site, open_site
from web.ui import requester_request
from web.ui.timeline_window import PAGE

pytestmark = LEAKS
SECRET = "СЕКРЕТ"  # every internal note carries it
STAFF_ENTRY = re.compile(r'<li class="entry[^"]*" data-version="(\d+)"')
BUBBLE = re.compile(r'<li class="entry [^"]*" data-version="\d+" id="e\d+">.*?</li>', re.S)
EARLIER = re.compile(r'hx-get="(/[tr]/[0-9a-f-]{36}/earlier\?before=(\d+))"')


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def head(site: Site) -> int:
    return site.services.desk.recorder.max_notification_id() or 0


def get(who: Person, path: str, htmx: bool = False) -> httpx.Response:
    r: httpx.Response = who.client.get(path, headers={"HX-Request": "true"} if htmx else {},
                                       follow_redirects=False)  # fmt: skip
    return r


def grow(site: Site, ticket: UUID, replies: int, notes_every: int = 0) -> None:
    """`replies` replies from the agent (every `notes_every`-th an internal note instead)."""
    for i in range(replies):
        if notes_every and i % notes_every == notes_every - 1:
            site.world.desk.note(site.world.agent, ticket, f"{SECRET} заметка {i}")
        else:
            site.world.desk.reply(site.world.agent, ticket, f"Ответ **{i}**")


def staff_entries(html: str) -> list[str]:
    return STAFF_ENTRY.findall(html)


def bubbles(html: str) -> list[str]:
    """The requester's bubbles, whole, without their times (they say "a minute ago")."""
    return [re.sub(r"<time[^>]*>[^<]*</time>", "", b) for b in BUBBLE.findall(html)]


def version_of(item: str) -> int:
    return int(re.findall(r'data-version="(\d+)"', item)[0]) if "<li" in item else int(item)


def walk(who: Person, first: str, items: Callable[[str], list[str]]) -> tuple[list[str], str]:
    """Opens `first`, then "show earlier" until the filing: what `items` finds of the entries,
    in the order the page shows them, and every answer read on the way."""
    page = get(who, first)
    assert page.status_code == 200, page.text
    pages, answers = [items(page.text)], page.text
    found = EARLIER.search(page.text)
    while found:
        more = get(who, found.group(1).replace("&amp;", "&"), htmx=True)
        assert more.status_code == 200, more.text
        shown = items(more.text)
        assert shown, "each step brings entries"
        assert version_of(shown[-1]) < int(found.group(2)), "all of them earlier"
        pages.insert(0, shown)
        answers += more.text
        found = EARLIER.search(more.text)
    return [e for p in pages for e in p], answers


# -- the agent's page -------------------------------------------------------------------------
def test_the_agent_reads_every_entry_once_in_order_around_the_page_size(site: Site) -> None:
    agent = site.sign_in("agent")
    for total in (PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 2 * PAGE + 1):
        filed = site.world.file(f"Заявка на {total} записей")  # Filed and Assigned: 2 entries
        grow(site, filed.id, total - 2, notes_every=4)
        page = get(agent, f"/t/{filed.id}?after={head(site)}").text
        shown = [int(v) for v in STAFF_ENTRY.findall(page)]
        assert shown == list(range(max(1, total - PAGE + 1), total + 1)), total
        button = EARLIER.search(page)
        assert (button is not None) == (total > PAGE), total
        if button:
            assert f"({total - PAGE})" in page, "the button says how many are earlier"
        entries, _ = walk(agent, f"/t/{filed.id}", staff_entries)
        assert [int(v) for v in entries] == list(range(1, total + 1)), total


def test_new_entries_are_appended_after_the_version_the_page_shows(site: Site) -> None:
    agent = site.sign_in("agent")
    filed = site.world.file()
    grow(site, filed.id, PAGE + 3)
    page = get(agent, f"/t/{filed.id}?after={head(site)}").text
    seen = int(re.findall(r'id="seen-version" name="version" value="(\d+)"', page)[0])
    assert 'hx-include="#seen-version"' in page and 'hx-swap="beforeend"' in page
    site.world.desk.reply(site.world.agent, filed.id, "Новый ответ")
    site.world.desk.note(site.world.agent, filed.id, "Новая заметка")
    live = get(agent, f"/t/{filed.id}?part=timeline&version={seen}&after={head(site)}", True)
    assert live.status_code == 200, live.text
    assert [int(v) for v in STAFF_ENTRY.findall(live.text)] == [seen + 1, seen + 2]
    assert "Новый ответ" in live.text and "Новая заметка" in live.text
    assert f'value="{seen + 2}" hx-swap-oob="true"' in live.text, "the version shown moves on"
    assert 'id="timeline"' not in live.text and "HX-Retarget" not in live.headers
    nothing = get(agent, f"/t/{filed.id}?part=timeline&version={seen + 2}", True)
    assert STAFF_ENTRY.findall(nothing.text) == []
    # a page that was away for more than a page of changes gets the newest page anew
    away = get(agent, f"/t/{filed.id}?part=timeline&version=1", True)
    assert away.headers["HX-Retarget"] == "#timeline" and away.headers["HX-Reswap"] == "outerHTML"
    assert len(STAFF_ENTRY.findall(away.text)) == PAGE and EARLIER.search(away.text)


# -- the requester's page ---------------------------------------------------------------------
PNG = "0" * 64
STORY = st.lists(st.sampled_from(("reply", "note", "write", "file", "ask", "answer")),
                 min_size=1, max_size=14)  # fmt: skip


def test_the_requester_pages_back_to_the_same_chat_drawn_whole(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    requester = site.sign_in("requester")
    desk, w = site.world.desk, site.world

    def step(kind: str, ticket: UUID, n: int) -> None:
        if kind == "reply":
            desk.reply(w.agent, ticket, f"Ответ {n}")
        elif kind == "note":
            desk.note(w.agent, ticket, f"{SECRET} {n}")
        elif kind == "write":
            desk.write(w.requester, ticket, f"Сообщение {n}")
        elif kind == "file":  # files sent alone join the message before them
            desk.attach(w.requester, ticket, Attachment(f"снимок-{n}.png", 10, PNG, "image/png"))
        elif kind == "ask":
            desk.request_information(w.agent, ticket, (), (f"Вопрос {n}?",), "Уточните")
        else:
            desk.provide_information(w.requester, ticket, {}, (f"Ответ на вопрос {n}",))

    @hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(story=STORY, page=st.integers(1, 4), context=st.integers(0, 3))
    def check(story: list[str], page: int, context: int) -> None:
        filed = w.file()
        for n, kind in enumerate(story):
            with contextlib.suppress(DeskError):  # refused in this state: nothing written
                step(kind, filed.id, n)
        target = f"/r/{filed.id}?after={head(site)}"
        with monkeypatch.context() as m:  # the whole chat at once
            m.setattr(requester_request, "PAGE", 1_000)
            whole = bubbles(get(requester, target).text)
        with monkeypatch.context() as m:
            m.setattr(requester_request, "PAGE", page)
            m.setattr(requester_request, "CONTEXT", context)
            paged, answers = walk(requester, target, bubbles)
        assert paged == whole
        assert SECRET not in answers

    check()


def test_an_answer_keeps_its_question_asked_pages_before(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    requester = site.sign_in("requester")
    desk, w = site.world.desk, site.world
    filed = w.file()
    desk.request_information(w.agent, filed.id, (), ("В каком браузере?",), "Уточните")
    for n in range(4):
        desk.reply(w.agent, filed.id, f"Ещё ответ {n}")
    desk.provide_information(w.requester, filed.id, {}, ("В Хроме",))
    attach_after = Attachment("после.png", 10, PNG, "image/png")
    desk.attach(w.requester, filed.id, attach_after)  # joins the answer's bubble
    monkeypatch.setattr(requester_request, "PAGE", 1)
    monkeypatch.setattr(requester_request, "CONTEXT", 0)
    first = get(requester, f"/r/{filed.id}?after={head(site)}").text
    (answer,) = bubbles(first)
    assert "ev-InformationProvided" in answer
    assert "<dt>В каком браузере?</dt><dd>В Хроме</dd>" in answer, "the question, from before"
    assert "после.png" in answer


def test_a_requester_never_gets_an_internal_note_through_any_cursor(site: Site) -> None:
    requester, stranger = site.sign_in("requester"), site.sign_in("stranger")
    filed = site.world.file()
    grow(site, filed.id, 3 * PAGE, notes_every=2)
    top = site.services.desk.ticket(site.world.admin, filed.id).version
    page = get(requester, f"/r/{filed.id}?after={head(site)}")
    assert page.status_code == 200 and SECRET not in page.text and EARLIER.search(page.text)
    for v in [*range(0, top + 3), 10**9 - 1]:
        for path in (f"/r/{filed.id}/earlier?before={v}",
                     f"/r/{filed.id}?part=timeline&since={v}"):  # fmt: skip
            r = get(requester, path, htmx=True)
            assert r.status_code == 200, (path, r.text)
            assert SECRET not in r.text, path
            assert "NoteAdded" not in r.text, path
        assert get(stranger, f"/r/{filed.id}/earlier?before={v}", True).status_code == 404
    anonymous = site.new_client().get(f"/r/{filed.id}/earlier?before=5",
                                      headers={"HX-Request": "true"})  # fmt: skip
    assert anonymous.status_code == 204 and anonymous.headers["HX-Redirect"].startswith("/login")


BAD = ["", "abc", "-1", "+3", "1.5", "1e3", " 7", "٣", "9" * 10, "0x10"]


def test_bad_cursors_are_refused_with_400(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.world.file()
    for bad in BAD:
        for who, path in ((agent, f"/t/{filed.id}/earlier?before="),
                          (agent, f"/t/{filed.id}?part=timeline&version="),
                          (requester, f"/r/{filed.id}/earlier?before="),
                          (requester, f"/r/{filed.id}?part=timeline&since=")):  # fmt: skip
            r = get(who, path + quote(bad), htmx=True)
            assert r.status_code == 400, (path, bad, r.status_code)
            assert "Обновите страницу" in r.text, "the notice says what to do, in Russian"
    for path in (f"/t/{filed.id}/earlier", f"/r/{filed.id}/earlier"):
        who = agent if path.startswith("/t") else requester
        assert get(who, path, True).status_code == 400, "the cursor is required"


def test_the_staff_show_earlier_refuses_a_requester(site: Site) -> None:
    requester = site.sign_in("requester")
    filed = site.world.file()
    assert get(requester, f"/t/{filed.id}/earlier?before=2", htmx=True).status_code == 403
    away = get(requester, f"/t/{filed.id}/earlier?before=2")
    assert away.status_code == 303 and away.headers["location"] == f"/r/{filed.id}"


def test_time_travel_still_draws_every_entry_of_a_long_request(site: Site) -> None:
    auditor = site.sign_in("auditor")
    filed = site.world.file()
    grow(site, filed.id, PAGE + 5)
    top = site.services.desk.ticket(site.world.admin, filed.id).version
    page = get(auditor, f"/t/{filed.id}/history?version={top}")
    assert page.status_code == 200
    assert len(STAFF_ENTRY.findall(page.text)) == top
    assert f"Ответ <strong>{PAGE + 4}</strong>" in page.text, "markdown drawn without a page"
