"""Back up and restore (issue 17): a desk backed up from one backend and restored into an empty
store of the other has the same history, event for event and position for position, the same
timeline once its views catch up, its attachments, its passwords, and it verifies."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from audit.keys import signing_key
from audit.seals import all_seals, make_seal
from domain.desk import SYSTEM, Desk
from domain.integrity import verify
from domain.seals import check_seals
from domain.settings import Settings
from domain.ticket import Attachment
from processes.system import read_side
from projections.db import ViewDB
from projections.timeline import Entry, timeline
from suz import backup
from tests.conftest import PG_URL
from tests.world import World
from web.blobs import open_blob_store
from web.credentials import check_password, set_password
from web.migrations import migrate
from web.passwords import Passwords
from web.sessions import open_session_store

PASSWORD = "корректная лошадь батарейка"
FILE = b"%PDF-1.4 the contract's signature report\n" * 100


def store(backend: str, folder: Path, request: pytest.FixtureRequest) -> Settings:
    """A store of `backend` with a data folder of its own (attachments, keys)."""
    if backend == "sqlite":
        return Settings(data_dir=folder / "data", database_url=None)
    os.environ["SUZ_DATABASE_SCHEMA"] = request.getfixturevalue("pg_schema")
    request.addfinalizer(lambda: os.environ.pop("SUZ_DATABASE_SCHEMA", None))
    return Settings(data_dir=folder / "data", database_url=PG_URL)


@dataclass
class Source:
    settings: Settings
    tickets: list[UUID]
    admin: UUID
    sha256: str


def a_working_desk(settings: Settings) -> Source:
    """Two requests answered and noted on (one long enough to be snapshotted), one with the
    contract's report attached, an admin with a password and an API token, a seal of the log."""
    migrate(settings)
    desk, sessions, db = Desk(settings.store_env()), open_session_store(settings), ViewDB(settings)
    try:
        w = World.build(desk)
        admin = w.admin.id
        assert admin is not None
        sha256, size = open_blob_store(settings, db).put(io.BytesIO(FILE))
        first, second = w.file().id, w.file("Не открывается реестр").id
        desk.reply(w.agent, first, "Пришлите, пожалуйста, номер контракта.")
        desk.write(w.requester, first, "Номер 1234567890123456789.")
        report = Attachment("report.pdf", size, sha256, "application/pdf", internal=True)
        desk.note(w.agent, first, "Отчёт о подписи во вложении.", attachments=(report,))
        desk.escalate(w.agent, second, w.line2, "Нужен инженер второй линии.")
        for n in range(50):  # a long request: snapshotted every 50 events
            desk.note(w.engineer, second, f"Проверка подписи, попытка {n + 1}.")
        if settings.uses_postgres:  # writes that rolled back leave gaps in the log positions
            leave_a_gap(desk)
            desk.reply(w.agent, second, "Инженер подключён.")
        set_password(desk, sessions, Passwords(), SYSTEM, admin, PASSWORD)
        sessions.issue_api_token(admin, "reports")
        assert make_seal(settings, desk, db) is not None
    finally:
        db.close_all()
        sessions.close()
        desk.close()
    return Source(settings, [first, second], admin, sha256)


def leave_a_gap(desk: Desk) -> None:
    recorder: Any = desk.recorder
    table = f'"{recorder.datastore.schema}".{recorder.events_table_name}'
    with psycopg.connect(PG_URL) as conn:
        conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'notification_id'))"
                     " FROM generate_series(1, 3)", (table,))  # fmt: skip


