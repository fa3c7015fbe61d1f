"""Merging a repeat and splitting a question off, on the staff's ticket page (in Russian), and
what the requester then reads: a message and where to continue, nothing of the staff's side."""

from __future__ import annotations

import re
from collections.abc import Iterator
from uuid import UUID

import pytest

from domain.desk import SYSTEM
from domain.settings import Settings
from domain.ticket import Status
from tests.ui.test_desk_and_ticket_pages import Browser, seen_version
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def _two(site: Site) -> tuple[str, str, int, int]:
    w, desk = site.world, site.services.desk
    first = w.file()
    repeat = w.file()
    numbers = [desk.ticket(SYSTEM, t.id).number for t in (first, repeat)]
    _caught_up(site, repeat.position)
    return str(first.id), str(repeat.id), numbers[0], numbers[1]


def _caught_up(site: Site, position: int) -> None:
    """The views show the write at `position` (the pages read them)."""
    for view in ("tickets", "timeline"):
        assert site.services.projections.positions.wait_for(view, position, 10.0)


def test_an_agent_merges_a_repeat_and_the_requester_is_told_where_to_continue(
    site: Site,
) -> None:
    first, repeat, number, repeat_number = _two(site)
    agent = Browser(site, "agent", "ru")
    page = agent.get(f"/t/{repeat}").text
    assert 'id="merge"' in page and "Объединить" in page
    itself = agent.act(repeat, "merge", version=seen_version(page), other=str(repeat_number),
                       message="")  # fmt: skip
    assert itself.status_code == 422 and "нельзя объединить с самим собой" in itself.text
    r = agent.act(repeat, "merge", version=seen_version(page), other=str(number),
                  message="Это повтор, продолжаем в первом обращении.")  # fmt: skip
    assert r.status_code == 200, r.text
    assert 'id="merged-into"' in r.text and f"№{number}" in r.text
    assert "объединил(а) это обращение с" in r.text
    assert site.services.desk.ticket(SYSTEM, UUID(repeat)).status is (
        Status.CLOSED)  # fmt: skip
    other = agent.get(f"/t/{first}").text
    assert f"объединил(а) с этим обращение №{repeat_number}" in other
    again = agent.act(first, "merge", version=seen_version(other), other=str(repeat_number))
    assert again.status_code == 422 and "Объединять можно только с обращением" in again.text

    requester = Browser(site, "requester", "ru")
    mine = requester.get(f"/r/{repeat}").text
    assert "Это повтор, продолжаем в первом обращении." in mine
    assert "объединено с ним: продолжим там" in mine and f"/r/{first}" in mine
    assert 'id="rate"' not in mine, "a repeat is rated where it was merged"
    for secret in ("MergedFrom", "объединил(а)", str(site.world.agent.id)):
        assert secret not in mine
    assert "объединил(а)" not in requester.get(f"/r/{first}").text


def test_an_agent_splits_the_requester_s_second_question_off(site: Site) -> None:
    first, _repeat, number, _n = _two(site)
    w = site.world
    wrote = site.services.desk.write(w.requester, UUID(first), "И ещё: акт не грузится")
    _caught_up(site, wrote.position)
    agent = Browser(site, "agent", "ru")
    page = agent.get(f"/t/{first}").text
    entries = re.findall(r'<details class="split" id="split-(\d+)"', page)
    assert entries, "the requester's entries offer a split"
    last = entries[-1]
    bad = agent.act(first, "split", version=seen_version(page), entry=last, subject=" ")
    assert bad.status_code == 422
    r = agent.act(first, "split", version=seen_version(page), entry=last, subject="Акт не грузится")
    assert r.status_code == 200, r.text
    made = re.search(r'сделал\(а\) запись \d+ отдельным обращением: <a href="/t/([^"]+)">№(\d+)',
                     r.text)  # fmt: skip
    assert made, r.text[-3000:]
    new_id, new_number = made.group(1), int(made.group(2))
    new = agent.get(f"/t/{new_id}").text
    assert "И ещё: акт не грузится" in new and f"№{number}" in new
    assert "Акт не грузится" in new

    requester = Browser(site, "requester", "ru")
    assert f"№{new_number}" in requester.get(f"/r/{first}").text
    theirs = requester.get(f"/r/{new_id}")
    assert theirs.status_code == 200 and "И ещё: акт не грузится" in theirs.text
