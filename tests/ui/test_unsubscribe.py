"""One-click unsubscribe from a staff letter (RFC 8058), on both stores: a real letter sent by the
running desk to a real SMTP server carries List-Unsubscribe for its kind; opening the link
changes nothing; the mail client's one-click POST (no cookie) moves that kind from e-mail to the
app as the person's own event; a forged token, another kind's token or a disabled account's
changes nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from domain.desk import SYSTEM
from domain.notifications import Kind
from domain.people import Role
from domain.settings import Settings
from domain.setup.people import DisableAccount
from mail.unsubscribe import read_token, unsubscribe_token
from projections import notification_queries as nq
from tests.mail.smtp_server import RunningServer, smtp_server  # noqa: F401
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS
PUBLIC = "https://desk.test"


@pytest.fixture
def site(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: RunningServer,  # noqa: F811
) -> Iterator[Site]:
    mailing = dataclasses.replace(settings, smtp_url=smtp_server.url, public_url=PUBLIC,
                                  mail_from="Support <support@desk.test>")  # fmt: skip
    with open_site(mailing, monkeypatch) as s:
        yield s


def choice(site: Site, account: UUID, kind: str) -> str:
    with site.services.projections.db.read() as tx:
        return nq.preferences(tx, str(account), staff=True).choices[kind]


def test_a_staff_letter_unsubscribes_its_kind_in_one_click(
    site: Site,
    smtp_server: RunningServer,  # noqa: F811
) -> None:
    desk, world = site.world.desk, site.world
    olga = desk.register_account(SYSTEM, "olga", "Ольга", (Role.AGENT,), None,
                                 "olga@desk.test").id  # fmt: skip
    desk.add_to_group(SYSTEM, olga, world.line1)
    filed = desk.file_ticket(world.requester, world.contracts, "Подпись", "Ошибка.",
                             {"contract_number": "1234567890123456789"})  # fmt: skip
    desk.assign(world.admin, filed.id, world.line1, olga)
    letters = [r for r in smtp_server.wait_for(1, timeout=20) if "olga@desk.test" in r.rcpt_tos]
    assert letters, "the assignee is told by e-mail (the default for 'assigned')"
    letter = letters[0].message()
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(letter["List-Unsubscribe"]).strip("<>")
    assert url.startswith(f"{PUBLIC}/unsubscribe/")
    path = url.removeprefix(PUBLIC)
    assert read_token(desk.mail_secret, path.rsplit("/", 1)[1]) == (olga, Kind.ASSIGNED)
    assert choice(site, olga, "assigned") == "both"

    client = TestClient(site.client.app)  # a mail client: no cookie, no Origin
    opened = client.get(path)
    assert opened.status_code == 200 and 'id="confirm-unsubscribe"' in opened.text
    assert opened.headers["referrer-policy"] == "same-origin", "the token stays on the desk"
    assert choice(site, olga, "assigned") == "both", "opening the link changes nothing"

    forged = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    assert client.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    other = unsubscribe_token(b"another desk's key, 32 bytes lon", olga, Kind.ASSIGNED)
    assert client.post(f"/unsubscribe/{other}").status_code == 404
    assert choice(site, olga, "assigned") == "both", "a forged token changes nothing"

    before = desk.account_by_id(olga).version
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and 'id="unsubscribed"' in done.text
    site.services.projections.wait_for(desk.recorder.max_notification_id() or 0)
    assert choice(site, olga, "assigned") == "app", "in the app only from now on"
    assert choice(site, olga, "mentioned") == "both", "the other kinds are kept"
    account = desk.account_by_id(olga)
    assert account.version == before + 1, "his own event on his account"
    again = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert desk.account_by_id(olga).version == account.version, "nothing more to write"

    mention = unsubscribe_token(desk.mail_secret, olga, Kind.MENTIONED)
    desk.handle(SYSTEM, DisableAccount(olga))
    assert client.post(f"/unsubscribe/{mention}").status_code == 404
    assert choice(site, olga, "mentioned") == "both", "a disabled account: nothing changes"
