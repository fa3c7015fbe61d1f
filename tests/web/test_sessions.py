"""Tests of web.sessions on real SQLite and PostgreSQL: expiry, revocation, API tokens."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from domain.errors import InvalidInput
from domain.settings import Settings
from tests.conftest import PG_URL
from tests.web.support import FakeClock
from web.sessions import (
    PostgresSessionStore,
    SessionPolicy,
    SessionStore,
    SqliteSessionStore,
    open_session_store,
)

POLICY = SessionPolicy(
    idle=timedelta(hours=1), absolute=timedelta(hours=4), touch_every=timedelta(minutes=1)
)
ALICE, BOB = UUID(int=1), UUID(int=2)


def make_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> SessionStore:
    if backend == "sqlite":
        return SqliteSessionStore(tmp_path / "web.sqlite", POLICY, clock)
    schema = request.getfixturevalue("pg_schema")
    return PostgresSessionStore(PG_URL, schema, POLICY, clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[SessionStore]:
    store = make_store(request.param, request, tmp_path, clock)
    store.migrate()
    yield store
    store.close()


def rows(store: SessionStore, table: str) -> list[tuple[Any, ...]]:
    return store._run(f"SELECT * FROM {{{table}}} ORDER BY 1")[0]


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_a_new_session_is_found_with_its_account_and_csrf_token(
    store: SessionStore, clock: FakeClock
) -> None:
    token = store.create(ALICE)
    session = store.lookup(token)
    assert session is not None
    assert (session.account_id, session.created, session.last_seen) == (
        ALICE,
        at(clock.now),
        at(clock.now),
    )
    assert len(session.csrf_token) >= 43
    assert store.lookup(token) == session  # the same CSRF token for the session's life


def test_each_session_gets_its_own_token_and_csrf_token(store: SessionStore) -> None:
    first, second = store.create(ALICE), store.create(ALICE)
    one, two = store.lookup(first), store.lookup(second)
    assert first != second and len(first) >= 43
    assert one is not None and two is not None and one.csrf_token != two.csrf_token


def test_only_the_tokens_sha256_is_stored(store: SessionStore) -> None:
    token = store.create(ALICE)
    [row] = rows(store, "s")
    assert row[0] == hashlib.sha256(token.encode()).hexdigest()
    assert row[1] == str(ALICE)
    assert all(token not in str(value) for value in row)


def test_a_session_idle_too_long_is_gone(store: SessionStore, clock: FakeClock) -> None:
    kept, idle = store.create(ALICE), store.create(BOB)
    clock.advance(3600 - 1)
    assert store.lookup(kept) is not None  # use keeps it alive
    clock.advance(1)
    assert store.lookup(idle) is None
    assert store.lookup(kept) is not None
    assert [row[1] for row in rows(store, "s")] == [str(ALICE)]  # the idle one is deleted


def test_use_keeps_a_session_only_until_its_absolute_limit(
    store: SessionStore, clock: FakeClock
) -> None:
    token = store.create(ALICE)
    for _ in range(4 * 6 - 1):  # every ten minutes for four hours less ten minutes
        clock.advance(600)
        assert store.lookup(token) is not None
    clock.advance(600)
    assert store.lookup(token) is None
    assert rows(store, "s") == []


def test_last_seen_is_written_at_most_once_a_minute(store: SessionStore, clock: FakeClock) -> None:
    token = store.create(ALICE)
    start = clock.now
    clock.advance(59)
    seen = store.lookup(token)
    assert seen is not None and seen.last_seen == at(start)
    clock.advance(1)
    seen = store.lookup(token)
    assert seen is not None and seen.last_seen == at(start + 60)
    assert rows(store, "s")[0][4] == start + 60


def test_revoke_ends_one_session(store: SessionStore) -> None:
    gone, kept = store.create(ALICE), store.create(ALICE)
    assert store.revoke(gone) is True
    assert store.lookup(gone) is None
    assert store.lookup(kept) is not None
    assert store.revoke(gone) is False


def test_revoke_all_ends_every_session_of_one_account_only(store: SessionStore) -> None:
    alice = [store.create(ALICE) for _ in range(3)]
    bob = store.create(BOB)
    assert store.revoke_all(ALICE) == 3
    assert [store.lookup(token) for token in alice] == [None, None, None]
    session = store.lookup(bob)
    assert session is not None and session.account_id == BOB
    assert store.revoke_all(ALICE) == 0


@pytest.mark.parametrize("token", ["", "x" * 1000, "токен", "not-a-session-token"])
def test_unknown_or_malformed_tokens_find_nothing(store: SessionStore, token: str) -> None:
    store.create(ALICE)
    assert store.lookup(token) is None
    assert store.revoke(token) is False
    assert store.lookup_api_token(token) is None
    assert len(rows(store, "s")) == 1


def test_purge_expired_deletes_only_expired_sessions(store: SessionStore, clock: FakeClock) -> None:
    old = store.create(ALICE)
    clock.advance(1800)
    fresh = store.create(BOB)
    clock.advance(1800)
    assert store.purge_expired() == 1
    assert [row[1] for row in rows(store, "s")] == [str(BOB)]
    assert store.lookup(old) is None
    assert store.lookup(fresh) is not None


def test_an_api_token_is_shown_once_and_stored_hashed(
    store: SessionStore, clock: FakeClock
) -> None:
    issued = store.issue_api_token(ALICE, "  nightly export  ")
    assert issued.secret.startswith("suz_") and len(issued.secret) >= 47
    assert (issued.token.account_id, issued.token.name, issued.token.created) == (
        ALICE,
        "nightly export",
        at(clock.now),
    )
    [row] = rows(store, "t")
    assert row[1] == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert all(issued.secret not in str(value) for value in row)
    assert store.api_tokens(ALICE) == [issued.token]  # listing shows no secret


def test_an_api_token_works_until_revoked(store: SessionStore, clock: FakeClock) -> None:
    issued = store.issue_api_token(ALICE, "export")
    other = store.issue_api_token(ALICE, "monitoring")
    clock.advance(10)
    found = store.lookup_api_token(issued.secret)
    assert found is not None and (found.id, found.account_id, found.last_used) == (
        issued.token.id,
        ALICE,
        at(clock.now),
    )
    assert store.revoke_api_token(BOB, issued.token.id) is False  # not Bob's to revoke
    assert store.lookup_api_token(issued.secret) is not None
    assert store.revoke_api_token(ALICE, issued.token.id) is True
    assert store.lookup_api_token(issued.secret) is None
    assert [t.name for t in store.api_tokens(ALICE)] == ["monitoring"]
    assert store.lookup_api_token(other.secret) is not None
    assert store.revoke_api_token(ALICE, issued.token.id) is False


def test_a_session_token_is_not_an_api_token(store: SessionStore) -> None:
    token = store.create(ALICE)
    issued = store.issue_api_token(ALICE, "export")
    assert store.lookup_api_token(token) is None
    assert store.lookup(issued.secret) is None


def test_revoke_all_takes_api_tokens_only_when_asked(store: SessionStore) -> None:
    issued = store.issue_api_token(ALICE, "export")
    bobs = store.issue_api_token(BOB, "export")
    store.create(ALICE)
    assert store.revoke_all(ALICE) == 1
    assert store.lookup_api_token(issued.secret) is not None
    store.create(ALICE)
    assert store.revoke_all(ALICE, include_api_tokens=True) == 2
    assert store.lookup_api_token(issued.secret) is None
    assert store.api_tokens(ALICE) == []
    assert store.lookup_api_token(bobs.secret) is not None


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "line\nbreak"])
def test_an_api_token_needs_a_sensible_name(store: SessionStore, name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        store.issue_api_token(ALICE, name)
    assert refused.value.fields == ("name",)
    assert rows(store, "t") == []


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_tables_come_only_from_migrate_which_may_run_again(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> None:
    store = make_store(backend, request, tmp_path, clock)
    try:
        with pytest.raises((sqlite3.OperationalError, psycopg.errors.UndefinedTable)):
            store.create(ALICE)
        store.migrate()
        token = store.create(ALICE)
        store.migrate()
        assert store.lookup(token) is not None
    finally:
        store.close()


def test_open_session_store_uses_web_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    store = open_session_store(Settings(data_dir=tmp_path / "data", database_url=None))
    assert isinstance(store, SqliteSessionStore)
    assert not (tmp_path / "data" / "web.sqlite").exists()
    store.migrate()
    account = uuid4()
    token = store.create(account)
    with sqlite3.connect(tmp_path / "data" / "web.sqlite") as conn:
        assert conn.execute("SELECT account_id FROM web_sessions").fetchall() == [(str(account),)]
    conn.close()
    assert store.lookup(token) is not None


@pytest.mark.postgres
def test_open_session_store_uses_the_configured_postgres_schema(
    pg_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUZ_DATABASE_SCHEMA", pg_schema)
    store = open_session_store(Settings(data_dir=tmp_path, database_url=PG_URL))
    try:
        assert isinstance(store, PostgresSessionStore)
        store.migrate()
        token = store.create(ALICE)
        with psycopg.connect(PG_URL) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "ORDER BY table_name",
                (pg_schema,),
            ).fetchall()
        assert tables == [("web_api_tokens",), ("web_credentials",), ("web_idempotency",),
                          ("web_sessions",)]  # fmt: skip
        assert store.lookup(token) is not None
    finally:
        store.close()


def test_a_schema_name_that_is_not_plain_is_refused() -> None:
    with pytest.raises(ValueError, match="not a plain schema name"):
        PostgresSessionStore(PG_URL, 'x"; DROP TABLE y; --')
