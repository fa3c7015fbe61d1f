"""The filing form keeps its files when it is sent back (issue 18): a visitor, or a requester in
his cabinet, chooses files, makes a mistake, corrects it and files without choosing them again;
the request gets the very bytes chosen, and a file over the limit leaves the others kept. A
token forged, expired or carried to another browser or account attaches nothing. And the
per-address limit: a burst paid with a proof of work files during a mass failure, a flood beyond
it is still refused. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from dataclasses import replace
from uuid import UUID

import httpx
import pytest

from domain.category import FieldSpec, FieldType
from domain.desk import SYSTEM
from domain.settings import Settings
from tests.web.desk_site import CONTRACT, LEAKS, ORIGIN, Person, Site, TestClient, open_site
from web.filing_limit import FilingLimit
from web.shared_throttle import SharedRateLimiter, SharedSpentTokens
from web.throttle import RateLimiter, SpentTokens
from web.ui import held_files

pytestmark = LEAKS
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
LOG = "2026-12-04 09:13 ошибка подписи: сертификат отозван\n".encode() * 50
CONTACT = {"contact_name": "Анна", "contact_email": "anna@example.org"}
TOKEN = re.compile(r'name="held" value="([^"]+)"')
CHALLENGE = re.compile(r'name="proof_challenge" value="([^"]+)"')
LINK = re.compile(r'href="/r/([0-9a-f-]{36})\?key=')


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        head = s.services.desk.recorder.max_notification_id() or 0
        assert s.services.projections.wait_for(head, 10.0), "the views caught up"
        yield s


def visitor(site: Site) -> TestClient:
    client = site.new_client()
    client.cookies.set("suz_lang", "en")
    return client


def person(site: Site, who: str) -> Person:
    p = site.sign_in(who)
    p.client.cookies.set("suz_lang", "en")
    return p


def filing(site: Site, **extra: str) -> dict[str, str]:
    return {
        "category": str(site.world.contracts),
        "subject": "Контракт не публикуется",
        "description": "При публикации ошибка подписи.",
        "field.contract_number": CONTRACT,
        **extra,
    }


def post(
    who: Person | TestClient,
    data: dict[str, str],
    files: list[tuple[str, bytes]] | None = None,
) -> httpx.Response:
    """The form posted by htmx, as the browser sends it (multipart, with its files)."""
    headers = {"Origin": ORIGIN, "HX-Request": "true"}
    client = who.client if isinstance(who, Person) else who
    if isinstance(who, Person):
        headers["X-CSRF-Token"] = who.csrf
    upload = [("files", (n, content, "application/octet-stream")) for n, content in files or []]
    upload = upload or [("files", ("", b"", "application/octet-stream"))]  # an empty input
    r: httpx.Response = client.post("/new", data=data, files=upload, headers=headers)
    return r


def token(r: httpx.Response) -> str:
    found = TOKEN.search(r.text)
    assert found, "the form sent back carries its held files"
    return html.unescape(found.group(1))


def attached(site: Site, ticket: UUID) -> dict[str, bytes]:
    """The request's files by name, read back from the store."""
    t = site.services.desk.ticket(site.world.agent, ticket)
    store = site.services.blobs
    found = {}
    for a in t.attachments:
        with store.open(a.sha256) as f:
            found[a.name] = f.read()
    return found


def filed_id(r: httpx.Response) -> UUID:
    assert r.status_code == 201, r.text
    found = LINK.search(r.text)
    assert found, r.text
    return UUID(found.group(1))


# -- the files of a form sent back -----------------------------------------------------------
def test_a_form_error_keeps_the_files_and_the_fixed_form_files_them_byte_exact(
    site: Site,
) -> None:
    anna = visitor(site)
    wrong = post(anna, filing(site, **{**CONTACT, "contact_email": "anna"}),
                 [("screen.png", PNG), ("signing.log", LOG)])  # fmt: skip
    assert wrong.status_code == 422
    assert "Leave an e-mail address we can answer to." in wrong.text
    assert "Files you chose before" in wrong.text
    assert "screen.png" in wrong.text and "signing.log" in wrong.text
    assert held_files.COOKIE in wrong.cookies or anna.cookies.get(held_files.COOKIE)
    assert site.services.blobs.holding() == 2
    assert [d for d in site.services.blobs.digests()] == [], "nobody's blob until filed"

    fixed = post(anna, {**filing(site, **CONTACT), "held": token(wrong)})
    ticket = filed_id(fixed)
    assert attached(site, ticket) == {"screen.png": PNG, "signing.log": LOG}
    assert site.services.blobs.holding() == 0, "filed: the held copies are gone"


