"""A request's page keeps the files of a form sent back (issue 18), as the filing form does
(tests/ui/test_held_files.py): the requester writes a message with a file too big beside good
ones, or answers the specialists' questions with a date that is no date; the form comes back
listing the good files as kept, he corrects it, and the request gets the very bytes chosen
without choosing them again. Kept files are for that form of that request, in that browser and
account: a token carried to another request, another form or another browser attaches
nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.category import FieldSpec, FieldType
from domain.desk import SYSTEM
from domain.settings import Settings
from tests.ui.test_requester_pages import head, person, visitor
from tests.web.desk_site import CONTRACT, LEAKS, ORIGIN, Person, Site, TestClient, open_site
from web.ui import held_files

pytestmark = LEAKS
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
LOG = "2026-12-04 09:13 ошибка подписи\n".encode() * 8
BIG = b"x" * 5000  # over the 1000-byte limit the tests set
TOKEN = re.compile(r'name="held" value="([^"]+)"')
DROPS = re.compile(r'name="held_drop" value="([0-9a-f]{32})"')
LINK = re.compile(r'href="/r/([0-9a-f-]{36})\?key=([^"]+)"')


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        assert s.services.projections.wait_for(head(s), 10.0), "the views caught up"
        small = replace(s.services.settings, max_upload_bytes=1000)
        monkeypatch.setattr(s.services, "settings", small)
        yield s


def post(
    who: Person | TestClient,
    path: str,
    data: dict[str, Any],
    files: list[tuple[str, bytes]] | None = None,
    field: str = "files",
) -> httpx.Response:
    """A form posted by htmx, as the browser sends it (multipart, with its files)."""
    headers = {"Origin": ORIGIN, "HX-Request": "true"}
    client = who.client if isinstance(who, Person) else who
    if isinstance(who, Person):
        headers["X-CSRF-Token"] = who.csrf
    upload = [(field, (n, content, "application/octet-stream")) for n, content in files or []]
    upload = upload or [("files", ("", b"", "application/octet-stream"))]  # an empty input
    r: httpx.Response = client.post(path, data=data, files=upload, headers=headers)
    return r


def chat(who: Person | TestClient, path: str, site: Site) -> str:
    client = who.client if isinstance(who, Person) else who
    sep = "&" if "?" in path else "?"
    r: httpx.Response = client.get(f"{path}{sep}after={head(site)}")
    assert r.status_code == 200, r.text
    return r.text


def version(text: str, form: str = "message") -> str:
    found = re.search(rf'value="(\d+)" id="v-{form}"', text)
    assert found, f"no {form} form on the page"
    return found.group(1)


def token(r: httpx.Response) -> str:
    found = TOKEN.search(r.text)
    assert found, "the form sent back carries its kept files"
    return html.unescape(found.group(1))


def attached(site: Site, ticket: str) -> dict[str, bytes]:
    """The request's files by name, read back from the store."""
    t = site.services.desk.ticket(site.world.agent, UUID(ticket))
    found = {}
    for a in t.attachments:
        with site.services.blobs.open(a.sha256) as f:
            found[a.name] = f.read()
    return found


def filed(site: Site, who: Person) -> str:
    ticket = str(site.file(who)["id"])
    assert site.services.projections.wait_for(head(site), 10.0)
    return ticket


def filed_by_visitor(site: Site, who: TestClient) -> tuple[str, str]:
    """A request filed through the public form without an account: its id and private key."""
    new = {"category": str(site.world.contracts), "subject": "Контракт не публикуется",
           "description": "Ошибка подписи.", "field.contract_number": CONTRACT,
           "contact_name": "Анна", "contact_email": "anna@example.org"}  # fmt: skip
    link = LINK.search(post(who, "/new", new).text)
    assert link
    return link.group(1), html.unescape(link.group(2))


def ask(site: Site, ticket: str, fields: list[str], questions: list[str]) -> None:
    """An agent asks the requester for information (through the API)."""
    agent = site.sign_in("agent")
    now = int(agent.ticket(ticket, head(site))["ticket"]["version"])
    r = agent.command(ticket, "information-requests", now, fields=fields, questions=questions)
    assert r.status_code == 200, r.text
    assert site.services.projections.wait_for(head(site), 10.0)


