"""A curator takes part in the discussion (issue 18, MISSION: curators take part): on a request he
reads, the ticket page offers him an internal note and nothing else; the note is marked as the
curator's on the staff's timeline; the requester never sees it (his page, the API, the history,
the live socket); a public reply stays refused to him, before the form is read."""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson
import pytest

from domain.settings import Settings
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, Site, open_site
from tests.web.test_live import connect, receive, until

pytestmark = LEAKS
SECRET = "Куратор: проверьте сроки по договору"
BADGE = '<span class="badge curator">Curator\'s note</span>'


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_a_curator_adds_an_internal_note_marked_as_his_that_the_requester_never_sees(
    site: Site,
) -> None:
    requester_api = site.sign_in("requester")
    filed = site.file(requester_api)
    ticket, version = filed["id"], filed["version"]
    curator = Browser(site, "curator")
    page = curator.get(f"/t/{ticket}")
    assert page.status_code == 200, page.text
    assert f'hx-post="/t/{ticket}/act/note"' in page.text
    assert f"/t/{ticket}/act/reply" not in page.text and "act/resolve" not in page.text

    # refused a public reply, before the form is read: nothing is written
    refused = curator.act(ticket, "reply", version=str(version), body="Публичный ответ")
    assert refused.status_code == 403
    assert site.sign_in("agent").ticket(ticket)["ticket"]["version"] == version

    with connect(requester_api) as ws:
        ws.send_text(orjson.dumps({"subscribe": [f"ticket:{ticket}"], "after": 0}).decode())
        receive(ws)
        assert receive(ws)["event"] == "Filed"
        noted = curator.act(ticket, "note", version=str(version), body=SECRET)
        assert noted.status_code == 200, noted.text
        assert SECRET in noted.text and BADGE in noted.text
        agent = site.sign_in("agent")
        seen = agent.ticket(ticket, after=0)
        note = next(e for e in seen["timeline"] if e["event"] == "NoteAdded")
        latest = seen["ticket"]["version"]
        replied = agent.command(ticket, "replies", latest, body="Ответ агента.").json()
        after = until(ws, replied["position"])
        assert [c["event"] for c in after][-1] == "Replied"
        assert "NoteAdded" not in [c["event"] for c in after]
    position = replied["position"]

    # the staff's timeline: the note, marked as the curator's, by the curator
    assert note["data"]["by_role"] == "curator"
    assert note["data"]["body"] == SECRET
    agent_page = Browser(site, "agent").get(f"/t/{ticket}?after={position}")
    entry = re.search(r'<li class="entry internal[^"]*"[^>]*data-event="NoteAdded".*?</li>',
                      agent_page.text, re.S)  # fmt: skip
    assert entry and BADGE in entry.group(0) and SECRET in entry.group(0)
    assert "Curator" in entry.group(0)  # the curator's own name heads it (World: "Curator")

    # the requester: nothing of it by any route
    for path in (f"/api/v1/tickets/{ticket}?after={position}", f"/r/{ticket}?after={position}",
                 f"/api/v1/tickets/{ticket}/history"):  # fmt: skip
        r = requester_api.get(path)
        assert r.status_code == 200, (path, r.text)
        assert SECRET not in r.text and "NoteAdded" not in r.text and "by_role" not in r.text
    history = requester_api.get(f"/api/v1/tickets/{ticket}/history?version={note['version']}")
    assert SECRET not in history.text


def test_a_note_by_someone_who_is_not_a_curator_is_not_marked(site: Site) -> None:
    filed = site.file(site.sign_in("requester"))
    agent = site.sign_in("agent")
    r = agent.command(filed["id"], "notes", filed["version"], body="Заметка агента")
    assert r.status_code == 200, r.text
    seen = agent.ticket(filed["id"], after=int(r.json()["position"]))
    note = next(e for e in seen["timeline"] if e["event"] == "NoteAdded")
    assert note["data"]["by_role"] == ""
    page = Browser(site, "agent").get(f"/t/{filed['id']}")
    assert 'class="badge curator"' not in page.text
