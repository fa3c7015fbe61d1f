"""Seals of the log's head: an auditor seals the desk's history, someone deletes or changes
events straight in the database, and the check against the seals names the seal that no
longer holds, the last event of a request included, which its hash chain cannot show."""

from __future__ import annotations

import base64
import dataclasses
import io
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.seals import Sealer, all_seals, make_seal, run_seal_check
from domain.desk import Desk
from domain.integrity import verify, verify_aggregate
from domain.seals import GENESIS
from domain.settings import Settings
from scripts import verify_export
from suz import cli
from tests.domain.test_integrity import Rows
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, migrate, open_site, started_site

pytestmark = LEAKS


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("SUZ_SIGNING_KEY", raising=False)
    with open_site(settings, monkeypatch) as s:
        yield s


@pytest.fixture
def rows(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Rows]:
    """The event tables, reached around the desk as a tamperer would."""
    schema = request.getfixturevalue("pg_schema") if settings.uses_postgres else None
    found = Rows(settings, schema)
    yield found
    (found.pg if found.postgres else found.lite).close()


def _story(site: Site) -> tuple[UUID, int]:
    """A request filed, answered, noted and resolved: (its id, its last version)."""
    w, desk = site.world, site.world.desk
    filed = w.file()
    desk.reply(w.agent, filed.id, "Проверяем.")
    desk.note(w.agent, filed.id, "Внутренняя заметка")
    return filed.id, desk.resolve(w.agent, filed.id, "Исправлено").version


