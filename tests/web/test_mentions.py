"""@mentions in internal notes through HTTP (issue 16): a note consults staff of another line, who
read the request and find it in their "Mentioned me" queue; the requester learns nothing of it;
the composer's list names staff and groups to staff only; names are shown escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from domain.desk import SYSTEM
from domain.people import Role
from domain.settings import Settings
from tests.web.desk_site import LEAKS, Person, Site, open_site
from tests.web.test_live import connect, receive, refused_topics, until

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


ASK = "/desk/mentions?after=1000000000&q="  # waits for the views up to the log's head


def noted(site: Site, body: str) -> tuple[dict[str, Any], int]:
    """A request filed by the requester and an agent of line 1's note on it: (filed, position)."""
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    r = agent.command(filed["id"], "notes", filed["version"], body=body)
    assert r.status_code == 200, r.text
    return filed, int(r.json()["position"])


def note_of(person: Person, ticket: str, position: int) -> dict[str, Any]:
    timeline = person.ticket(ticket, after=position)["timeline"]
    notes: list[dict[str, Any]] = [e for e in timeline if e["event"] == "NoteAdded"]
    assert len(notes) == 1
    return notes[0]


def test_a_mentioned_engineer_of_line_2_reads_the_request_and_finds_it_in_his_queue(
    site: Site,
) -> None:
    w = site.world
    filed, position = noted(site, "@engineer2 глянь логи подписи; @nobody, ivan@example.ru")
    engineer = site.sign_in("engineer")
    assert str(w.engineer.id) not in {filed.get("assignee_id"), filed.get("group_id")}
    note = note_of(engineer, filed["id"], position)  # the API: 200, the whole note
    assert note["data"]["mentions"] == [str(w.engineer.id)]
    assert note["data"]["handles"] == ["engineer2"]

    page = engineer.get(f"/t/{filed['id']}?after={position}")
    assert page.status_code == 200
    assert '<mark class="mention">@engineer2</mark>' in page.text  # named: highlighted
    assert '<mark class="mention">@nobody' not in page.text  # unknown: plain text
    assert "ivan@example.ru" in page.text and ">@example" not in page.text
    assert re.search(r'class="mentioned small">[^<]*<mark class="mention">Engineer2</mark>',
                     page.text)  # fmt: skip

    assert 'id="side-consulted">Engineer2<' in page.text  # the side panel names whom it consulted
    then = engineer.get(f"/t/{filed['id']}/history?version={filed['version'] + 1}")  # time travel
    assert then.status_code == 200 and '<mark class="mention">@engineer2</mark>' in then.text
    as_requester = engineer.get(
        f"/t/{filed['id']}/history?version={filed['version'] + 1}&as=requester"
    )  # a requester has no such version: the note is not his to see
    assert as_requester.status_code == 422 and "engineer2" not in as_requester.text
    queue = engineer.get(f"/desk?queue=mentioned&part=list&after={position}")
    assert queue.status_code == 200 and f"/t/{filed['id']}" in queue.text
    counts = engineer.get(f"/desk?part=counts&after={position}").text
    assert re.search(rf'data-count="mentioned:{w.engineer.id}">1<', counts)
    author = site.sign_in("agent").get(f"/desk?queue=mentioned&part=list&after={position}")
    assert f"/t/{filed['id']}" not in author.text  # the author is never mentioned


def test_a_group_handle_consults_its_members(site: Site) -> None:
    w = site.world
    filed, position = noted(site, "Нужна разработка: @development")
    developer = site.sign_in("developer")
    assert note_of(developer, filed["id"], position)["data"]["mentions"] == [str(w.developer.id)]
    listed = developer.get(f"/desk?queue=mentioned&part=list&after={position}")
    assert f"/t/{filed['id']}" in listed.text


def test_the_requester_sees_neither_the_note_nor_whom_it_mentions(site: Site) -> None:
    filed, position = noted(site, "@engineer2 @development проверьте")
    requester = site.sign_in("requester")
    seen = requester.get(f"/api/v1/tickets/{filed['id']}?after={position}")
    assert seen.status_code == 200
    assert "NoteAdded" not in seen.text and "mentions" not in seen.text
    assert "engineer2" not in seen.text and str(site.world.engineer.id) not in seen.text
    page = requester.get(f"/r/{filed['id']}?after={position}")
    assert page.status_code == 200 and "engineer2" not in page.text
    history = requester.get(f"/api/v1/tickets/{filed['id']}/history")
    assert "NoteAdded" not in history.text and "engineer2" not in history.text


def test_the_composer_lists_staff_and_groups_to_staff_only(site: Site) -> None:
    agent = site.sign_in("agent")
    found = agent.get(ASK + "eng").json()["handles"]
    assert {"handle": "engineer2", "label": "Engineer2", "kind": "person"} in found
    groups = agent.get(ASK + "line").json()["handles"]
    assert {h["handle"] for h in groups if h["kind"] == "group"} == {"line1", "line2", "line3"}
    assert agent.get(ASK + "ivanov").json()["handles"] == []  # a requester
    everyone = agent.get(ASK + "").json()["handles"]  # a bare "@": the first eight
    assert len(everyone) == 8 and agent.get(ASK + "%25").json()["handles"] == everyone
    assert agent.get(ASK + "_").json()["handles"] == []  # "_" is no LIKE wildcard
    for who in ("requester", "stranger"):
        r = site.sign_in(who).get(ASK + "eng")
        assert r.status_code in (403, 404) and "engineer2" not in r.text
    anonymous = site.new_client().get(ASK + "eng")
    assert anonymous.status_code == 403 and "engineer2" not in anonymous.text


def test_a_name_cannot_inject_markup(site: Site) -> None:
    desk = site.services.desk
    evil = desk.register_account(SYSTEM, "evil", '<img src=x onerror="alert(1)">',
                                 (Role.AGENT,)).id  # fmt: skip
    filed, position = noted(site, "@evil взгляни")
    page = site.sign_in("engineer").get(f"/t/{filed['id']}?after={position}")
    assert page.status_code == 200 and str(evil)
    assert "<img src=x" not in page.text
    shown = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
    assert f'<mark class="mention">{shown}</mark>' in page.text  # whom the note consulted
    assert f'id="side-consulted">{shown}<' in page.text
    assert '<mark class="mention">@evil</mark>' in page.text


def test_the_mention_is_pushed_on_his_topic_which_no_requester_may_follow(site: Site) -> None:
    w = site.world
    topic = f"mentioned:{w.engineer.id}"
    engineer = site.sign_in("engineer")
    with connect(engineer) as ws:
        ws.send_text(orjson.dumps({"subscribe": [topic], "after": 0}).decode())
        assert receive(ws) == {"subscribed": [topic], "after": 0}
        filed, position = noted(site, "@engineer2 нужен взгляд второй линии")
        change = until(ws, position)[-1]
        assert (change["event"], change["ticket"], change["position"]) == (
            "NoteAdded", filed["id"], position)  # fmt: skip
    requester = site.sign_in("requester")
    assert refused_topics(requester, [topic, f"mentioned:{w.requester.id}"]) == [
        topic, f"mentioned:{w.requester.id}"]  # fmt: skip
