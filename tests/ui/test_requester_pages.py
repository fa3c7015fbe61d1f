"""The requester's pages as a browser drives them: the public form (typed fields of the chosen
category, messages in place, files, suggestions, the private link), the cabinet, and the request's
conversation (messages, requested information, rating, reopening, conflicts), on SQLite and
PostgreSQL. A requester never sees an internal note, nor another organisation's request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.article import Audience, Content, Kind
from domain.settings import Settings
from tests.web.desk_site import CONTRACT, LEAKS, ORIGIN, Person, Site, TestClient, open_site
from web.filing_limit import FilingLimit
from web.throttle import RateLimiter

pytestmark = LEAKS
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LINK = re.compile(r'href="(/r/([0-9a-f-]{36})\?key=([^"]+))"')


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        assert s.services.projections.wait_for(head(s), 10.0), "the views caught up"
        yield s


def person(site: Site, who: str) -> Person:
    """A signed-in browser reading the pages in English."""
    p = site.sign_in(who)
    p.client.cookies.set("suz_lang", "en")
    return p


def visitor(site: Site) -> TestClient:
    """A browser without an account, reading in English."""
    client = site.new_client()
    client.cookies.set("suz_lang", "en")
    return client


def post(
    who: Person | TestClient,
    path: str,
    data: dict[str, Any],
    upload: list[tuple[str, tuple[str, bytes, str]]] | None = None,
) -> httpx.Response:
    """A form posted by htmx (with the session's CSRF token in its header when signed in)."""
    headers = {"Origin": ORIGIN, "HX-Request": "true"}
    client = who.client if isinstance(who, Person) else who
    if isinstance(who, Person):
        headers["X-CSRF-Token"] = who.csrf
    r: httpx.Response = client.post(path, data=data, files=upload, headers=headers)
    return r


def get(who: Person | TestClient, path: str, htmx: bool = False) -> httpx.Response:
    client = who.client if isinstance(who, Person) else who
    headers = {"HX-Request": "true"} if htmx else {}
    r: httpx.Response = client.get(path, headers=headers, follow_redirects=False)
    return r


def filing(site: Site, **extra: str) -> dict[str, str]:
    return {
        "category": str(site.world.contracts),
        "subject": "Контракт не публикуется",
        "description": "При публикации ошибка подписи.",
        "field.contract_number": CONTRACT,
        **extra,
    }


def head(site: Site) -> int:
    return site.services.desk.recorder.max_notification_id() or 0


def version(html: str, form: str = "message") -> int:
    found = re.search(rf'value="(\d+)" id="v-{form}"', html)
    assert found, f"no {form} form on the page"
    return int(found.group(1))


def current(site: Site, ticket: str) -> int:
    agent = site.sign_in("agent")
    return int(agent.ticket(ticket, head(site))["ticket"]["version"])


def staff_command(site: Site, who: str, ticket: str, name: str, **body: Any) -> int:
    """A command by a member of staff through the API; the log position it wrote."""
    p = site.sign_in(who)
    r = p.command(ticket, name, current(site, ticket), **body)
    assert r.status_code == 200, r.text
    position: int = r.json()["position"]
    return position


def file_as(site: Site, p: Person, **extra: str) -> tuple[str, str]:
    """Files from the public form as a signed-in requester: (ticket id, its page's address)."""
    r = post(p, "/new", filing(site, **extra))
    assert r.status_code == 204, r.text
    target = r.headers["HX-Redirect"]
    found = re.fullmatch(r"/r/([0-9a-f-]{36})\?after=\d+", target)
    assert found, target
    return found.group(1), target


# -- the public form --------------------------------------------------------------------------
def test_without_scripts_the_form_shows_the_chosen_categorys_fields_and_files_nothing(
    site: Site,
) -> None:
    requester = person(site, "requester")
    form = get(requester, "/new")
    assert "<noscript>" in form.text and 'name="show_fields"' in form.text
    assert 'name="field.contract_number"' not in form.text  # no category chosen yet
    before = head(site)
    typed = {"csrf_token": requester.csrf, "category": str(site.world.contracts),
             "subject": "Не публикуется", "show_fields": "1"}  # fmt: skip
    shown = requester.client.post("/new", data=typed, headers={"Origin": ORIGIN})  # no htmx
    assert shown.status_code == 200, shown.text
    assert 'name="field.contract_number"' in shown.text  # the category's own field
    assert 'value="Не публикуется"' in shown.text  # what was typed is kept
    assert 'role="alert"' not in shown.text  # asked for, not refused
    assert head(site) == before  # nothing filed
    filed = requester.client.post(
        "/new", data={**typed, "show_fields": "", "description": "Ошибка подписи.",
                      "field.contract_number": CONTRACT}, headers={"Origin": ORIGIN},
    )  # fmt: skip
    assert filed.status_code in (200, 303), filed.text
    assert head(site) > before


def test_the_form_asks_for_exactly_the_chosen_categorys_typed_fields(site: Site) -> None:
    anonymous = visitor(site)
    form = get(anonymous, "/new")
    assert form.status_code == 200
    assert f'value="{site.world.contracts}"' in form.text
    assert 'name="contact_email"' in form.text  # a visitor leaves a contact
    assert 'hx-get="/new/fields"' in form.text
    assert 'hx-trigger="input changed delay:400ms"' in form.text
    fields = get(anonymous, f"/new/fields?category={site.world.contracts}", htmx=True)
    assert fields.status_code == 200
    html = fields.text
    assert 'name="field.contract_number"' in html and "Contract registry number" in html
    assert re.search(r'<label for="f-contract_number" class="required">', html)
    assert 'name="field.signed_on" type="date"' in html
    assert 'name="field.amount" type="text" inputmode="decimal"' in html
    assert '<select id="f-law" name="field.law"' in html and '<option value="44-FZ"' in html
    assert 'class="required">Date signed' not in html  # optional fields are not marked
    assert get(anonymous, "/new/fields?category=nonsense", htmx=True).text.strip() == ""
    requester = person(site, "requester")
    assert 'name="contact_email"' not in get(requester, "/new").text


def test_a_visitor_files_gets_the_private_link_and_reads_the_chat(site: Site) -> None:
    anonymous = visitor(site)
    before = head(site)
    missing = post(
        anonymous,
        "/new",
        filing(site, **{"field.contract_number": "", "contact_name": "", "contact_email": "x"}),
    )
    assert missing.status_code == 422
    assert "Contract registry number is required." in missing.text
    assert 'id="e-contract_number"' in missing.text
    assert "Leave your name so we can answer you." in missing.text
    assert "Leave an e-mail address we can answer to." in missing.text
    assert "При публикации ошибка подписи." in missing.text  # what was typed is kept
    assert head(site) == before, "nothing is filed"
    wrong = post(anonymous, "/new", filing(site, **{"field.signed_on": "31.12.2024"}))
    assert wrong.status_code == 422
    assert "Date signed must be a date written YYYY-MM-DD." in wrong.text

    contact = {"contact_name": "Анна", "contact_email": "anna@example.org"}
    filed = post(
        anonymous,
        "/new",
        filing(site, **contact, **{"field.amount": "1500,50"}),
        [("files", ("screen.png", PNG, "image/png"))],
    )
    assert filed.status_code == 201, filed.text
    link = LINK.search(filed.text)
    assert link, filed.text
    path, ticket, key = link.groups()
    assert "is filed" in filed.text and f"http://testserver{path}" in filed.text

    chat = get(anonymous, f"{path}&after={head(site)}")
    assert chat.status_code == 200, chat.text
    assert "Контракт не публикуется" in chat.text and "При публикации ошибка подписи." in chat.text
    assert "1500.50" in chat.text  # the typed value, as the domain parsed it
    assert "ev-AttachmentAdded" not in chat.text  # the files show in the request's own bubble
    sha = re.search(r"/attachments/([0-9a-f]{64})\?inline=1&amp;key=", chat.text)
    assert sha, "the image is previewed, through the private link"
    assert f'data-ticket="{ticket}"' in chat.text and f'data-key="{key}"' in chat.text
    image = anonymous.get(f"/api/v1/tickets/{ticket}/attachments/{sha.group(1)}?inline=1&key={key}")
    assert image.status_code == 200 and image.content == PNG

    assert get(anonymous, f"/r/{ticket}?key=wrong-key").status_code == 404
    assert get(anonymous, f"/r/{ticket}").status_code == 303  # no key: sign in
    written = post(
        anonymous,
        f"/r/{ticket}/message?key={key}",
        {"body": "Дополнение от посетителя", "version": str(version(chat.text))},
    )
    assert written.status_code == 200, written.text
    assert "Дополнение от посетителя" in written.text
    assert 'class="entry mine ev-RequesterWrote"' in written.text
    assert "How well were you helped?" not in written.text  # visitors do not rate


def test_a_file_over_the_limit_is_refused_in_place(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = replace(site.services.settings, max_upload_bytes=1000)
    monkeypatch.setattr(site.services, "settings", small)
    anonymous = visitor(site)
    before = head(site)
    contact = {"contact_name": "Анна", "contact_email": "anna@example.org"}
    r = post(
        anonymous,
        "/new",
        filing(site, **contact),
        [("files", ("big.bin", b"x" * 5000, "application/octet-stream"))],
    )
    assert r.status_code == 422
    assert "A file is larger than 1000 B" in r.text and 'id="e-files"' in r.text
    assert head(site) == before


def test_visitors_filing_is_rate_limited(site: Site) -> None:
    limit = site.services.public_form_limit
    site.services.public_form_limit = FilingLimit(
        RateLimiter(limit=1, window=3600.0), limit.burst, limit.spent, b"k" * 32
    )
    anonymous = visitor(site)
    contact = {"contact_name": "Анна", "contact_email": "anna@example.org"}
    assert post(anonymous, "/new", filing(site, **contact)).status_code == 201
    before = head(site)
    again = post(anonymous, "/new", filing(site, **contact))
    assert again.status_code == 429 and "Too many requests from your address" in again.text
    assert head(site) == before
    requester = person(site, "requester")
    file_as(site, requester)  # signed-in requesters are not limited


def test_suggestions_while_typing_link_to_public_articles(site: Site) -> None:
    desk, world = site.services.desk, site.world
    content = Content(
        title_ru="Ошибка подписи при публикации контракта",
        title_en="Signature error when publishing a contract",
        body_ru="Обновите **сертификат** подписи.",
        body_en="Renew the signing **certificate**.",
        audience=Audience.PUBLIC,
    )
    internal = desk.draft_article(
        world.methodologist,
        Kind.ARTICLE,
        Content("Внутренняя подпись", "Internal signing", "x", "x"),
    )
    article = desk.draft_article(world.methodologist, Kind.ARTICLE, content).id
    for a in (article, internal.id):
        desk.submit_article(world.methodologist, a)
        desk.review_article(world.admin, a, True, "ok")
        desk.publish_article(world.methodologist, a)
    anonymous = visitor(site)
    found = get(anonymous, f"/new/suggestions?subject=подписи&after={head(site)}", htmx=True)
    assert found.status_code == 200
    assert f'href="/help/{article}"' in found.text
    assert "Signature error when publishing a contract" in found.text
    assert f"/help/{internal.id}" not in found.text  # internal articles are staff-only
    assert get(anonymous, "/new/suggestions?subject=", htmx=True).text.strip() == ""
    shown = get(anonymous, f"/help/{article}")
    assert shown.status_code == 200 and "<strong>certificate</strong>" in shown.text
    assert get(anonymous, f"/help/{internal.id}").status_code == 404
    helped = post(anonymous, f"/help/{article}/helped", {})
    assert helped.status_code == 200 and "Thank you" in helped.text


# -- the cabinet and the conversation ---------------------------------------------------------
def test_a_requester_files_writes_answers_rates_and_reopens(site: Site) -> None:
    requester = person(site, "requester")
    ticket, target = file_as(site, requester)
    cabinet = get(requester, f"/my?after={head(site)}")
    assert cabinet.status_code == 200
    assert f'href="/r/{ticket}"' in cabinet.text and "Контракт не публикуется" in cabinet.text
    assert f'data-live-topics="requester:{site.world.requester.id} org:{site.world.org}"' in (
        cabinet.text
    )
    assert 'hx-get="/my?part=list&scope=mine"' in cabinet.text
    listed = get(requester, f"/my?part=list&scope=org&after={head(site)}", htmx=True)
    assert f'href="/r/{ticket}"' in listed.text  # his organisation's list has it too

    page = get(requester, target)
    assert page.status_code == 200
    assert f'data-live-topics="ticket:{ticket}"' in page.text and 'data-presence="1"' in page.text
    assert 'class="entry mine ev-Filed"' in page.text
    written = post(
        requester,
        f"/r/{ticket}/message",
        {"body": "Уточнение: ошибка 0x1", "version": str(version(page.text))},
    )
    assert written.status_code == 200, written.text
    assert "Уточнение: ошибка 0x1" in written.text and int(written.headers["X-Suz-Position"]) > 0

    position = staff_command(
        site,
        "agent",
        ticket,
        "information-requests",
        fields=["signed_on"],
        questions=["Какой браузер?"],
    )
    asked = get(requester, f"/r/{ticket}?after={position}")
    assert 'class="request-info' in asked.text and "Какой браузер?" in asked.text
    assert 'name="field.signed_on" type="date"' in asked.text
    info_version = version(asked.text, "info")
    bad = post(
        requester,
        f"/r/{ticket}/information",
        {"version": str(info_version), "field.signed_on": "вчера", "answer.0": "Firefox"},
    )
    assert bad.status_code == 422
    assert "Date signed must be a date written YYYY-MM-DD." in bad.text
    assert 'value="вчера"' in bad.text  # kept as typed
    given = post(
        requester,
        f"/r/{ticket}/information",
        {"version": str(info_version), "field.signed_on": "2024-05-01", "answer.0": "Firefox"},
    )
    assert given.status_code == 200, given.text
    assert "provided the information" in given.text and "2024-05-01" in given.text
    assert 'class="request-info' not in given.text

    position = staff_command(site, "agent", ticket, "resolution", resolution="Сертификат обновлён.")
    resolved = get(requester, f"/r/{ticket}?after={position}")
    assert "Сертификат обновлён." in resolved.text
    assert 'class="stars"' in resolved.text and "Reopen the request" in resolved.text
    assert 'id="message-body"' not in resolved.text  # no messages on a resolved request
    no_score = post(
        requester, f"/r/{ticket}/rating", {"version": str(version(resolved.text, "rate"))}
    )
    assert no_score.status_code == 422 and "Choose a rating from 1 to 5." in no_score.text
    rated = post(
        requester,
        f"/r/{ticket}/rating",
        {"version": str(version(resolved.text, "rate")), "score": "5", "comment": "Спасибо"},
    )
    assert rated.status_code == 200, rated.text
    assert "Rated 5 of 5." in rated.text and 'class="stars"' not in rated.text
    reopened = post(
        requester,
        f"/r/{ticket}/reopen",
        {"version": str(version(rated.text, "reopen")), "reason": "Снова ошибка"},
    )
    assert reopened.status_code == 200, reopened.text
    assert "Снова ошибка" in reopened.text and 'id="message-body"' in reopened.text


def live_refresh(html: str, update: str = "") -> str:
    """The address htmx asks on a change: the timeline's hx-get with the inputs of
    #timeline-state (the version shown, what the forms offer), as the page holds them (after
    the live `update` swapped in its own)."""
    found = re.search(r'hx-get="(/r/[^"]+\?part=timeline)" hx-include="#timeline-state"', html)
    assert found, "the timeline refreshes itself"
    state = (update or html)[(update or html).index('<div id="timeline-state"') :]
    state = state[: state.index("</div>")]
    values = re.findall(r'name="(since|answer|composer)" value="([^"]*)"', state)
    assert [name for name, _ in values] == ["since", "answer", "composer"]
    return found.group(1) + "".join(f"&{name}={value}" for name, value in values)


def test_a_live_refresh_replaces_only_what_changed(site: Site) -> None:
    requester = person(site, "requester")
    ticket, target = file_as(site, requester)
    page = get(requester, target)
    refresh = live_refresh(page.text)
    position = staff_command(site, "agent", ticket, "replies", body="Ответ специалиста")
    part = get(requester, f"{refresh}&after={position}", htmx=True)
    assert "Ответ специалиста" in part.text and 'class="entry theirs ev-Replied"' in part.text
    assert '<ol class="chat" id="timeline"' not in part.text, "new bubbles are appended"
    assert "filed the request" not in part.text, "only what is new"
    # the forms stay as they are (what is typed is kept); only the version they send moves on
    assert 'id="composer"' not in part.text and 'id="answer"' not in part.text
    assert f'value="{version(part.text)}" id="v-message" hx-swap-oob="true"' in part.text
    assert '<div id="timeline-state" hidden hx-swap-oob="true">' in part.text
    refresh = live_refresh(page.text, part.text)
    position = staff_command(site, "agent", ticket, "resolution", resolution="Готово")
    changed = get(requester, f"{refresh}&after={position}", htmx=True)
    assert "Готово" in changed.text and "Ответ специалиста" not in changed.text
    assert (
        '<div id="answer" hx-swap-oob="true">' in changed.text and 'class="stars"' in changed.text
    )
    assert '<div id="composer" class="composer" hx-swap-oob="true">' in changed.text
    assert 'id="message-body"' not in changed.text
    assert '<span id="status" hx-swap-oob="true"><span class="badge status-resolved">' in (
        changed.text
    )


def test_internal_notes_never_reach_the_requester(site: Site) -> None:
    requester = person(site, "requester")
    ticket, target = file_as(site, requester)
    page = get(requester, target)
    seen = version(page.text)
    position = staff_command(site, "agent", ticket, "notes", body="СЕКРЕТНАЯ ЗАМЕТКА для своих")
    shown = get(requester, f"/r/{ticket}?after={position}")
    part = get(requester, f"/r/{ticket}?part=timeline&since=0&after={position}", htmx=True)
    assert part.status_code == 200 and "Ответ" not in part.text
    for html in (shown.text, part.text):
        assert "СЕКРЕТНАЯ ЗАМЕТКА" not in html
    # Only an internal note came between: his message stands, no conflict is shown.
    written = post(requester, f"/r/{ticket}/message", {"body": "Жду ответа", "version": str(seen)})
    assert written.status_code == 200, written.text
    assert "СЕКРЕТНАЯ ЗАМЕТКА" not in written.text and "Жду ответа" in written.text
    colleague = get(person(site, "colleague"), f"/r/{ticket}?after={head(site)}")
    assert colleague.status_code == 200 and "СЕКРЕТНАЯ ЗАМЕТКА" not in colleague.text


def test_a_stale_message_keeps_its_text_and_shows_what_changed(site: Site) -> None:
    requester = person(site, "requester")
    ticket, target = file_as(site, requester)
    seen = version(get(requester, target).text)
    staff_command(site, "agent", ticket, "replies", body="Проверьте настройки браузера")
    stale = post(
        requester, f"/r/{ticket}/message", {"body": "Мой длинный текст", "version": str(seen)}
    )
    assert stale.status_code == 409
    assert "Проверьте настройки браузера" in stale.text  # the timeline, re-rendered
    assert ">Мой длинный текст</textarea>" in stale.text  # the text, kept
    assert "Someone wrote on this request meanwhile" in stale.text
    again = post(
        requester,
        f"/r/{ticket}/message",
        {"body": "Мой длинный текст", "version": str(version(stale.text))},
    )
    assert again.status_code == 200


def test_who_may_open_a_request_page(site: Site) -> None:
    requester = person(site, "requester")
    ticket, target = file_as(site, requester)
    colleague = get(person(site, "colleague"), target)
    assert colleague.status_code == 200 and "Контракт не публикуется" in colleague.text
    assert 'id="message-body"' not in colleague.text  # colleagues read, the requester writes
    stranger = person(site, "stranger")
    assert get(stranger, target).status_code == 404
    assert post(stranger, f"/r/{ticket}/message", {"body": "x", "version": "1"}).status_code == 404
    assert f'href="/r/{ticket}"' not in get(stranger, "/my").text
    agent = get(person(site, "agent"), target)
    assert agent.status_code == 303 and agent.headers["location"] == f"/t/{ticket}"
    assert get(visitor(site), "/my").status_code == 303
    assert get(requester, "/r/not-an-id").status_code == 404


def test_what_people_type_is_shown_escaped(site: Site) -> None:
    requester = person(site, "requester")
    _ticket, target = file_as(
        site,
        requester,
        subject="<script>alert(1)</script>",
        description="<img src=x onerror=alert(2)> **жирный**",
    )
    page = get(requester, target)
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "onerror" not in page.text and "<strong>жирный</strong>" in page.text
    cabinet = get(requester, f"/my?after={head(site)}")
    assert "<script>alert(1)" not in cabinet.text and "&lt;script&gt;" in cabinet.text


def test_transfers_and_escalations_show_without_their_reasons(site: Site) -> None:
    requester = person(site, "requester")
    ticket, _target = file_as(site, requester)
    staff_command(
        site, "agent", ticket, "transfers", group=str(site.world.line3), reason="ПРИЧИНА ПЕРЕДАЧИ"
    )
    position = staff_command(
        site,
        "engineer",
        ticket,
        "escalations",
        group=str(site.world.line2),
        reason="ПРИЧИНА ЭСКАЛАЦИИ",
    )
    page = get(requester, f"/r/{ticket}?after={position}")
    assert 'class="entry event ev-Transferred"' in page.text
    assert "The request was passed to other specialists." in page.text
    assert 'class="entry event ev-Escalated"' in page.text
    assert "The request was passed to line 2 specialists." in page.text
    assert "ПРИЧИНА" not in page.text


def test_plain_forms_work_without_javascript(site: Site) -> None:
    requester = person(site, "requester")
    ticket, _target = file_as(site, requester)
    position = staff_command(site, "agent", ticket, "resolution", resolution="Готово")
    page = get(requester, f"/r/{ticket}?after={position}")
    r = requester.client.post(
        f"/r/{ticket}/reopen",
        data={
            "csrf_token": requester.csrf,
            "version": str(version(page.text, "reopen")),
            "reason": "Не помогло",
        },
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert re.fullmatch(rf"/r/{ticket}\?after=\d+", r.headers["location"])
    assert "Не помогло" in get(requester, r.headers["location"]).text
    forged = requester.client.post(
        f"/r/{ticket}/message", data={"body": "x"}, headers={"Origin": ORIGIN}
    )
    assert forged.status_code == 403  # no CSRF token: refused


def test_a_message_carries_files_previewed_in_the_chat(site: Site) -> None:
    requester = person(site, "requester")
    ticket, target = file_as(site, requester)
    page = get(requester, target)
    r = post(
        requester,
        f"/r/{ticket}/message",
        {"body": "Снимок экрана", "version": str(version(page.text))},
        [("files", ("error.png", PNG, "image/png")), ("files", ("log.txt", b"log", "text/plain"))],
    )
    assert r.status_code == 200, r.text
    bubble = r.text[r.text.index("ev-RequesterWrote") :]
    assert "error.png" in bubble and "log.txt" in bubble
    assert re.search(rf"/api/v1/tickets/{ticket}/attachments/[0-9a-f]{{64}}\?inline=1", bubble)
    only_files = post(
        requester,
        f"/r/{ticket}/message",
        {"body": "", "version": str(version(r.text))},
        [("files", ("more.png", PNG, "image/png"))],
    )
    assert only_files.status_code == 200 and "more.png" in only_files.text
    empty = post(requester, f"/r/{ticket}/message", {"body": " ", "version": "1"})
    assert empty.status_code == 422 and "Write your message." in empty.text


def test_a_private_link_works_for_someone_signed_in_to_another_account(site: Site) -> None:
    contact = {"contact_name": "Анна", "contact_email": "anna@example.org"}
    filed = post(visitor(site), "/new", filing(site, **contact))
    link = LINK.search(filed.text)
    assert link, filed.text
    path, ticket, key = link.groups()
    stranger = person(site, "stranger")  # signed in, another organisation: the link still opens
    chat = get(stranger, f"{path}&after={head(site)}")
    assert chat.status_code == 200 and "Контракт не публикуется" in chat.text
    assert get(stranger, f"/r/{ticket}").status_code == 404, "without the link: nothing"
    written = post(stranger, f"/r/{ticket}/message?key={key}",
                   {"body": "Пишу по ссылке", "version": str(version(chat.text))})  # fmt: skip
    assert written.status_code == 200 and "Пишу по ссылке" in written.text


def test_a_visitor_says_how_urgent_it_is_and_the_staff_keep_the_priority(site: Site) -> None:
    anonymous = visitor(site)
    contact = {"contact_name": "Анна", "contact_email": "anna@example.org"}
    before = head(site)
    wrong = post(anonymous, "/new", filing(site, **contact, urgency="critical"))
    assert wrong.status_code == 422 and "Choose how urgent it is from the list." in wrong.text
    assert head(site) == before, "nothing is filed"
    page = get(anonymous, "/new")
    assert 'name="urgency"' in page.text and 'name="priority"' not in page.text

    filed = post(anonymous, "/new", filing(site, **contact, urgency="high", priority="critical"))
    assert filed.status_code == 201, filed.text
    link = LINK.search(filed.text)
    assert link
    ticket = site.services.desk.ticket(site.world.agent, UUID(link.group(2)))
    assert (ticket.urgency.value, ticket.priority.value) == ("high", "normal")
