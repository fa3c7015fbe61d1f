"""A letter on the pages: the staff's request page and the requester's show who wrote it by e-mail
and keep its quoted history behind a toggle, escaped; the history (the requester's timeline)
has it too, and the requester never sees more than his side wrote."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid
from uuid import UUID

import pytest

from domain.settings import Settings
from mail.imap import Outcome
from mail.threads import reply_address, reply_token
from tests.web.desk_site import LEAKS, Site, open_site
from web.mail_in import Intake

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def test_a_letter_shows_its_sender_and_hides_its_quote(site: Site, settings: Settings) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    ticket = site.file(requester)["id"]
    services = site.services
    mail = replace(settings, mail_from="support@desk.example.ru")
    intake = Intake(services.desk, services.projections.db, services.blobs, mail)
    token = reply_token(services.desk.mail_secret, UUID(ticket))
    m = EmailMessage()
    m["From"], m["To"] = "Иванова <Ivanova@Org.ru>", reply_address(mail.mail_from, token)
    m["Subject"], m["Message-ID"] = "Re: ошибка", make_msgid()
    m.set_content("Прикладываю подробности.\n\nOn Mon, Agent wrote:\n> <script>alert(1)</script>")
    receipt = intake.receive(m.as_bytes())
    assert (receipt.outcome, str(receipt.ticket_id)) == (Outcome.STORED, ticket)
    services.projections.catch_up()

    for who, path in ((agent, f"/t/{ticket}"), (requester, f"/r/{ticket}")):
        page = who.client.get(path, headers={"Accept-Language": "en"})
        assert page.status_code == 200, path
        assert "by e-mail from ivanova@org.ru" in page.text, path
        assert "Прикладываю подробности." in page.text
        assert "Show quoted text" in page.text, path
        assert "<script>alert(1)</script>" not in page.text, "the quote is escaped"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