# -- a message ---------------------------------------------------------------------------------
def test_a_message_with_a_file_too_big_keeps_the_others_and_sends_them_byte_exact(
    site: Site,
) -> None:
    requester = person(site, "requester")
    ticket = filed(site, requester)
    seen = version(chat(requester, f"/r/{ticket}", site))
    text = {"body": "Снимок экрана и журнал", "version": seen}
    wrong = post(requester, f"/r/{ticket}/message", text,
                 [("screen.png", PNG), ("huge.bin", BIG), ("signing.log", LOG)])  # fmt: skip
    assert wrong.status_code == 422, wrong.text
    assert "A file is larger than 1000 B" in wrong.text and 'id="e-files"' in wrong.text
    assert "Files you chose before" in wrong.text
    assert "screen.png" in wrong.text and "signing.log" in wrong.text
    assert "huge.bin" not in wrong.text, "the file refused is not kept"
    assert "Снимок экрана и журнал" in wrong.text, "the text is kept too"
    assert held_files.COOKIE in wrong.cookies
    assert site.services.blobs.holding() == 2
    assert attached(site, ticket) == {}

    sent = post(requester, f"/r/{ticket}/message", {**text, "held": token(wrong)})
    assert sent.status_code == 200, sent.text
    assert attached(site, ticket) == {"screen.png": PNG, "signing.log": LOG}
    bubble = sent.text[sent.text.index("ev-RequesterWrote") :]
    assert "screen.png" in bubble and "signing.log" in bubble
    assert site.services.blobs.holding() == 0, "sent: the held copies are gone"
    assert "Files you chose before" not in sent.text


def test_a_visitor_s_message_refused_keeps_its_files_and_one_may_be_removed(site: Site) -> None:
    anna = visitor(site)
    ticket, key = filed_by_visitor(site, anna)
    path = f"/r/{ticket}/message?key={key}"
    seen = version(chat(anna, f"/r/{ticket}?key={key}", site))
    wrong = post(anna, path, {"body": "я" * 20_001, "version": seen},
                 [("screen.png", PNG), ("signing.log", LOG)])  # fmt: skip
    assert wrong.status_code == 422, wrong.text
    assert "A message is at most 20,000 characters." in wrong.text
    ids = DROPS.findall(wrong.text)
    assert len(ids) == 2 and site.services.blobs.holding() == 2
    sent = post(anna, path, {"body": "Вот снимок", "version": seen, "held": token(wrong),
                             "held_drop": ids[1]}, [("more.txt", b"one more file")])  # fmt: skip
    assert sent.status_code == 200, sent.text
    assert attached(site, ticket) == {"screen.png": PNG, "more.txt": b"one more file"}
    assert site.services.blobs.holding() == 0, "sent or removed: nothing is held"


def test_only_files_kept_and_no_text_still_send_the_files(site: Site) -> None:
    requester = person(site, "requester")
    ticket = filed(site, requester)
    seen = version(chat(requester, f"/r/{ticket}", site))
    wrong = post(requester, f"/r/{ticket}/message", {"body": "", "version": seen},
                 [("screen.png", PNG), ("huge.bin", BIG)])  # fmt: skip
    assert wrong.status_code == 422 and "A file is larger than 1000 B" in wrong.text
    sent = post(requester, f"/r/{ticket}/message",
                {"body": "", "version": seen, "held": token(wrong)})  # fmt: skip
    assert sent.status_code == 200, sent.text
    assert attached(site, ticket) == {"screen.png": PNG}


def test_a_stale_message_keeps_its_files_with_its_text(site: Site) -> None:
    requester = person(site, "requester")
    ticket = filed(site, requester)
    seen = version(chat(requester, f"/r/{ticket}", site))
    agent = site.sign_in("agent")
    now = int(agent.ticket(ticket, head(site))["ticket"]["version"])
    r = agent.command(ticket, "replies", now, body="Проверьте настройки браузера")
    assert r.status_code == 200, r.text
    text = {"body": "Вот журнал", "version": seen}
    stale = post(requester, f"/r/{ticket}/message", text, [("signing.log", LOG)])
    assert stale.status_code == 409, stale.text
    assert "Someone wrote on this request meanwhile" in stale.text
    assert "signing.log" in stale.text and site.services.blobs.holding() == 1
    again = {**text, "version": version(stale.text), "held": token(stale)}
    assert post(requester, f"/r/{ticket}/message", again).status_code == 200
    assert attached(site, ticket) == {"signing.log": LOG}


