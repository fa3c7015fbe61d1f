"""The activity stream's filters on the page (issue 18): who did what, filtered by line, group,
category and kind of change through query parameters that the live refresh and "load older"
keep; a bad parameter answers 422 with the form naming what to fix and nothing listed; staff
only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from domain.settings import Settings
from tests.ui.test_kb_and_oversight_pages import fragment, person
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def events(html: str) -> list[tuple[str, str]]:
    """Each line of the stream: (its request's link, its kind of change)."""
    return re.findall(r'<li data-position="\d+" data-event="(\w+)">.*?href="/t/([^"]+)"', html,
                      re.S)  # fmt: skip


def test_the_stream_says_who_did_what_and_filters_by_line_group_category_and_kind(
    site: Site,
) -> None:
    w = site.world
    requester, agent, engineer = (person(site, who) for who in ("requester", "agent", "engineer"))
    first = site.file(requester)
    up = agent.command(first["id"], "escalations", first["version"], group=str(w.line2),
                       reason="Нужен инженер")  # fmt: skip
    assert up.status_code == 200, up.text
    replied = engineer.command(first["id"], "replies", up.json()["version"], body="Смотрю")
    assert replied.status_code == 200, replied.text
    second = site.file(requester)
    noted = agent.command(second["id"], "notes", second["version"], body="Заметка")
    position = noted.json()["position"]
    curator = person(site, "curator")

    page = curator.get(f"/activity?after={position}")
    assert page.status_code == 200, page.text
    shown = events(page.text)
    assert ("NoteAdded", second["id"]) in shown and ("Escalated", first["id"]) in shown
    assert re.search(r'<span class="who">Engineer2</span>\s*<span class="what event-Replied">',
                     page.text)  # who did what  # fmt: skip
    assert '<select id="ac-line" name="line"' in page.text

    on_line_2 = curator.get("/activity?line=2")
    assert events(on_line_2.text) == [("Replied", first["id"]), ("Escalated", first["id"])]
    assert 'option value="2" selected' in on_line_2.text
    assert events(curator.get(f"/activity?group={w.line2}").text) == events(on_line_2.text)
    notes = curator.get("/activity?event=NoteAdded")
    assert events(notes.text) == [("NoteAdded", second["id"])]
    assert 'option value="NoteAdded" selected' in notes.text
    by_category = events(curator.get(f"/activity?category={w.contracts}").text)
    assert {t for _e, t in by_category} == {first["id"], second["id"]}
    assert "Nothing matches these filters." in curator.get("/activity?line=3").text

    # the live refresh and the older pages keep the filters
    assert re.search(r"part=newer&amp;since=\d+&amp;line=2", on_line_2.text)
    again = agent.command(first["id"], "notes", replied.json()["version"], body="Ещё заметка")
    fresh = fragment(curator, f"/activity?part=newer&since={replied.json()['position']}"
                              f"&line=2&after={again.json()['position']}")  # fmt: skip
    assert events(fresh.text) == [("NoteAdded", first["id"])]
    fresh_other = fragment(curator, f"/activity?part=newer&since={position}&line=1")
    assert events(fresh_other.text) == []
    older = fragment(curator, f"/activity?part=older&before={replied.json()['position']}&line=2")
    assert events(older.text) == [("Escalated", first["id"])]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("line=9", "line", "Choose line 1, 2 or 3."),
        ("group=nonsense", "group", "Choose a group from the list."),
        ("category=%3Cscript%3E", "category", "Choose a category from the list."),
        ("event=Hacked", "event", "Choose a kind of change from the list."),
    ],
)
def test_a_bad_filter_answers_422_naming_what_to_fix(
    site: Site, query: str, field: str, message: str
) -> None:
    site.file(person(site, "requester"))
    r = person(site, "curator").get(f"/activity?{query}")
    assert r.status_code == 422
    assert f'<p class="error" role="alert" id="ac-error">{message}</p>' in r.text
    assert re.search(rf'<select id="ac-{field}" name="{field}" class="invalid"', r.text)
    assert events(r.text) == [] and "<script>" not in r.text


def test_requesters_are_refused_before_a_filter_is_read(site: Site) -> None:
    r = person(site, "requester").get("/activity?line=nonsense")
    assert r.status_code == 403 and "Choose line" not in r.text