def history(
    settings: Settings,
) -> tuple[list[tuple[int, str, int, str, bytes]], dict[str, list[Entry]]]:
    """Every stored event with its log position, and every request's staff timeline."""
    desk = Desk(settings.store_env())
    projections = read_side(desk, settings)
    try:
        events = [(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
                  for n in desk.recorder.select_notifications(1, 100_000)]  # fmt: skip
        projections.catch_up()
        with projections.db.read() as tx:
            tickets = [str(r[0]) for r in tx.all("SELECT DISTINCT ticket_id FROM v_timeline")]
            timelines = {t: timeline(tx, t, staff=True) for t in sorted(tickets)}
    finally:
        projections.db.close_all()
        desk.close()
    return events, timelines


def copy_chain_key(source: Settings, target: Settings) -> None:
    """The operator's step when the archive holds no keys: the target gets the source's key."""
    target.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(source.chain_key_file, target.chain_key_file)


def event_count(settings: Settings) -> int:
    env = settings.store_env(create_tables=True)
    del env["SUZ_CHAIN_KEY"]  # counting must not generate a key (demo mode would)
    desk = Desk(env)
    try:
        return desk.recorder.max_notification_id() or 0
    finally:
        desk.close()


PAIRS = [
    pytest.param("sqlite", "sqlite", id="sqlite-to-sqlite"),
    pytest.param("sqlite", "postgres", id="sqlite-to-postgres", marks=pytest.mark.postgres),
    pytest.param("postgres", "sqlite", id="postgres-to-sqlite", marks=pytest.mark.postgres),
]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "desk.zip"


@pytest.mark.parametrize(("source_backend", "target_backend"), PAIRS)
def test_a_desk_restored_elsewhere_has_the_same_history_and_verifies(
    source_backend: str,
    target_backend: str,
    tmp_path: Path,
    archive: Path,
    request: pytest.FixtureRequest,
) -> None:
    source = a_working_desk(store(source_backend, tmp_path / "source", request))
    target = store(target_backend, tmp_path / "target", request)
    manifest = backup.backup(source.settings, archive)
    assert not manifest["private_keys_included"]
    assert manifest["members"]["snapshots"]["count"] == 1
    assert "keys/chain_key" not in zipfile.ZipFile(archive).namelist()

    copy_chain_key(source.settings, target)
    backup.restore(target, archive)

    before, after = history(source.settings), history(target)
    assert after[0] == before[0]  # every event, at its position (gaps kept), byte for byte
    positions = [e[0] for e in before[0]]
    assert (positions != list(range(1, len(positions) + 1))) == (source_backend == "postgres")
    assert len(after[0]) == manifest["members"]["events"]["count"] > 20
    assert set(after[1]) == {str(t) for t in source.tickets}
    assert after[1] == before[1]
    desk, sessions, db = Desk(target.store_env()), open_session_store(target), ViewDB(target)
    try:
        with open_blob_store(target, db).open(source.sha256) as blob:
            assert blob.read() == FILE
        admin = desk.repository.get(source.admin)
        assert check_password(sessions, Passwords(), admin, PASSWORD)
        assert not check_password(sessions, Passwords(), admin, PASSWORD + "!")
        assert [t.name for t in sessions.api_tokens(source.admin)] == ["reports"]
        report = verify(desk)
        assert report.ok, report.problems
        assert report.events == len(before[0])
        seals = all_seals(db)
        assert len(seals) == 1
        # the seal still holds: positions were kept; it is checked with the source's public key
        source_key = signing_key(source.settings).public_key()
        assert check_seals(desk, seals, source_key).ok
        # the restored desk works on: new events follow the restored head and still verify
        written = desk.reply(desk.actor_for(source.admin), source.tickets[1], "Взяли в работу.")
        assert written.position > before[0][-1][0]
        assert verify(desk).ok
    finally:
        db.close_all()
        sessions.close()
        desk.close()


def test_with_the_private_keys_the_target_needs_nothing_else(
    tmp_path: Path, archive: Path, request: pytest.FixtureRequest
) -> None:
    source = a_working_desk(store("sqlite", tmp_path / "source", request))
    target = store("sqlite", tmp_path / "target", request)
    backup.backup(source.settings, archive, include_private_key=True)
    backup.restore(target, archive)
    assert target.chain_key_file.read_bytes() == source.settings.chain_key_file.read_bytes()
    assert target.signing_key_file.read_bytes() == source.settings.signing_key_file.read_bytes()
    assert oct(target.chain_key_file.stat().st_mode & 0o777) == "0o600"
    desk = Desk(target.store_env())
    try:
        assert verify(desk).ok
    finally:
        desk.close()


def test_without_the_chain_key_the_restore_refuses_and_writes_nothing(
    tmp_path: Path, archive: Path, request: pytest.FixtureRequest
) -> None:
    source = a_working_desk(store("sqlite", tmp_path / "source", request))
    target = store("sqlite", tmp_path / "target", request)
    backup.backup(source.settings, archive)
    with pytest.raises(backup.ArchiveProblem, match="holds no chain key"):
        backup.restore(target, archive)
    assert event_count(target) == 0
    assert not target.chain_key_file.exists()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_store_with_events_is_not_restored_into(
    backend: str, tmp_path: Path, archive: Path, request: pytest.FixtureRequest
) -> None:
    source = a_working_desk(store(backend, tmp_path / "source", request))
    backup.backup(source.settings, archive)
    before = history(source.settings)
    with pytest.raises(backup.StoreNotEmpty, match="only into an empty store"):
        backup.restore(source.settings, archive)
    assert history(source.settings) == before
    args = type("Args", (), {"command": "restore", "file": archive})()
    assert backup.run(args, source.settings) == 1  # type: ignore[arg-type]


def test_a_damaged_or_truncated_archive_is_refused_and_writes_nothing(
    tmp_path: Path, archive: Path, request: pytest.FixtureRequest
) -> None:
    source = a_working_desk(store("sqlite", tmp_path / "source", request))
    backup.backup(source.settings, archive)
    target = store("sqlite", tmp_path / "target", request)
    copy_chain_key(source.settings, target)

    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(archive) as zin, zipfile.ZipFile(altered, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "events.jsonl":
                data = data[:-200] + data[-199:]  # one byte less in the last event
            zout.writestr(item, data)
    with pytest.raises(backup.ArchiveProblem, match=r"events\.jsonl does not match the manifest"):
        backup.restore(target, altered)

    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(backup.ArchiveProblem, match="not a whole suz backup"):
        backup.restore(target, truncated)

    assert event_count(target) == 0
    assert not (target.data_dir / "attachments").exists()


def test_the_subcommands_parse(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="suz")
    sub = parser.add_subparsers(dest="command", required=True)
    backup.add_parsers(sub)
    args = parser.parse_args(["backup", str(tmp_path / "a.zip"), "--include-private-key"])
    assert (args.command, args.file, args.include_private_key) == (
        "backup", tmp_path / "a.zip", True)  # fmt: skip
    assert parser.parse_args(["restore", "a.zip"]).file == Path("a.zip")