def test_a_file_over_the_limit_does_not_take_the_others_with_it(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = replace(site.services.settings, max_upload_bytes=2000)
    monkeypatch.setattr(site.services, "settings", small)
    anna = visitor(site)
    wrong = post(anna, filing(site, **CONTACT), [("screen.png", PNG), ("huge.bin", b"x" * 5000)])
    assert wrong.status_code == 422
    assert "A file is larger than 2000 B" in wrong.text
    assert "screen.png" in wrong.text and "huge.bin" not in wrong.text
    assert site.services.blobs.holding() == 1
    ticket = filed_id(post(anna, {**filing(site, **CONTACT), "held": token(wrong)}))
    assert attached(site, ticket) == {"screen.png": PNG}


def test_the_requester_in_his_cabinet_keeps_his_files_and_may_remove_one(site: Site) -> None:
    requester = person(site, "requester")
    wrong = post(requester, filing(site, subject=""), [("screen.png", PNG), ("signing.log", LOG)])
    assert wrong.status_code == 422 and "Write a short subject." in wrong.text
    ids = re.findall(r'name="held_drop" value="([0-9a-f]{32})"', wrong.text)
    assert len(ids) == 2
    removed = ids[1]  # signing.log, listed second
    fixed = post(requester, {**filing(site), "held": token(wrong), "held_drop": removed},
                 [("more.txt", b"one more file")])  # fmt: skip
    assert fixed.status_code == 204, fixed.text
    ticket = UUID(re.findall(r"/r/([0-9a-f-]{36})", fixed.headers["HX-Redirect"])[0])
    assert attached(site, ticket) == {"screen.png": PNG, "more.txt": b"one more file"}
    assert site.services.blobs.holding() == 0


def test_a_forged_or_expired_token_attaches_nothing(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = visitor(site)
    wrong = post(anna, filing(site, **{**CONTACT, "contact_name": ""}), [("screen.png", PNG)])
    good = token(wrong)
    body, _, mac = good.partition(".")
    forged = f"{body}.{'A' * len(mac)}"
    ticket = filed_id(post(anna, {**filing(site, **CONTACT), "held": forged}))
    assert attached(site, ticket) == {}
    garbage = filed_id(post(anna, {**filing(site, **CONTACT), "held": "x.y.z\u00e9"}))
    assert attached(site, garbage) == {}

    monkeypatch.setattr(held_files, "TTL", -1.0)  # held already expired
    late = post(anna, filing(site, **{**CONTACT, "contact_name": ""}), [("late.png", PNG)])
    ticket = filed_id(post(anna, {**filing(site, **CONTACT), "held": token(late)}))
    assert attached(site, ticket) == {}
    assert site.services.blobs.purge_held() >= 1, "the purge deletes what expired"


def test_another_browsers_or_accounts_token_attaches_nothing(site: Site) -> None:
    anna = visitor(site)
    wrong = post(anna, filing(site, **{**CONTACT, "contact_name": ""}), [("private.png", PNG)])
    stolen = token(wrong)
    holder = anna.cookies.get(held_files.COOKIE)
    assert holder

    mallory = visitor(site)  # the token alone, from another browser
    ticket = filed_id(post(mallory, {**filing(site, **CONTACT), "held": stolen}))
    assert attached(site, ticket) == {}
    mallory.cookies.set(held_files.COOKIE, "x" * 43)  # a holder of his own
    ticket = filed_id(post(mallory, {**filing(site, **CONTACT), "held": stolen}))
    assert attached(site, ticket) == {}

    requester = person(site, "requester")  # the token and the cookie, but another account
    requester.client.cookies.set(held_files.COOKIE, holder, path="/new")
    r = post(requester, {**filing(site), "held": stolen})
    assert r.status_code == 204, r.text
    ticket = UUID(re.findall(r"/r/([0-9a-f-]{36})", r.headers["HX-Redirect"])[0])
    assert attached(site, ticket) == {}

    assert site.services.blobs.holding() == 1, "still Anna's, for her next submission"
    mine = filed_id(post(anna, {**filing(site, **CONTACT), "held": stolen}))
    assert attached(site, mine) == {"private.png": PNG}


def test_a_file_fields_file_is_kept_for_its_field(site: Site) -> None:
    desk = site.services.desk
    scan = FieldSpec("scan", "Скан договора", "Contract scan", FieldType.FILE, required=True)
    category = desk.define_category(SYSTEM, "Договоры", "Agreements", (scan,)).id
    assert site.services.projections.wait_for(desk.recorder.max_notification_id() or 0, 10.0)
    anna = visitor(site)
    form = {**CONTACT, "category": str(category), "subject": "Скан", "description": "Вот скан."}
    headers = {"Origin": ORIGIN, "HX-Request": "true"}
    wrong = anna.post("/new", data={**form, "subject": ""}, headers=headers,
                      files=[("file.scan", ("scan.png", PNG, "image/png"))])  # fmt: skip
    assert wrong.status_code == 422 and "Write a short subject." in wrong.text
    assert "Contract scan is required." not in wrong.text, "its file came with it"
    assert "scan.png" in wrong.text and "Contract scan" in wrong.text  # listed for its field
    fixed = anna.post("/new", data={**form, "held": token(wrong)}, headers=headers,
                      files=[("files", ("", b"", "application/octet-stream"))])  # fmt: skip
    ticket = filed_id(fixed)
    assert attached(site, ticket) == {"scan.png": PNG}
    filed = desk.ticket(site.world.agent, ticket)
    assert filed.fields["scan"] == "scan.png"


# -- the per-address limit ---------------------------------------------------------------------
def small_limit(site: Site, plain: int, burst: int) -> FilingLimit:
    """The limit as bootstrap builds it for the store, smaller, with an easy proof."""
    db, secret = site.services.projections.db, site.services.proof_secret
    if site.services.settings.uses_postgres:
        return FilingLimit(SharedRateLimiter(db, "public_form", plain, 3600.0),
                           SharedRateLimiter(db, "public_form_burst", burst, 3600.0),
                           SharedSpentTokens(db, "filing_proof"), secret, difficulty=8)  # fmt: skip
    return FilingLimit(RateLimiter(plain, 3600.0), RateLimiter(burst, 3600.0), SpentTokens(),
                       secret, difficulty=8)  # fmt: skip


def solve(challenge: str) -> str:
    """What static/js/proof.js computes: the first counter whose hash has the zero bits."""
    bits = int(challenge.split(".")[0])
    counter = 0
    while True:
        digest = hashlib.sha256(f"{challenge}:{counter}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(counter)
        counter += 1


def test_a_burst_with_proofs_files_and_a_flood_is_still_refused(site: Site) -> None:
    site.services.public_form_limit = small_limit(site, plain=1, burst=2)
    anna = visitor(site)
    filed_id(post(anna, filing(site, **CONTACT)))
    over = post(anna, filing(site, **CONTACT), [("screen.png", PNG)])
    assert over.status_code == 429
    assert "Too many requests from your address; try again in" in over.text
    assert int(over.headers["retry-after"]) > 0
    challenge = html.unescape(CHALLENGE.search(over.text).group(1))  # type: ignore[union-attr]
    assert "data-proof" in over.text and "screen.png" in over.text  # its file kept too

    wrong = post(anna, {**filing(site, **CONTACT), "proof_challenge": challenge, "proof": "x"})
    assert wrong.status_code == 429, "a wrong answer is no proof"
    proof = {"proof_challenge": challenge, "proof": solve(challenge)}
    first = post(anna, {**filing(site, **CONTACT), **proof, "held": token(over)})
    assert attached(site, filed_id(first)) == {"screen.png": PNG}
    again = post(anna, {**filing(site, **CONTACT), **proof})
    assert again.status_code == 429, "a proof is used once"

    fresh = html.unescape(CHALLENGE.search(again.text).group(1))  # type: ignore[union-attr]
    filed_id(post(anna, {**filing(site, **CONTACT), "proof_challenge": fresh,
                         "proof": solve(fresh)}))  # fmt: skip
    flood = post(anna, filing(site, **CONTACT))
    assert flood.status_code == 429
    assert "proof_challenge" not in flood.text, "beyond the burst no proof helps"


def test_the_refusal_says_in_russian_when_to_try_again_and_offers_the_check(site: Site) -> None:
    site.services.public_form_limit = small_limit(site, plain=1, burst=2)
    anna = site.new_client()
    anna.cookies.set("suz_lang", "ru")
    filed_id(post(anna, filing(site, **CONTACT)))
    over = post(anna, filing(site, **CONTACT), [("скрин.png", PNG)])
    assert over.status_code == 429
    assert "Слишком много обращений с вашего адреса; повторите попытку через" in over.text
    assert "так бывает при массовом сбое" in over.text
    assert "Файлы, выбранные ранее (хранятся один час)" in over.text and "убрать" in over.text


def test_a_proof_is_for_the_address_it_was_given_to(site: Site) -> None:
    limit = small_limit(site, plain=1, burst=5)
    assert limit.take("203.0.113.5").wait == 0
    refused = limit.take("203.0.113.5")
    assert refused.wait > 0 and refused.challenge
    answer = solve(refused.challenge)
    elsewhere = limit.take("198.51.100.7", refused.challenge, answer)
    assert not elsewhere.proven, "counted as the other address's plain filing"
    assert limit.take("203.0.113.5", refused.challenge, answer).proven


def test_only_successful_filings_count(site: Site) -> None:
    limit = small_limit(site, plain=1, burst=1)
    first = limit.take("203.0.113.9")
    assert first.wait == 0
    limit.refund("203.0.113.9", first)  # refused after all: the domain said no
    assert limit.take("203.0.113.9").wait == 0
    assert limit.take("203.0.113.9").wait > 0
