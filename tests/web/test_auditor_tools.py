"""The auditor's tools: time travel, per-ticket and whole-store integrity, signed exports, and
auditors who can read everything and change nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from domain.access import visible_state
from domain.errors import DeskError
from domain.settings import Settings
from domain.ticket import Priority
from projections.timeline import REQUESTER
from scripts import verify_export
from tests.domain.test_integrity import Rows
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, open_site
from web.history_api import state_json

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("SUZ_SIGNING_KEY", raising=False)
    with open_site(settings, monkeypatch) as s:
        yield s


def _story(site: Site) -> tuple[str, int]:
    """A ticket with public and internal events; (its id, the internal note's version)."""
    w, desk = site.world, site.world.desk
    filed = w.file()
    desk.reply(w.agent, filed.id, "Проверяем подпись.")
    note = desk.note(w.agent, filed.id, "Секретная внутренняя заметка")
    desk.escalate(w.agent, filed.id, w.line2, "Нужен анализ логов")
    desk.resolve(w.engineer, filed.id, "Сервис восстановлен")
    return str(filed.id), note.version


class Reader:
    """GETs through the site's own client (one event loop, so one set of worker threads and
    view connections however many requests) with a person's API token."""

    def __init__(self, site: Site, person: Person) -> None:
        r = person.post("/api/v1/me/tokens", {"name": "auditor tools test"})
        assert r.status_code == 201, r.text
        self.client, self.secret = site.client, r.json()["secret"]

    def get(self, path: str) -> httpx.Response:
        r: httpx.Response = self.client.get(
            path, headers={"Authorization": f"Bearer {self.secret}"}
        )
        return r

    def ticket(self, ticket: str, after: int = 0) -> dict[str, Any]:
        r = self.get(f"/api/v1/tickets/{ticket}?after={after}")
        assert r.status_code == 200, r.text
        return cast(dict[str, Any], r.json())


def _history(person: Person | Reader, ticket: str, query: str) -> dict[str, Any]:
    r = person.get(f"/api/v1/tickets/{ticket}/history?{query}")
    assert r.status_code == 200, r.text
    return cast(dict[str, Any], r.json())


def _replayed(site: Site, ticket: str, n: int) -> dict[str, Any]:
    """A fresh aggregate from exactly the first n stored events."""
    aggregate: Any = None
    for event in list(site.services.desk.repository.event_store.get(UUID(ticket)))[:n]:
        aggregate = cast(Any, event).mutate(aggregate)
    return state_json(aggregate)


def _upto(entries: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The timeline view's entries up to version n (positions aside)."""
    return [{**e, "position": 0} for e in entries if e["version"] <= n]


# -- time travel --------------------------------------------------------------------------------
Step = Callable[[Site, UUID], Any]
STEPS: list[Step] = [
    lambda s, t: s.world.desk.reply(s.world.agent, t, "Ответ"),
    lambda s, t: s.world.desk.note(s.world.agent, t, "Внутренняя заметка"),
    lambda s, t: s.world.desk.write(s.world.requester, t, "Сообщение заявителя"),
    lambda s, t: s.world.desk.change_priority(s.world.agent, t, Priority.HIGH, "Срочно"),
    lambda s, t: s.world.desk.escalate(s.world.agent, t, s.world.line2, "Нужна вторая линия"),
    lambda s, t: s.world.desk.assign(s.world.agent, t, s.world.line1, s.world.agent.id),
    lambda s, t: s.world.desk.resolve(s.world.agent, t, "Решено"),
    lambda s, t: s.world.desk.reopen(s.world.requester, t, "Не помогло"),
]


def test_the_state_at_every_version_is_the_replay_of_exactly_its_events(site: Site) -> None:
    agent, requester = Reader(site, site.sign_in("agent")), Reader(site, site.sign_in("requester"))

    @hypothesis_settings(max_examples=12, deadline=None,
                         suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(st.sampled_from(range(len(STEPS))), max_size=6))
    def check(steps: list[int]) -> None:
        filed = site.world.file()
        position = filed.position
        for i in steps:
            with contextlib.suppress(DeskError):  # refused in this state: nothing written
                position = STEPS[i](site, filed.id).position
        ticket = str(filed.id)
        latest = _history(agent, ticket, "")["latest"]
        all_entries = agent.ticket(ticket, after=position)["timeline"]
        public_entries = requester.ticket(ticket, after=position)["timeline"]
        for n in range(1, latest + 1):
            staff = _history(agent, ticket, f"version={n}")
            assert staff["version"] == n and staff["ticket"]["version"] == n
            assert staff["ticket"] == _replayed(site, ticket, n)
            assert staff["timeline"] == _upto(all_entries, n)
            if n > public_entries[-1]["version"]:  # after his last entry: no version for him
                asked = requester.get(f"/api/v1/tickets/{ticket}/history?version={n}")
                assert asked.status_code == 422
                continue
            own = _history(requester, ticket, f"version={n}")
            shown = max(e["version"] for e in public_entries if e["version"] <= n)
            assert own["public_only"] and own["version"] == shown  # his entries' versions only
            assert own["ticket"] == visible_state(REQUESTER, _replayed(site, ticket, shown))
            assert own["timeline"] == _upto(public_entries, n)
            assert all(not e["internal"] for e in own["timeline"])
            seen_as = _history(agent, ticket, f"version={n}&view=requester")
            assert seen_as["timeline"] == own["timeline"]

    check()


def test_a_moment_maps_to_the_last_version_recorded_by_then(site: Site) -> None:
    ticket, _ = _story(site)
    auditor = site.sign_in("auditor")
    events = list(site.services.desk.repository.event_store.get(UUID(ticket)))
    for e in events:
        at = e.timestamp.isoformat()
        got = _history(auditor, ticket, "as_of=" + at.replace("+", "%2B"))
        assert got["version"] == e.originator_version
        assert got["ticket"] == _replayed(site, ticket, e.originator_version)
    before = events[0].timestamp.replace(year=2000).isoformat().replace("+", "%2B")
    assert auditor.get(f"/api/v1/tickets/{ticket}/history?as_of={before}").status_code == 404
    assert auditor.get(f"/api/v1/tickets/{ticket}/history?as_of=yesterday").status_code == 422
    assert auditor.get(f"/api/v1/tickets/{ticket}/history?version=99").status_code == 422


def test_history_is_shown_only_to_who_may_see_the_request(site: Site) -> None:
    ticket, note = _story(site)
    stranger, requester = site.sign_in("stranger"), site.sign_in("requester")
    assert stranger.get(f"/api/v1/tickets/{ticket}/history?version=1").status_code == 404
    assert site.new_client().get(f"/api/v1/tickets/{ticket}/history").status_code == 404
    assert stranger.get(f"/t/{ticket}/history").status_code == 404
    for n in range(1, note + 3):
        own = _history(requester, ticket, f"version={n}")
        assert "Секретная" not in str(own) and "анализ логов" not in str(own)  # redacted
        assert {e["event"] for e in own["timeline"]} <= {"Filed", "Replied", "Escalated",
                                                         "Resolved"}  # fmt: skip
    page = requester.get(f"/t/{ticket}/history?version={note}")
    assert page.status_code == 200 and "Секретная" not in page.text
    assert 'name="as"' not in page.text  # no toggle: a requester only ever sees the public side


def test_the_history_page_shows_the_state_and_timeline_up_to_a_version(site: Site) -> None:
    ticket, note = _story(site)
    agent, auditor = site.sign_in("agent"), site.sign_in("auditor")
    assert f'href="/t/{ticket}/history"' in agent.get(f"/t/{ticket}").text
    at3 = auditor.get(f"/t/{ticket}/history?version={note}")
    assert at3.status_code == 200, at3.text
    assert "Секретная внутренняя заметка" in at3.text
    assert "Нужен анализ логов" not in at3.text  # the escalation came later
    assert 'type="range"' in at3.text and f'value="{note}"' in at3.text
    assert 'id="integrity"' in at3.text and 'class="ok"' in at3.text
    as_requester = auditor.get(f"/t/{ticket}/history?version={note}&as=requester")
    assert "Секретная" not in as_requester.text and "Проверяем подпись" in as_requester.text
    assert "<script>" not in at3.text and "style=" not in at3.text  # the CSP's rules


# -- integrity ----------------------------------------------------------------------------------
def test_the_history_page_reports_an_edited_event(
    site: Site, settings: Settings, request: pytest.FixtureRequest
) -> None:
    ticket, note = _story(site)
    other, _ = _story(site)
    schema = request.getfixturevalue("pg_schema") if settings.uses_postgres else None
    rows = Rows(settings, schema)
    try:
        stored = rows.state(UUID(ticket), note)
        forged = stored.replace("Секретная".encode(), "Обычная".encode())
        rows.set_state(UUID(ticket), note, forged)
    finally:
        (rows.pg if rows.postgres else rows.lite).close()
    from domain.integrity import verify_aggregate

    report = verify_aggregate(site.services.desk, UUID(ticket))
    assert [(p.kind, p.version) for p in report.problems] == [("changed", note)]
    assert verify_aggregate(site.services.desk, UUID(other)).ok
    page = site.sign_in("auditor").get(f"/t/{ticket}/history?version=1")
    assert 'role="alert"' in page.text and "changed" in page.text


def test_auditors_run_a_full_check_in_the_background(site: Site) -> None:
    _story(site)
    auditor, agent = site.sign_in("auditor"), site.sign_in("agent")
    auditor.client.headers["Accept-Language"] = "en"  # the page's words are checked in English
    assert auditor.get("/api/v1/audit/checks/last").json() == {"last": None}
    assert agent.get("/audit").status_code == 403
    assert agent.get("/api/v1/audit/checks/last").status_code == 403
    assert "No full check has been run yet." in auditor.get("/audit").text
    r = auditor.client.post("/audit", data={"csrf_token": auditor.csrf},
                            headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    deadline = time.monotonic() + 30
    while True:
        last = auditor.get("/api/v1/audit/checks/last").json()["last"]
        if not last["running"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert last["ok"] and last["events"] == site.services.desk.recorder.max_notification_id()
    page = auditor.get("/audit").text
    assert 'data-state="ok"' in page
    assert r.headers["location"] == "/audit"
    curator = site.sign_in("curator")
    assert curator.get("/audit").status_code == 200


# -- exports ------------------------------------------------------------------------------------
def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_a_signed_export_verifies_and_a_tampered_one_does_not(site: Site, tmp_path: Path) -> None:
    ticket, note = _story(site)
    auditor = site.sign_in("auditor")
    r = auditor.get(f"/api/v1/tickets/{ticket}/export")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    parts = _parts(r.content)
    key = site.new_client().get("/api/v1/audit/public-key").content
    assert key.startswith(b"-----BEGIN PUBLIC KEY-----") and parts["public_key.pem"] == key
    jsonl, manifest, sig = parts["events.jsonl"], parts["manifest.json"], parts["manifest.sig"]
    assert verify_export.check(jsonl, manifest, sig, key) == []
    lines = jsonl.decode().splitlines()
    assert len(lines) == note + 2 and f'"version":{note}' in lines[note - 1]
    assert "Секретная" in lines[note - 1]

    forged = jsonl.replace("Секретная".encode(), "Обычная".encode())
    assert verify_export.check(forged, manifest, sig, key) != []
    bumped = manifest.replace(f'"count": {note + 2}'.encode(), b'"count": 1')
    assert bumped != manifest and verify_export.check(jsonl, bumped, sig, key) != []
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    assert verify_export.check(jsonl, manifest, sig, other) != []

    (tmp_path / "export.zip").write_bytes(r.content)
    (tmp_path / "key.pem").write_bytes(key)
    assert verify_export.main([str(tmp_path / "export.zip"), "--public-key",
                               str(tmp_path / "key.pem")]) == 0  # fmt: skip
    for name, data in (("events.jsonl", forged), ("manifest.json", manifest),
                       ("manifest.sig", sig)):  # fmt: skip
        (tmp_path / name).write_bytes(data)
    assert verify_export.main([str(tmp_path / "events.jsonl"), "--manifest",
                               str(tmp_path / "manifest.json"), "--signature",
                               str(tmp_path / "manifest.sig"), "--public-key",
                               str(tmp_path / "key.pem")]) == 1  # fmt: skip


def test_the_operator_s_key_signs_and_requesters_get_no_export(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket, _ = _story(site)
    private = Ed25519PrivateKey.generate()
    path = tmp_path / "operator.pem"
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                     serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    operator = dataclasses.replace(site.services.settings, signing_key=path)  # SUZ_SIGNING_KEY
    monkeypatch.setattr(site.services, "settings", operator)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    assert site.new_client().get("/api/v1/audit/public-key").content == public
    parts = _parts(site.sign_in("curator").get(f"/api/v1/tickets/{ticket}/export").content)
    assert verify_export.check(parts["events.jsonl"], parts["manifest.json"],
                               parts["manifest.sig"], public) == []  # fmt: skip
    assert site.sign_in("requester").get(f"/api/v1/tickets/{ticket}/export").status_code == 403
    assert site.sign_in("stranger").get(f"/api/v1/tickets/{ticket}/export").status_code == 404


# -- auditors change nothing --------------------------------------------------------------------
def test_an_auditor_s_writes_are_refused_and_change_nothing(site: Site) -> None:
    ticket, _ = _story(site)
    auditor, desk = site.sign_in("auditor"), site.services.desk
    head = desk.recorder.max_notification_id()
    version = desk.ticket(site.world.auditor, UUID(ticket)).version
    commands: dict[str, dict[str, Any]] = {
        "replies": {"body": "x"}, "notes": {"body": "x"}, "resolution": {"resolution": "x"},
        "reopening": {"reason": "x"}, "closing": {}, "priority": {"priority": "low"},
        "assignment": {"group": str(site.world.line1), "assignee": str(site.world.auditor.id)},
        "escalations": {"group": str(site.world.line3), "reason": "x"},
        "transfers": {"group": str(site.world.line1), "reason": "x"},
        "information-requests": {"questions": ["?"]}, "rating": {"score": 5},
    }  # fmt: skip
    for name, body in commands.items():
        r = auditor.command(ticket, name, version, **body)
        assert r.status_code == 403, (name, r.text)
    assert auditor.post("/api/v1/tickets", site.filing()).status_code == 403
    r = auditor.client.put("/api/v1/routing/rules", json={"rules": [], "version": 0},
                           headers=auditor.headers())  # fmt: skip
    assert r.status_code == 403
    for action in ("reply", "note", "resolve", "take"):
        r = auditor.client.post(f"/t/{ticket}/act/{action}",
                                data={"csrf_token": auditor.csrf, "version": str(version),
                                      "body": "x", "resolution": "x"},
                                headers={"Origin": ORIGIN})  # fmt: skip
        assert r.status_code == 403, (action, r.status_code)
    assert desk.recorder.max_notification_id() == head


def test_a_period_export_holds_every_event_of_its_days_and_verifies(site: Site) -> None:
    from datetime import UTC, datetime, timedelta

    ticket, _note = _story(site)
    today = datetime.now(UTC).date()
    auditor = site.sign_in("auditor")
    r = auditor.get(f"/api/v1/audit/export?from={today}&to={today}")
    assert r.status_code == 200, r.text
    parts = _parts(r.content)
    key = site.new_client().get("/api/v1/audit/public-key").content
    check = verify_export.check(parts["events.jsonl"], parts["manifest.json"],
                                parts["manifest.sig"], key)  # fmt: skip
    assert check == []
    lines = parts["events.jsonl"].decode().splitlines()
    head = site.services.desk.recorder.max_notification_id()
    assert len(lines) == head, "every event of the desk was recorded today"
    assert sum(f'"aggregate_id":"{ticket}"' in line for line in lines) > 2
    yesterday = today - timedelta(days=1)
    r = auditor.get(f"/api/v1/audit/export?from={yesterday}&to={yesterday}")
    assert _parts(r.content)["events.jsonl"] == b""
    assert auditor.get(f"/api/v1/audit/export?from={today}&to={yesterday}").status_code == 422
    assert auditor.get("/api/v1/audit/export?from=today&to=x").status_code == 422
    for who in ("agent", "requester"):
        assert (
            site.sign_in(who).get(f"/api/v1/audit/export?from={today}&to={today}").status_code
            == 403
        )