# -- the information asked -----------------------------------------------------------------
def test_information_refused_for_a_date_keeps_its_files_and_its_file_field(site: Site) -> None:
    desk = site.services.desk
    scan = FieldSpec("scan", "Скан договора", "Contract scan", FieldType.FILE)
    signed = FieldSpec("signed_on", "Дата подписания", "Date signed", FieldType.DATE)
    category = desk.define_category(SYSTEM, "Договоры", "Agreements", (scan, signed),
                                    site.world.line1).id  # fmt: skip
    ticket = str(desk.file_ticket(site.world.requester, category, "Скан", "Вот скан.", {}).id)
    ask(site, ticket, ["scan", "signed_on"], ["Какой браузер?"])
    requester = person(site, "requester")
    asked = chat(requester, f"/r/{ticket}", site)
    seen = version(asked, "info")
    headers = {"Origin": ORIGIN, "HX-Request": "true", "X-CSRF-Token": requester.csrf}
    wrong = requester.client.post(
        f"/r/{ticket}/information",
        data={"version": seen, "field.signed_on": "вчера", "answer.0": "Firefox"},
        files=[("file.scan", ("scan.png", PNG, "image/png")),
               ("files", ("signing.log", LOG, "text/plain"))],
        headers=headers,
    )  # fmt: skip
    assert wrong.status_code == 422, wrong.text
    assert "Date signed must be a date written YYYY-MM-DD." in wrong.text
    assert "Contract scan is required." not in wrong.text, "its file came with it"
    assert 'value="вчера"' in wrong.text and "Firefox" in wrong.text
    assert "scan.png" in wrong.text and "signing.log" in wrong.text
    assert re.search(
        r'scan\.png</span> <span class="muted small">[^<]* · Contract scan', wrong.text
    )
    assert site.services.blobs.holding() == 2

    fixed = {"version": seen, "field.signed_on": "2024-05-01", "answer.0": "Firefox"}
    given = post(requester, f"/r/{ticket}/information", {**fixed, "held": token(wrong)})
    assert given.status_code == 200, given.text
    assert "provided the information" in given.text
    assert attached(site, ticket) == {"scan.png": PNG, "signing.log": LOG}
    assert desk.ticket(site.world.agent, UUID(ticket)).fields["scan"] == "scan.png"
    assert site.services.blobs.holding() == 0


# -- kept for one form of one request, one browser, one account ---------------------------------
def test_a_token_of_another_request_or_form_attaches_nothing(site: Site) -> None:
    requester = person(site, "requester")
    first, second = filed(site, requester), filed(site, requester)
    seen = version(chat(requester, f"/r/{first}", site))
    wrong = post(requester, f"/r/{first}/message", {"body": "", "version": seen},
                 [("private.png", PNG), ("huge.bin", BIG)])  # fmt: skip
    kept = token(wrong)
    holder = requester.client.cookies.get(held_files.COOKIE)
    assert holder
    # the same browser and account, the cookie sent along: but another request
    requester.client.cookies.set(held_files.COOKIE, holder, path=f"/r/{second}")
    other = version(chat(requester, f"/r/{second}", site))
    r = post(requester, f"/r/{second}/message", {"body": "", "version": other, "held": kept})
    assert r.status_code == 422 and "Write your message." in r.text
    r = post(requester, f"/r/{second}/message", {"body": "Текст", "version": other, "held": kept})
    assert r.status_code == 200, r.text
    assert attached(site, second) == {}

    # the same request, another form: the information asked
    ask(site, first, [], ["Какой браузер?"])
    asked = version(chat(requester, f"/r/{first}", site), "info")
    r = post(requester, f"/r/{first}/information",
             {"version": asked, "answer.0": "Firefox", "held": kept})  # fmt: skip
    assert r.status_code == 200, r.text
    assert "provided the information" in r.text
    assert attached(site, first) == {}

    # a token of the filing form (signed for the same browser) is for the filing form
    requester.client.cookies.set(held_files.COOKIE, holder, path="/new")
    new = {"category": str(site.world.contracts), "subject": "", "description": "Текст",
           "field.contract_number": CONTRACT}  # fmt: skip
    refused = post(requester, "/new", new, [("filing.png", PNG)])
    assert refused.status_code == 422 and "filing.png" in refused.text
    now = version(chat(requester, f"/r/{first}", site))
    r = post(requester, f"/r/{first}/message", {"body": "", "version": now,
                                                "held": token(refused)})  # fmt: skip
    assert r.status_code == 422 and "Write your message." in r.text
    assert attached(site, first) == {}

    assert site.services.blobs.holding() == 2, "each still its owner's, for its own form"
    r = post(requester, f"/r/{first}/message", {"body": "", "version": now, "held": kept})
    assert r.status_code == 200, r.text
    assert attached(site, first) == {"private.png": PNG}


def test_another_browser_holding_the_link_and_the_token_attaches_nothing(site: Site) -> None:
    anna = visitor(site)
    ticket, key = filed_by_visitor(site, anna)
    path = f"/r/{ticket}/message?key={key}"
    seen = version(chat(anna, f"/r/{ticket}?key={key}", site))
    wrong = post(anna, path, {"body": "", "version": seen},
                 [("passport.png", PNG), ("huge.bin", BIG)])  # fmt: skip
    stolen = token(wrong)

    mallory = visitor(site)  # the link forwarded, the token seen: another browser
    r = post(mallory, path, {"body": "", "version": seen, "held": stolen})
    assert r.status_code == 422 and "Write your message." in r.text
    mallory.cookies.set(held_files.COOKIE, "x" * 43, path=f"/r/{ticket}")  # a holder of his own
    r = post(mallory, path, {"body": "Моё", "version": seen, "held": stolen})
    assert r.status_code == 200, r.text
    stranger = person(site, "stranger")  # signed in to an account, holding the link
    r = post(stranger, path, {"body": "Чужое", "version": version(r.text), "held": stolen})
    assert r.status_code == 200, r.text
    assert attached(site, ticket) == {}
    assert site.services.blobs.holding() == 1, "still Anna's"
