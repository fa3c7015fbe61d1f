"""Uploads are authorised before their body is read, and a file stays stored (on disk with
SQLite, in PostgreSQL with PostgreSQL) only when a recorded event references it: a request
nobody may write to, another organisation's request, a stale version or a caller over his
upload limit leave nothing behind, through the API, the requester's form and the public form."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, TestClient, open_site

pytestmark = LEAKS
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DOC = "Акт сверки.txt", "Акт сверки: всё сходится".encode()
LIMIT = 3  # files per caller per hour in these tests


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(dataclasses.replace(settings, upload_limit=LIMIT), monkeypatch) as s:
        head = s.services.desk.recorder.max_notification_id() or 0
        assert s.services.projections.wait_for(head, 10.0), "the views caught up"
        yield s


def stored(site: Site) -> list[str]:
    """Every blob the store keeps (`ab/cdef...`), every upload staged but neither kept nor
    discarded (`staged`) and every file held for a form sent back (`held`); with SQLite, also
    any other file under the attachments folder."""
    store = site.services.blobs
    found = [blob_name(d) for d in store.digests()] + ["staged"] * store.pending()
    found += ["held"] * store.holding()  # a sent-back form's files (web/ui/held_files.py)
    root: Path = site.services.settings.data_dir / "attachments"
    on_disk = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    if site.services.settings.uses_postgres:
        assert on_disk == [], "nothing is written to the host's disk"
    else:
        assert len(on_disk) == len(found), on_disk
    return sorted(found)


def blob_name(sha: str) -> str:
    return f"{sha[:2]}/{sha[2:]}"


def blob(content: bytes) -> str:
    return blob_name(hashlib.sha256(content).hexdigest())


def api_upload(p: Person, ticket: str, version: int, content: bytes = PNG) -> httpx.Response:
    r: httpx.Response = p.client.post(
        f"/api/v1/tickets/{ticket}/attachments",
        files={"file": ("screen.png", content, "image/png")},
        data={"version": str(version)},
        headers=p.headers(),
    )
    return r


def form_post(
    who: Person | TestClient, path: str, data: dict[str, str], content: bytes = DOC[1]
) -> httpx.Response:
    """A form with one file, posted by htmx as a browser does."""
    headers = {"Origin": ORIGIN, "HX-Request": "true"}
    client = who.client if isinstance(who, Person) else who
    if isinstance(who, Person):
        headers["X-CSRF-Token"] = who.csrf
    client.cookies.set("suz_lang", "en")
    r: httpx.Response = client.post(
        path, data=data, files=[("files", (DOC[0], content, "text/plain"))], headers=headers
    )
    return r


def test_an_upload_to_a_request_that_does_not_exist_is_refused_and_leaves_nothing(
    site: Site,
) -> None:
    requester = site.sign_in("requester")
    r = api_upload(requester, str(uuid.uuid4()), 1)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    anonymous = site.new_client().post(
        f"/api/v1/tickets/{uuid.uuid4()}/attachments",
        files={"file": ("big.bin", b"\x01" * 100_000, "application/octet-stream")},
        data={"version": "1"},
        headers={"Origin": ORIGIN},
    )
    assert anonymous.status_code == 404
    assert stored(site) == []


def test_an_upload_by_another_organisation_is_refused_and_leaves_nothing(site: Site) -> None:
    filed = site.file(site.sign_in("requester"))
    stranger = site.sign_in("stranger")
    r = api_upload(stranger, filed["id"], filed["version"])
    assert r.status_code == 404, r.text
    assert stored(site) == []


def test_an_upload_against_a_stale_version_is_refused_and_leaves_nothing(site: Site) -> None:
    requester = site.sign_in("requester")
    filed = site.file(requester)
    stale = api_upload(requester, filed["id"], filed["version"] + 5)
    assert stale.status_code == 409, stale.text
    assert stored(site) == []
    kept = api_upload(requester, filed["id"], filed["version"])
    assert kept.status_code == 201, kept.text
    assert stored(site) == [blob(PNG)]  # the recorded one, and no temporary file


def test_an_internal_file_from_a_requester_is_refused_and_leaves_nothing(site: Site) -> None:
    requester = site.sign_in("requester")
    filed = site.file(requester)
    r = requester.client.post(
        f"/api/v1/tickets/{filed['id']}/attachments",
        files={"file": ("x.png", PNG, "image/png")},
        data={"version": str(filed["version"]), "internal": "1"},
        headers=requester.headers(),
    )
    assert r.status_code == 403, r.text
    assert stored(site) == []


def test_uploads_are_limited_per_caller_with_retry_after(site: Site) -> None:
    requester = site.sign_in("requester")
    filed = site.file(requester)
    version = filed["version"]
    for i in range(LIMIT):
        r = api_upload(requester, filed["id"], version, PNG + bytes([i]))
        assert r.status_code == 201, r.text
        version = r.json()["version"]
    refused = api_upload(requester, filed["id"], version, b"one too many")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_uploads"
    assert "try again in" in refused.json()["error"]["message"]
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert stored(site) == sorted(blob(PNG + bytes([i])) for i in range(LIMIT))
    agent = site.sign_in("agent")  # another caller has his own count
    mine = api_upload(agent, filed["id"], version, b"mine")
    assert mine.status_code == 201, mine.text
    version = mine.json()["version"]
    del site.client.app.state.upload_limiter  # type: ignore[attr-defined]  # as on another host
    again = api_upload(requester, filed["id"], version, b"one too many, elsewhere")
    # PostgreSQL counts for every host; a process's memory starts afresh
    assert again.status_code == (429 if site.services.settings.uses_postgres else 201), again.text


def test_the_requesters_form_refuses_before_storing(site: Site) -> None:
    requester = site.sign_in("requester")
    filed = site.file(requester)
    ticket, version = filed["id"], str(filed["version"])
    stranger = site.sign_in("stranger")
    other = form_post(stranger, f"/r/{ticket}/message", {"body": "Чужое", "version": version})
    assert other.status_code == 404
    missing = form_post(requester, f"/r/{uuid.uuid4()}/message", {"body": "x", "version": "1"})
    assert missing.status_code == 404
    assert stored(site) == []

    agent = site.sign_in("agent")  # the team answers meanwhile: the requester's page is stale
    reply = agent.command(ticket, "replies", filed["version"], body="Смотрим")
    assert reply.status_code == 200, reply.text
    stale = form_post(requester, f"/r/{ticket}/message", {"body": "Дополняю", "version": version})
    assert stale.status_code == 409, stale.text
    # his own file is held for the form sent back (web/ui/held_files.py), not stored with the
    # request; sent again, the form carries it and the held copy goes
    assert stored(site) == ["held"]
    held = re.search(r'name="held" value="([^"]+)"', stale.text)
    assert held, stale.text
    sent = requester.client.post(
        f"/r/{ticket}/message",
        data={"body": "Дополняю", "version": str(reply.json()["version"]), "held": held.group(1)},
        headers={"Origin": ORIGIN, "HX-Request": "true", "X-CSRF-Token": requester.csrf},
    )
    assert sent.status_code == 200, sent.text
    assert stored(site) == [blob(DOC[1])]


def test_the_requesters_form_answers_429_over_the_limit(site: Site) -> None:
    requester = site.sign_in("requester")
    filed = site.file(requester)
    version = filed["version"]
    for i in range(LIMIT):
        r = api_upload(requester, filed["id"], version, PNG + bytes([i]))
        version = r.json()["version"]
    refused = form_post(
        requester, f"/r/{filed['id']}/message", {"body": "Ещё файл", "version": str(version)}
    )
    assert refused.status_code == 429
    assert "Too many files uploaded; try again in" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert blob(DOC[1]) not in stored(site)


def public_form(site: Site) -> dict[str, str]:
    return {
        "category": str(site.world.contracts),
        "subject": "Контракт не публикуется",
        "description": "При публикации ошибка подписи.",
        "field.contract_number": "1234567890123456789",
        "contact_name": "Анна",
        "contact_email": "anna@example.org",
    }


def test_the_public_form_keeps_only_the_files_of_a_filed_request(site: Site) -> None:
    visitor = site.new_client()
    sent_back = form_post(visitor, "/new", {**public_form(site), "contact_email": "nope"})
    assert sent_back.status_code == 422
    assert stored(site) == ["held"]  # for the next submission, apart from the blobs
    filed = form_post(visitor, "/new", public_form(site))  # chosen again, not the held one
    assert filed.status_code == 201, filed.text
    assert re.search(r'href="/r/[0-9a-f-]{36}\?key=', filed.text)
    assert stored(site) == [blob(DOC[1]), "held"]  # until it expires (processes/purges.py)
    assert site.services.blobs.purge_held(time.time() + 3601) == 1
    assert stored(site) == [blob(DOC[1])]


def test_the_public_form_answers_429_over_the_upload_limit(site: Site) -> None:
    visitor = site.new_client()
    for i in range(LIMIT):
        r = form_post(visitor, "/new", public_form(site), DOC[1] + bytes([48 + i]))
        assert r.status_code == 201, r.text
    before = stored(site)
    refused = form_post(visitor, "/new", public_form(site), b"one too many")
    assert refused.status_code == 429, refused.text
    assert "Too many files uploaded; try again in" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert stored(site) == before


def test_the_staff_page_keeps_a_file_only_with_its_recorded_note(site: Site) -> None:
    filed = site.file(site.sign_in("requester"))
    agent = site.sign_in("agent")
    headers = {"X-CSRF-Token": agent.csrf, "Origin": ORIGIN, "HX-Request": "true"}

    def note(version: int) -> httpx.Response:
        r: httpx.Response = agent.client.post(
            f"/t/{filed['id']}/act/note",
            data={"version": str(version), "body": "Логи"},
            files={"files": ("logs.txt", b"trace", "text/plain")},
            headers=headers,
        )
        return r

    assert note(filed["version"] + 5).status_code == 409
    assert stored(site) == []
    assert note(filed["version"]).status_code == 200
    assert stored(site) == [blob(b"trace")]
