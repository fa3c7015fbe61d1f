"""The notification pages on both stores: the bell's count, the list, "mark all read" and the
preferences (events of the person's own account), the administrators' mail page with its counts
and dead letters sent again through a real SMTP server, and refusals that change nothing."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.desk import SYSTEM
from domain.people import Role
from domain.settings import Settings
from projections import notification_queries as nq
from tests.mail.smtp_server import RunningServer, smtp_server  # noqa: F401
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, open_site

pytestmark = LEAKS


@pytest.fixture
def site(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: RunningServer,  # noqa: F811
) -> Iterator[Site]:
    mailing = dataclasses.replace(settings, smtp_url=smtp_server.url,
                                  mail_from="Support <support@desk.test>")  # fmt: skip
    with open_site(mailing, monkeypatch) as s:
        yield s


def person(site: Site, who: str) -> Person:
    p = site.sign_in(who)
    p.client.cookies.set("suz_lang", "en")
    return p


def form(who: Person, path: str, data: dict[str, Any]) -> httpx.Response:
    data = {**data, "csrf_token": who.csrf}
    r: httpx.Response = who.client.post(
        path, data=data, headers={"Origin": ORIGIN}, follow_redirects=True
    )
    return r


def unread(who: Person) -> int:
    r = who.get("/notifications/count")
    assert r.status_code == 200
    found = re.search(r'data-unread="(\d+)"', r.text)
    assert found, r.text
    return int(found.group(1))


def test_the_bell_counts_and_mark_all_read_clears_it(site: Site) -> None:
    requester, agent = person(site, "requester"), person(site, "agent")
    filed = site.file(requester)
    assert unread(requester) == 0, "his own filing: e-mail only by default"
    r = agent.command(filed["id"], "replies", filed["version"], body="Переподпишите контракт.")
    assert r.status_code == 200, r.text
    site.services.projections.wait_for(r.json()["position"])
    assert unread(requester) == 1
    page = requester.get("/notifications")
    assert page.status_code == 200 and "A reply to your request" in page.text
    assert f'href="/r/{filed["id"]}"' in page.text
    newest = re.search(r'name="up_to" value="(\d+)"', page.text)
    assert newest
    done = form(requester, "/notifications/read", {"up_to": newest.group(1)})
    assert done.status_code == 200 and 'class="read"' in done.text
    assert unread(requester) == 0
    assert 'id="bell"' in requester.get("/my").text, "the bell is in the header"


def test_preferences_are_saved_as_the_persons_own_event(site: Site) -> None:
    agent = person(site, "agent")
    staff_page = agent.get("/notifications").text
    assert 'name="kind_assigned"' in staff_page and 'name="kind_sla_breach"' in staff_page
    choices = {f"kind_{k}": "app" for k in re.findall(r'name="kind_(\w+)" value="app"', staff_page)}
    saved = form(agent, "/notifications/preferences", {**choices, "kind_assigned": "off",
                                                       "language": "en"})  # fmt: skip
    assert saved.status_code == 200 and 'id="preferences-saved"' in saved.text
    assert re.search(r'name="kind_assigned" value="off" checked', saved.text)
    requester = person(site, "requester")
    mine = requester.get("/notifications").text
    assert 'name="kind_replied"' in mine and 'name="kind_assigned"' not in mine, "his kinds only"
    bad = form(agent, "/notifications/preferences", {**choices, "kind_assigned": "pigeon",
                                                     "language": "en"})  # fmt: skip
    assert bad.status_code == 422
    assert re.search(r'name="kind_assigned" value="off" checked',
                     agent.get("/notifications").text), "a refusal changes nothing"  # fmt: skip
    assert form(agent, "/notifications/read", {"up_to": "-1"}).status_code == 422


def test_the_admin_mail_page_shows_dead_letters_and_sends_one_again(
    site: Site,
    smtp_server: RunningServer,  # noqa: F811
) -> None:
    admin, agent = person(site, "admin"), person(site, "agent")
    assert agent.get("/admin/mail").status_code == 403
    smtp_server.refuse_next("550 5.7.1 refused")
    anna = site.world.desk.register_account(SYSTEM, "anna", "Анна", (Role.REQUESTER,),
                                            site.world.org, "anna@org.ru").id  # fmt: skip
    actor = site.world.desk.actor_for(anna)
    filed = site.world.desk.file_ticket(actor, site.world.contracts, "Подпись", "Ошибка.",
                                        {"contract_number": "1234567890123456789"})  # fmt: skip
    site.services.projections.wait_for(filed.position)

    def dead() -> list[nq.DeadLetter]:
        with site.services.projections.db.read() as tx:
            return nq.dead(tx)

    deadline = time.monotonic() + 20
    while not dead():
        assert time.monotonic() < deadline, "the letter died"
        site.services.projections.positions.wait_for("notifications", 2**62, timeout=0.2)
    page = admin.get("/admin/mail")
    assert page.status_code == 200 and "Mail is configured" in page.text
    assert 'data-state="dead">1<' in page.text and "anna@org.ru" in page.text
    (letter,) = dead()
    again = form(admin, "/admin/mail/resend", {"position": str(letter.position),
                                               "recipient": letter.recipient,
                                               "kind": letter.kind})  # fmt: skip
    assert again.status_code == 200 and "will be sent again" in again.text
    (received,) = smtp_server.wait_for(1, timeout=20)
    assert received.rcpt_tos == ("anna@org.ru",)
    assert form(admin, "/admin/mail/resend", {"position": "1", "recipient": "x", "kind": "y"}
                ).status_code == 422  # fmt: skip
