"""Someone with database access rewrites history; `verify` and `suz verify` say exactly what.

Each test tampers with the rows of the store directly (SQLite or PostgreSQL), then checks the
report names the right kind of problem at the right aggregate and version, and nothing else.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from domain.integrity import verify
from domain.settings import Settings
from tests.domain.support import position, uncached
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]


class Rows:
    """The store's tables, reached around the Desk as a tamperer would."""

    def __init__(self, settings: Settings, schema: str | None) -> None:
        self.postgres = settings.database_url is not None
        if settings.database_url is not None:
            self.pg = psycopg.connect(settings.database_url, autocommit=True)
            self.events, self.snapshots = f"{schema}.desk_events", f"{schema}.desk_snapshots"
        else:
            self.lite = sqlite3.connect(settings.data_dir / "events.sqlite", isolation_level=None)
            self.events, self.snapshots = "stored_events", "stored_snapshots"

    def run(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        params = tuple(p.hex if isinstance(p, UUID) and not self.postgres else p for p in params)
        if self.postgres:
            cursor = self.pg.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []
        return self.lite.execute(sql, params).fetchall()

    def state(self, aggregate: UUID, version: int, table: str | None = None) -> bytes:
        where = "WHERE originator_id = ? AND originator_version = ?"
        ((state,),) = self.run(
            f"SELECT state FROM {table or self.events} {where}", aggregate, version
        )
        return bytes(state)

    def set_state(
        self, aggregate: UUID, version: int, state: bytes, table: str | None = None
    ) -> None:
        where = "WHERE originator_id = ? AND originator_version = ?"
        self.run(f"UPDATE {table or self.events} SET state = ? {where}", state, aggregate, version)

    def delete(self, aggregate: UUID, version: int) -> None:
        self.run(
            f"DELETE FROM {self.events} WHERE originator_id = ? AND originator_version = ?",
            aggregate,
            version,
        )

    def swap_versions(self, aggregate: UUID, a: int, b: int) -> None:
        """Event a now claims to be event b, and b claims to be a."""
        for old, new in ((a, -1), (b, a), (-1, b)):
            self.run(
                f"UPDATE {self.events} SET originator_version = ? "
                "WHERE originator_id = ? AND originator_version = ?",
                new,
                aggregate,
                old,
            )

    def swap_positions(self, aggregate: UUID, a: int, b: int) -> None:
        """Events a and b trade places in the log, each keeping its version and content."""
        column = "notification_id" if self.postgres else "rowid"
        where = "WHERE originator_id = ? AND originator_version = ?"
        ((pa,),) = self.run(f"SELECT {column} FROM {self.events} {where}", aggregate, a)
        ((pb,),) = self.run(f"SELECT {column} FROM {self.events} {where}", aggregate, b)
        for version, new in ((a, -1), (b, pa), (a, pb)):
            self.run(f"UPDATE {self.events} SET {column} = ? {where}", new, aggregate, version)

    def forge(self, aggregate: UUID, version: int, like_version: int) -> None:
        """Appends a copy of an existing event of the aggregate as if it were event `version`."""
        ((topic, state),) = self.run(
            f"SELECT topic, state FROM {self.events} "
            "WHERE originator_id = ? AND originator_version = ?",
            aggregate,
            like_version,
        )
        self.run(
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            aggregate,
            version,
            topic,
            state,
        )

    def snapshot_versions(self, aggregate: UUID) -> list[int]:
        rows = self.run(
            f"SELECT originator_version FROM {self.snapshots} WHERE originator_id = ? "
            "ORDER BY originator_version",
            aggregate,
        )
        return [v for (v,) in rows]


@dataclass
class Story:
    world: World
    settings: Settings
    rows: Rows
    ticket: UUID  # Filed, Assigned, Replied, InformationRequested, InformationProvided,
    #               Escalated, NoteAdded, Resolved, Rated: versions 1 to 9

    def problems(self) -> list[tuple[str, UUID, int]]:
        report = verify(self.world.desk)
        return [(p.kind, p.aggregate_id, p.version) for p in report.problems]

    def cli(self) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "SUZ_DATA_DIR": str(self.settings.data_dir),
            "SUZ_DATABASE_URL": self.settings.database_url or "",
            "SUZ_DATABASE_SCHEMA": os.environ.get("SUZ_DATABASE_SCHEMA", ""),
        }
        return subprocess.run(
            [sys.executable, "-m", "suz.cli", "verify"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def assert_reported(self, kind: str, version: int) -> None:
        assert self.problems() == [(kind, self.ticket, version)]
        run = self.cli()
        assert run.returncode == 1, run.stdout + run.stderr
        tampered = [line for line in run.stdout.splitlines() if line.startswith("TAMPERED")]
        assert len(tampered) == 1
        assert tampered[0].startswith(
            f"TAMPERED {kind}: aggregate {self.ticket} version {version} "
        )
        assert run.stdout.splitlines()[-1].endswith("FAILED: 1 problem(s)")


@pytest.fixture
def story(world: World, settings: Settings, request: pytest.FixtureRequest) -> Iterator[Story]:
    desk = world.desk
    filed = world.file()
    desk.reply(world.agent, filed.id, "Проверяем.")
    desk.request_information(world.agent, filed.id, ("signed_on",), (), "Дата подписания?")
    desk.provide_information(world.requester, filed.id, {"signed_on": "2024-03-01"})
    desk.escalate(world.agent, filed.id, world.line2, "Нужен анализ логов")
    desk.note(world.engineer, filed.id, "Таймаут сервиса подписи")
    desk.resolve(world.engineer, filed.id, "Сервис восстановлен")
    desk.rate(world.requester, filed.id, 5)
    world.file(subject="Вторая заявка")
    schema = request.getfixturevalue("pg_schema") if settings.uses_postgres else None
    rows = Rows(settings, schema)
    yield Story(world, settings, rows, filed.id)
    (rows.pg if rows.postgres else rows.lite).close()


def test_an_untouched_store_verifies(story: Story) -> None:
    report = verify(story.world.desk)
    assert (report.problems, report.events) == ([], position(story.world.desk))
    run = story.cli()
    assert run.returncode == 0, run.stdout + run.stderr
    events = position(story.world.desk)
    assert run.stdout.splitlines()[-1].startswith(f"suz verify: {events} events in ")
    assert run.stdout.splitlines()[-1].endswith(": OK")


def test_a_changed_event_is_reported_where_it_was_changed(story: Story) -> None:
    note = story.rows.state(story.ticket, 7)
    forged = note.replace("Таймаут".encode(), "Всё хорошо".encode())
    assert forged != note
    story.rows.set_state(story.ticket, 7, forged)
    story.assert_reported("changed", 7)


def test_an_unreadable_event_is_reported(story: Story) -> None:
    story.rows.set_state(story.ticket, 3, b"\x00 not json")
    story.assert_reported("unreadable", 3)


def test_a_deleted_event_is_reported_missing(story: Story) -> None:
    story.rows.delete(story.ticket, 7)  # the internal note disappears
    story.assert_reported("missing", 8)
    (line,) = [ln for ln in story.cli().stdout.splitlines() if ln.startswith("TAMPERED")]
    assert line.endswith("versions 7..7 are missing")


@pytest.mark.parametrize("swap", ["swap_versions", "swap_positions"])
def test_reordered_events_are_reported_out_of_order(story: Story, swap: str) -> None:
    getattr(story.rows, swap)(story.ticket, 4, 5)
    story.assert_reported("out_of_order", 4)


def test_a_forged_event_is_reported(story: Story) -> None:
    story.rows.forge(story.ticket, 10, like_version=9)  # a second rating, copied from the first
    story.assert_reported("changed", 10)


def test_a_tampered_snapshot_is_reported(story: Story) -> None:
    desk, world = story.world.desk, story.world
    desk.reopen(world.requester, story.ticket, "Снова не работает")
    for n in range(45):
        desk.note(world.engineer, story.ticket, f"Попытка {n}")
    assert desk.ticket(world.agent, story.ticket).version == 55
    assert story.rows.snapshot_versions(story.ticket) == [50]
    assert story.problems() == []

    table = story.rows.snapshots
    snapshot = story.rows.state(story.ticket, 50, table)
    forged = snapshot.replace("Контракт не публикуется".encode(), "Вопрос снят".encode())
    assert forged != snapshot
    story.rows.set_state(story.ticket, 50, forged, table)
    fresh = uncached(story.settings.store_env())
    assert fresh.ticket(world.agent, story.ticket).subject == "Вопрос снят"  # what users would see
    fresh.close()
    story.assert_reported("snapshot_changed", 50)