def _post_audit(person: Person, action: str) -> str:
    r = person.client.post("/audit", data={"csrf_token": person.csrf, "action": action},
                           headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def _finished_seal_check(person: Person) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        last: dict[str, Any] = person.get("/api/v1/audit/seals/checks/last").json()["last"]
        if not last["running"] or time.monotonic() > deadline:
            return last
        time.sleep(0.05)


def _use_cli_store(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUZ_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("SUZ_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("SUZ_DATABASE_URL", raising=False)


def test_an_event_deleted_under_a_seal_is_named_by_that_seal(
    site: Site, rows: Rows, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    first, _ = _story(site)
    auditor = site.sign_in("auditor")
    auditor.client.headers["Accept-Language"] = "en"
    assert "The log has not been sealed yet." in auditor.get("/audit").text
    assert _post_audit(auditor, "seal") == "/audit?sealed=1"
    assert _post_audit(auditor, "seal") == "/audit?unmoved=1"  # nothing new: no empty seal
    one = all_seals(site.services.projections.db)
    head = site.services.desk.recorder.max_notification_id()
    assert [(s.number, s.after, s.position, s.previous) for s in one] == [(1, 0, head, GENESIS)]
    page = auditor.get("/audit").text
    assert 'data-seal="1"' in page and f"up to log position {head}" in page

    _story(site)  # sealed again, from the command line
    _use_cli_store(settings, monkeypatch)
    assert cli.main(["seal"]) == 0
    assert "suz seal: seal 2 covers log positions" in capsys.readouterr().out
    assert cli.main(["seal", "--check"]) == 0
    assert _post_audit(auditor, "check_seals") == "/audit"
    last = _finished_seal_check(auditor)
    assert last["report"]["ok"] and last["report"]["seals"] == 2

    rows.delete(first, 2)  # the agent's reply, under seal 1
    assert _post_audit(auditor, "check_seals") == "/audit"
    report = _finished_seal_check(auditor)["report"]
    assert not report["ok"]
    assert [(p["seal"], p["kind"], p["position"]) for p in report["problems"]] == [
        (1, "changed", head)
    ]
    assert "deleted, changed or inserted" in report["problems"][0]["detail"]
    page = auditor.get("/audit").text
    assert 'data-state="failed"' in page and 'id="seal-problems"' in page
    assert cli.main(["seal", "--check"]) == 1
    assert "TAMPERED changed: seal 1 (log positions 1.." in capsys.readouterr().out


def test_deleting_a_request_s_last_event_is_found_only_by_the_seals(site: Site, rows: Rows) -> None:
    ticket, last_version = _story(site)
    other, _ = _story(site)
    svc = site.services
    assert make_seal(svc.settings, svc.desk, svc.projections.db) is not None
    assert run_seal_check(svc.settings, svc.desk, svc.projections.db).ok

    rows.delete(ticket, last_version)  # the resolution: what is left is a valid, shorter chain
    assert verify_aggregate(svc.desk, ticket).ok and verify(svc.desk).ok
    report = run_seal_check(svc.settings, svc.desk, svc.projections.db)
    assert [(p.number, p.kind) for p in report.problems] == [(1, "changed")]
    seal = all_seals(svc.projections.db)[0]
    assert report.events == seal.events - 1
    assert verify_aggregate(svc.desk, other).ok


def test_a_seal_with_a_forged_signature_or_field_is_reported(site: Site) -> None:
    svc = site.services
    db = svc.projections.db
    _story(site)
    make_seal(svc.settings, svc.desk, db)
    _story(site)
    second = make_seal(svc.settings, svc.desk, db)
    assert second is not None and second.number == 2
    forger = Ed25519PrivateKey.generate()
    forged = base64.b64encode(forger.sign(second.body())).decode()
    with db.tx() as tx:
        tx.execute("UPDATE audit_seals SET signature = %s WHERE number = 2", (forged,))
    report = run_seal_check(svc.settings, svc.desk, db)
    assert [(p.number, p.kind) for p in report.problems] == [(2, "signature")]

    with db.tx() as tx:  # seal 1 rewritten to cover fewer events: its signature no longer fits
        tx.execute("UPDATE audit_seals SET events = events - 1 WHERE number = 1")
    report = run_seal_check(svc.settings, svc.desk, db)
    assert [(p.number, p.kind) for p in report.problems] == [(1, "signature"), (2, "signature")]

    with db.tx() as tx:  # a seal removed from the middle breaks the sequence
        tx.execute("DELETE FROM audit_seals WHERE number = 1")
        tx.execute("UPDATE audit_seals SET number = 1 WHERE number = 2")
    report = run_seal_check(svc.settings, svc.desk, db)
    assert {(p.number, p.kind) for p in report.problems} == {(1, "signature"), (1, "sequence")}


def test_the_sealer_seals_only_when_the_log_has_moved(site: Site) -> None:
    svc = site.services
    sealer = Sealer(svc.settings, svc.desk, svc.projections.db)
    assert sealer.interval == 300.0  # the default of SUZ_SEAL_INTERVAL
    assert sealer.tick() == 1
    assert sealer.tick() == 0
    assert len(all_seals(svc.projections.db)) == 1
    _story(site)
    assert sealer.tick() == 1
    assert sealer.tick() == 0
    first, second = all_seals(svc.projections.db)
    assert (second.after, second.previous) == (first.position, first.digest)
    assert second.position == svc.desk.recorder.max_notification_id()
    stored = svc.desk.recorder.select_notifications(start=first.position + 1, limit=100)
    assert second.events == len(stored) >= 4  # filed (with its number's claim), replied...
    assert run_seal_check(svc.settings, svc.desk, svc.projections.db).ok


def test_the_server_seals_by_itself_every_interval(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUZ_SIGNING_KEY", raising=False)
    with open_site(dataclasses.replace(settings, seal_interval=0.2), monkeypatch) as site:
        db = site.services.projections.db
        deadline = time.monotonic() + 20
        while not all_seals(db) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [s.number for s in all_seals(db)] == [1]
        time.sleep(0.6)  # three more intervals, and nothing stored meanwhile
        assert [s.number for s in all_seals(db)] == [1]
        _story(site)
        head = site.services.desk.recorder.max_notification_id() or 0
        deadline = time.monotonic() + 20
        while all_seals(db)[-1].position < head and time.monotonic() < deadline:
            time.sleep(0.1)
        seals = all_seals(db)
        assert len(seals) >= 2 and seals[-1].position >= head


def test_who_may_read_and_make_seals(site: Site) -> None:
    _story(site)
    db = site.services.projections.db
    for who in ("requester", "agent"):
        person = site.sign_in(who)
        assert person.get("/api/v1/audit/seals").status_code == 403
        assert person.get("/api/v1/audit/seals/checks/last").status_code == 403
        r = person.client.post("/audit", data={"csrf_token": person.csrf, "action": "seal"},
                               headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 403
    assert site.new_client().get("/api/v1/audit/seals").status_code == 401
    auditor = site.sign_in("auditor")
    r = auditor.client.post("/audit", data={"action": "seal"}, headers={"Origin": ORIGIN},
                            follow_redirects=False)  # fmt: skip
    assert r.status_code == 403  # no CSRF token: refused
    assert all_seals(db) == []
    _post_audit(auditor, "seal")
    listed = auditor.get("/api/v1/audit/seals").json()
    assert [s["number"] for s in listed["seals"]] == [1]
    assert listed["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert site.sign_in("curator").get("/api/v1/audit/seals").status_code == 200
    assert site.sign_in("admin").get("/api/v1/audit/seals?format=jsonl").status_code == 200


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_kept_seals_expose_an_event_deleted_before_a_later_period_export(
    site: Site, rows: Rows, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    auditor = Reader(site, site.sign_in("auditor"))
    svc = site.services
    _story(site)
    make_seal(svc.settings, svc.desk, svc.projections.db)
    middle, _ = _story(site)
    make_seal(svc.settings, svc.desk, svc.projections.db)
    _story(site)  # after the last seal
    kept = tmp_path / "kept.jsonl"
    kept.write_bytes(auditor.get("/api/v1/audit/seals?format=jsonl").content)
    key = tmp_path / "key.pem"
    key.write_bytes(site.new_client().get("/api/v1/audit/public-key").content)
    today = datetime.now(UTC).date()
    before = tmp_path / "before.zip"
    before.write_bytes(auditor.get(f"/api/v1/audit/export?from={today}&to={today}").content)
    args = ["--seals", str(kept), "--public-key", str(key)]
    assert verify_export.main([str(before), *args]) == 0
    assert "seals: 2 match, 0 outside this export" in capsys.readouterr().out
    assert verify_export.main(args) == 0  # the copy alone: signed and in order

    rows.delete(middle, 3)  # the internal note, under seal 2
    after = tmp_path / "after.zip"
    after.write_bytes(auditor.get(f"/api/v1/audit/export?from={today}&to={today}").content)
    assert verify_export.main([str(after), "--public-key", str(key)]) == 0  # signed as it is
    assert verify_export.main([str(after), *args]) == 1
    out = capsys.readouterr().out
    assert "FAILED: seal 2: log positions" in out and "seal 1" not in out
    _use_cli_store(settings, monkeypatch)
    assert cli.main(["seal", "--check", "--seals", str(kept)]) == 1
    assert "TAMPERED changed: seal 2" in capsys.readouterr().out

    lines = kept.read_text().splitlines()
    changed = orjson.loads(lines[1])
    changed["events"] -= 1  # a "corrected" copy no longer carries a valid signature
    kept.write_text(lines[0] + "\n" + orjson.dumps(changed).decode() + "\n")
    assert verify_export.main(args) == 1
    assert "seal 2 (log positions" in capsys.readouterr().out


class Reader:
    """GETs with a person's API token (big downloads need no cookie)."""

    def __init__(self, site: Site, person: Person) -> None:
        r = person.post("/api/v1/me/tokens", {"name": "seal test"})
        assert r.status_code == 201, r.text
        self.client, self.secret = site.client, r.json()["secret"]

    def get(self, path: str) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {self.secret}"})


def test_a_large_period_export_streams_verifies_and_fails_when_tampered(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SUZ_SIGNING_KEY", raising=False)
    world = migrate(settings)
    desk = world.desk = Desk(settings.store_env())  # written before the views run: faster
    tickets = [world.file().id for _ in range(20)]
    for i in range(2500):
        desk.reply(world.agent, tickets[i % 20], f"Ответ {i}")
    desk.close()
    with started_site(settings, monkeypatch, world) as site:
        _export_large(site, tmp_path)


def _export_large(site: Site, tmp_path: Path) -> None:
    desk = site.services.desk
    head = desk.recorder.max_notification_id() or 0
    assert head > 2500
    today = datetime.now(UTC).date()
    r = Reader(site, site.sign_in("auditor")).get(f"/api/v1/audit/export?from={today}&to={today}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "content-length" not in r.headers  # streamed as it was written
    parts = _parts(r.content)
    manifest = orjson.loads(parts["manifest.json"])
    assert manifest["count"] == head and manifest["log_head"] == head
    assert manifest["last_position"] == head and "period_from" in manifest
    key = parts["public_key.pem"]
    (tmp_path / "period.zip").write_bytes(r.content)
    (tmp_path / "key.pem").write_bytes(key)
    assert verify_export.main([str(tmp_path / "period.zip"), "--public-key",
                               str(tmp_path / "key.pem")]) == 0  # fmt: skip

    lines = parts["events.jsonl"].splitlines(keepends=True)
    assert len(lines) == head and any("Ответ 1234".encode() in line for line in lines)
    dropped = b"".join(lines[:1000] + lines[1001:])
    problems = verify_export.check(dropped, parts["manifest.json"], parts["manifest.sig"], key)
    assert problems == [
        "the events file's sha256 differs from the manifest's: it was changed",
        f"the events file has {head - 1} events; the manifest says {head}",
    ]
    with zipfile.ZipFile(tmp_path / "tampered.zip", "w") as z:
        for name, data in parts.items():
            z.writestr(name, dropped if name == "events.jsonl" else data)
    assert verify_export.main([str(tmp_path / "tampered.zip"), "--public-key",
                               str(tmp_path / "key.pem")]) == 1  # fmt: skip
