"""The agents' ticket page and every one of its actions are for the support staff only.

A requester, a colleague of his organisation, a private link's holder and an anonymous visitor
are turned away before the form is read: whatever they post (an unreadable version, a stale one,
no group, another request's number, "take", "reopen", a file...) the answer is a refusal that
shows nothing of the staff's side (internal notes and files, the reasons of transfers and
escalations, the staff's names, a linked request of another organisation), and nothing changes.
Staff who only read requests (auditors) are refused the actions that work them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

from domain.desk import SYSTEM
from domain.settings import Settings
from domain.ticket import Attachment, LinkKind
from domain.tickets.commands import BY_ACTION
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site
from tests.web.support import png

pytestmark = LEAKS

NOTE = "СЕКРЕТНАЯ-ЗАМЕТКА-7731"
FILE = "internal-dump-7731.txt"
FILE_SHA = "ab" * 32
TRANSFER = "ПРИЧИНА-ПЕРЕДАЧИ-7731"
ESCALATION = "ПРИЧИНА-ЭСКАЛАЦИИ-7731"
STAFF_NAMES = ("Agent1", "Engineer2", "Method")
OTHERS_SUBJECT = "Чужая заявка другой организации 7731"
EVERY_ACTION = (*BY_ACTION, "gap")


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


@dataclass
class Caller:
    """Someone who is not staff, and how he reaches the request."""

    client: httpx.Client
    headers: dict[str, str]
    key: str | None = None  # the private link's key, for its holder

    @property
    def query(self) -> str:
        return f"?key={self.key}" if self.key else ""


@dataclass
class Scene:
    ticket: str
    others: str  # another organisation's request, linked to ours by staff
    others_number: int
    version: int


def _secrets(site: Site, ticket: UUID) -> Scene:
    """Staff work the request: an internal note with a file, a transfer, an escalation, a link
    to another organisation's request."""
    desk, w = site.services.desk, site.world
    dump = Attachment(FILE, 5, FILE_SHA, "text/plain", internal=True)
    desk.note(w.agent, ticket, NOTE, attachments=(dump,))
    desk.escalate(w.agent, ticket, w.line2, ESCALATION)
    desk.transfer(w.agent, ticket, w.line2, TRANSFER, w.engineer.id)
    others = desk.file_ticket(w.stranger, w.contracts, OTHERS_SUBJECT, "Описание",
                              {"contract_number": "1234567890123456789"})  # fmt: skip
    desk.link(w.agent, ticket, others.id, LinkKind.RELATED)
    return Scene(str(ticket), str(others.id), others.number, desk.ticket(SYSTEM, ticket).version)


def _scene_for(site: Site, who: str) -> tuple[Scene, Caller]:
    if who == "link holder":
        client = site.new_client()
        contact = {"contact_name": "Гость", "contact_email": "guest@example.org"}
        r = client.post("/api/v1/tickets", json={**site.filing(), **contact},
                        headers={"Origin": ORIGIN})  # fmt: skip
        assert r.status_code == 201, r.text
        scene = _secrets(site, UUID(r.json()["id"]))
        return scene, Caller(client, {"Origin": ORIGIN}, r.json()["key"])
    filed = site.world.file()
    scene = _secrets(site, filed.id)
    if who == "anonymous":
        return scene, Caller(site.new_client(), {"Origin": ORIGIN})
    person = Browser(site, who)
    headers = {"X-CSRF-Token": person.csrf, "Origin": ORIGIN}
    return scene, Caller(person.client, headers)


def _forms(scene: Scene, action: str) -> dict[str, dict[str, str]]:
    """The error paths of one action, and a well-formed post, as a requester might send them."""
    now = str(scene.version)
    full = {"version": now, "body": "текст", "group": "", "assignee": "", "reason": "потому",
            "resolution": "готово", "priority": "critical", "kind": "related",
            "other": str(scene.others_number), "subject": "пробел", "description": "нет статьи",
            "message": "уточните", "questions": "какой номер?"}  # fmt: skip
    return {
        "unreadable version": {**full, "version": "не число"},
        "no version": {k: v for k, v in full.items() if k != "version"},
        "stale version": {**full, "version": "1"},
        "missing group": {**full, "group": "not-a-uuid"},
        "unknown other request": {**full, "other": "999999999"},
        "well formed": full,
    }


