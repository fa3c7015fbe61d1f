"""Password hashes are secrets, not history: no event carries one any more, an old store whose
log holds hashes (`Account.PasswordSet`) still signs in, and no export hands them out."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest

from audit.seals import make_seal
from domain.desk import SYSTEM, Desk
from domain.people import Account, Role
from domain.settings import Settings
from scripts import verify_export
from tests.web.desk_site import LEAKS, PASSWORD, Site, open_site
from web.credentials import adopt_legacy_hashes
from web.passwords import Passwords

pytestmark = LEAKS

OLD_PASSWORD = "the veteran's old password"
FAST = Passwords(time_cost=1, memory_cost_kib=8192, parallelism=1)


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("SUZ_SIGNING_KEY", raising=False)
    with open_site(settings, monkeypatch) as s:
        yield s


def stored_bytes(desk: Desk) -> list[bytes]:
    """Every stored event's state, as the store keeps it."""
    head = desk.recorder.max_notification_id() or 0
    return [bytes(n.state) for n in desk.recorder.select_notifications(start=1, limit=head + 1)]


def veteran(desk: Desk, login: str = "veteran") -> UUID:
    """An account whose password was set as the code before this change did it: the argon2id
    hash inside an `Account.PasswordSet` event, and nothing in the credentials table."""
    account_id = desk.register_account(SYSTEM, login, "Ветеран", (Role.AGENT,)).id
    old_hash = FAST.hash(OLD_PASSWORD)
    account = desk.account_by_id(account_id)  # an old store's event: no command writes it now
    account.trigger_event(Account.PasswordSet, password_hash=old_hash)
    desk.save(account)
    return account_id


def test_a_password_change_writes_no_hash_into_any_event(site: Site) -> None:
    admin = site.sign_in("admin")
    created = admin.post(
        "/api/v1/accounts",
        {
            "login": "newbie",
            "display_name": "Новичок",
            "roles": ["agent"],
            "password": "first password",
        },
    )
    assert created.status_code == 201, created.text
    newbie_id = created.json()["id"]
    agent = site.sign_in("agent")
    changed = agent.post("/api/v1/me/password", {"current": PASSWORD, "new": "second password"})
    assert changed.status_code == 200, changed.text
    reset = admin.client.put(
        f"/api/v1/accounts/{newbie_id}/password",
        json={"password": "third password"},
        headers=admin.headers(),
    )
    assert reset.status_code == 200, reset.text

    states = stored_bytes(site.services.desk)
    assert [s for s in states if b"$argon2" in s] == []
    desk = site.services.desk
    events = [e for e in desk.repository.event_store.get(UUID(newbie_id))]
    said = [(type(e).__name__, getattr(e, "by", "-")) for e in events]
    assert said == [("Registered", "-"), ("PasswordChanged", site.world.admin.id),
                    ("PasswordChanged", site.world.admin.id)]  # fmt: skip
    agents = [type(e).__name__ for e in desk.repository.event_store.get(site.world.agent.id)]
    assert agents[-1] == "PasswordChanged"
    for login, password in (("newbie", "third password"), ("agent1", "second password")):
        r = site.new_client().post("/api/v1/session", json={"login": login, "password": password})
        assert r.status_code == 200, (login, r.text)


def test_an_old_store_with_hashes_in_its_events_still_signs_in(site: Site) -> None:
    desk, sessions = site.services.desk, site.services.sessions
    account_id = veteran(desk)
    assert sessions.password_hash(account_id) is None
    wrong = site.new_client().post(
        "/api/v1/session", json={"login": "veteran", "password": "not the password"}
    )
    assert wrong.status_code == 401
    right = site.new_client().post(
        "/api/v1/session", json={"login": "veteran", "password": OLD_PASSWORD}
    )
    assert right.status_code == 200, right.text
    copied = sessions.password_hash(account_id)
    assert copied is not None and FAST.verify(copied, OLD_PASSWORD)
    page = site.new_client().post("/login", data={"login": "veteran", "password": OLD_PASSWORD},
                                  headers={"Origin": "http://testserver"},
                                  follow_redirects=False)  # fmt: skip
    assert page.status_code == 303


def test_migrate_copies_old_hashes_unless_changed_since(site: Site) -> None:
    desk, sessions = site.services.desk, site.services.sessions
    kept, changed = veteran(desk, "veteran1"), veteran(desk, "veteran2")
    desk.record_password_change(SYSTEM, changed)  # changed the new way: the old hash is void
    assert adopt_legacy_hashes(desk, sessions) == 1
    copied = sessions.password_hash(kept)
    assert copied is not None and FAST.verify(copied, OLD_PASSWORD)
    assert sessions.password_hash(changed) is None
    assert adopt_legacy_hashes(desk, sessions) == 0  # once only


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_period_export_redacts_old_hashes_and_still_verifies_with_the_seals(
    site: Site,
) -> None:
    desk, services = site.services.desk, site.services
    account_id = veteran(desk)
    site.world.file()
    seal = make_seal(services.settings, desk, services.projections.db)
    assert seal is not None
    site.world.file()  # the export reaches past the seal
    auditor = site.sign_in("auditor")
    today = datetime.now(UTC).date()
    r = auditor.get(f"/api/v1/audit/export?from={today}&to={today}")
    assert r.status_code == 200, r.text
    parts = _parts(r.content)
    assert b"$argon2" not in parts["events.jsonl"]
    lines = [json.loads(x) for x in parts["events.jsonl"].splitlines()]
    (old,) = [x for x in lines if x["topic"].endswith("Account.PasswordSet")]
    assert (old["aggregate_id"], old["redacted"]) == (str(account_id), ["password_hash"])
    assert json.loads(old["state"])["password_hash"] == "[redacted]"
    seals = auditor.get("/api/v1/audit/seals?format=jsonl").text.splitlines()
    key = site.new_client().get("/api/v1/audit/public-key").content
    problems, summary = verify_export.check_lines(
        io.BytesIO(parts["events.jsonl"]), parts["manifest.json"], parts["manifest.sig"], key,
        [json.loads(s) for s in seals],
    )  # fmt: skip
    assert problems == []
    assert summary.endswith("seals: 1 match, 0 outside this export")