def _leaked(scene: Scene, text: str) -> list[str]:
    secrets = (NOTE, FILE, FILE_SHA, TRANSFER, ESCALATION, *STAFF_NAMES, OTHERS_SUBJECT,
               scene.others)  # fmt: skip
    return [s for s in secrets if s in text]


def _refused(r: httpx.Response, scene: Scene) -> None:
    assert r.status_code in (403, 303), (r.status_code, r.text[:300])
    if r.status_code == 303:
        assert r.headers["location"].startswith((f"/r/{scene.ticket}", "/login")), r.headers
    assert _leaked(scene, r.text) == []


WHO = ("requester", "colleague", "link holder", "anonymous")


@pytest.mark.parametrize("who", WHO)
def test_every_staff_action_refuses_who_is_not_staff_on_every_error_path(
    site: Site, who: str
) -> None:
    scene, caller = _scene_for(site, who)
    for action in EVERY_ACTION:
        for path, form in _forms(scene, action).items():
            for htmx in (True, False):
                headers = {**caller.headers, **({"HX-Request": "true"} if htmx else {})}
                address = f"/t/{scene.ticket}/act/{action}{caller.query}"
                r = caller.client.post(address, data=form, headers=headers,
                                       follow_redirects=False)  # fmt: skip
                _refused(r, scene)
                assert r.status_code == 403, (action, path, htmx)
    assert site.services.desk.ticket(SYSTEM, UUID(scene.ticket)).version == scene.version


@pytest.mark.parametrize("who", WHO)
def test_the_staff_pages_of_a_request_send_who_is_not_staff_away(site: Site, who: str) -> None:
    scene, caller = _scene_for(site, who)
    key = {"key": caller.key} if caller.key else {}
    asked = [("", {}), ("", {"part": "timeline"}), ("", {"part": "side"}),
             ("/template", {"template_pick": str(uuid4())}),
             ("/template", {"for": "info", "template_pick": "x"})]  # fmt: skip
    for path, params in asked:
        for htmx in (True, False):
            headers = {"HX-Request": "true"} if htmx else {}
            r = caller.client.get(f"/t/{scene.ticket}{path}", params={**params, **key},
                                  headers=headers, follow_redirects=False)  # fmt: skip
            _refused(r, scene)


def test_a_requesters_file_posted_to_a_staff_action_is_refused_and_not_stored(
    site: Site, settings: Settings
) -> None:
    scene, caller = _scene_for(site, "requester")
    before = _stored_files(settings.data_dir)
    r = caller.client.post(f"/t/{scene.ticket}/act/note", data={"version": str(scene.version),
                           "body": "x"}, files={"files": ("screen.png", png(), "image/png")},
                           headers={**caller.headers, "HX-Request": "true"})  # fmt: skip
    _refused(r, scene)
    assert r.status_code == 403
    assert _stored_files(settings.data_dir) == before
    assert site.services.desk.ticket(SYSTEM, UUID(scene.ticket)).version == scene.version


def _stored_files(data_dir: Path) -> list[str]:
    return sorted(str(p) for p in data_dir.rglob("*") if p.is_file() and "attachments" in p.parts)


def test_an_auditor_reads_the_request_but_is_refused_every_action_that_works_it(
    site: Site,
) -> None:
    filed = site.world.file()
    scene = _secrets(site, filed.id)
    auditor = Browser(site, "auditor")
    page = auditor.get(f"/t/{scene.ticket}?after=999999")
    assert page.status_code == 200 and NOTE in page.text, "auditors read the whole history"
    for action in EVERY_ACTION:
        for path, form in _forms(scene, action).items():
            r = auditor.act(scene.ticket, action, **form)
            assert r.status_code == 403, (action, path, r.text[:300])
            assert NOTE not in r.text
    assert site.services.desk.ticket(SYSTEM, filed.id).version == scene.version


def test_a_curator_may_still_write_an_internal_note(site: Site) -> None:
    filed = site.world.file()
    scene = _secrets(site, filed.id)
    curator = Browser(site, "curator")
    r = curator.act(scene.ticket, "note", version=str(scene.version), body="Проверено куратором")
    assert r.status_code == 200, r.text[:300]
    assert site.services.desk.ticket(SYSTEM, filed.id).version == scene.version + 1
