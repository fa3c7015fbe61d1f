"""Server-side sign-in sessions and API tokens, kept in SQLite (web.sqlite) or in PostgreSQL.

Only the SHA-256 of a session token or API token is stored: a copy of the table lets nobody sign
in. Sessions end after `SessionPolicy.idle` without use and `SessionPolicy.absolute` after
sign-in, whichever comes first; an expired session is deleted when it is next looked up, and
`purge_expired()` deletes the rest (the views process calls it every SUZ_SESSION_PURGE_INTERVAL:
processes/purges.py). Tables are created by `migrate()`.

Who a session or token is may be remembered for SUZ_AUTH_CACHE_TTL seconds (`cache`,
web/caller_cache.py; web/auth.py reads and fills it). Every revocation here forgets it in this
process at once and, on PostgreSQL, tells the others (NOTIFY suz_sessions, heard by `heard`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg_pool import ConnectionPool

from domain.errors import InvalidInput
from domain.settings import Settings
from projections.db import ViewDB, returned_fresh
from web.caller_cache import CallerCache
from web.csrf import new_token

Clock = Callable[[], float]
Row = tuple[Any, ...]
API_TOKEN_PREFIX = "suz_"
CHANNEL = "suz_sessions"  # PostgreSQL NOTIFY: "<schema>|token:<hash>" or "<schema>|account:<id>"
_MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=8)
    absolute: timedelta = timedelta(days=7)
    touch_every: timedelta = timedelta(minutes=1)  # last_seen / last_used write granularity


@dataclass(frozen=True)
class Session:
    account_id: UUID
    csrf_token: str
    created: datetime
    last_seen: datetime


@dataclass(frozen=True)
class ApiToken:
    id: UUID
    account_id: UUID
    name: str
    created: datetime
    last_used: datetime | None


@dataclass(frozen=True)
class IssuedToken:
    secret: str  # show it once; only its hash is kept
    token: ApiToken


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _plausible(token: str) -> bool:
    return 0 < len(token) <= _MAX_TOKEN_LENGTH and token.isascii()


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


_DDL = (
    """CREATE TABLE IF NOT EXISTS {s} (
        token_hash TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        last_seen DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS web_sessions_account ON {s} (account_id)",
    """CREATE TABLE IF NOT EXISTS {t} (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        last_used DOUBLE PRECISION)""",
    "CREATE INDEX IF NOT EXISTS web_api_tokens_account ON {t} (account_id)",
    # password hashes: secrets, kept here and never in the event log (web/credentials.py)
    """CREATE TABLE IF NOT EXISTS {c} (
        account_id TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        changed DOUBLE PRECISION NOT NULL)""",
    # Idempotency-Key answers (web/idempotency.py): beside these, through the same connections;
    # their DDL lives here so that this module, which makes them, imports nothing of the HTTP side
    """CREATE TABLE IF NOT EXISTS {i} (
        key_hash TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        done INTEGER NOT NULL,
        answer TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS web_idempotency_created ON {i} (created)",
)


class SessionStore(ABC):
    """Sessions and API tokens; SQL is written once with `?` placeholders for both backends."""

    def __init__(self, policy: SessionPolicy | None = None, clock: Clock = time.time) -> None:
        self.policy = policy or SessionPolicy()
        self._clock = clock
        self.cache: CallerCache[Session] = CallerCache()  # off unless open_session_store sets it

    def _announce(self, payload: str) -> None:  # noqa: B027 (only PostgreSQL's says anything)
        """Tells the other processes what was revoked (PostgreSQL: NOTIFY); here: nothing."""

    def _scope(self) -> str:
        return "public"

    def heard(self, payload: str) -> None:
        """Another process revoked something (a NOTIFY on CHANNEL): forget it here too."""
        scope, _, what = payload.partition("|")
        if scope != self._scope():
            return
        kind, _, value = what.partition(":")
        if kind == "token":
            self.cache.forget_key("s:" + value)
            self.cache.forget_key("t:" + value)
        elif kind == "account":
            self.cache.forget_account(value)
        else:
            self.cache.clear()

    def _revoked_token(self, key: str) -> None:
        self.cache.forget_key("s:" + key)
        self._announce(f"token:{key}")

    def _revoked_account(self, account_id: UUID) -> None:
        self.cache.forget_account(account_id)
        self._announce(f"account:{account_id}")

    @abstractmethod
    def _tables(self) -> dict[str, str]:
        """The qualified names of the sessions table (`s`), the API tokens table (`t`), the
        credentials table (`c`) and the Idempotency-Key answers' table (`i`)."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        """Runs one statement in its own transaction: (rows, rowcount)."""

    @abstractmethod
    def close(self) -> None: ...

    def _run(self, sql: str, *params: object) -> tuple[list[Row], int]:
        return self._execute(sql.format(**self._tables()), params)

    def migrate(self) -> None:
        """Creates the tables if they do not exist."""
        for statement in _DDL:
            self._run(statement)

    # -- sessions -----------------------------------------------------------------------------
    def create(self, account_id: UUID) -> str:
        """Starts a session; returns its token (for the cookie), never stored itself."""
        token, now = secrets.token_urlsafe(32), self._clock()
        sql = "INSERT INTO {s} (token_hash, account_id, csrf_token, created, last_seen) VALUES "
        row = (token_hash(token), str(account_id), new_token(), now, now)
        self._run(sql + "(?, ?, ?, ?, ?)", *row)
        return token

    def lookup(self, token: str) -> Session | None:
        """The live session of `token` (its last use noted), or None; expired ones are deleted."""
        if not _plausible(token):
            return None
        key, now = token_hash(token), self._clock()
        rows, _ = self._run(
            "SELECT account_id, csrf_token, created, last_seen FROM {s} WHERE token_hash = ?", key
        )
        if not rows:
            return None
        account_id, csrf, created, last_seen = rows[0]
        idle, absolute = self.policy.idle.total_seconds(), self.policy.absolute.total_seconds()
        if now - last_seen >= idle or now - created >= absolute:
            self._run("DELETE FROM {s} WHERE token_hash = ?", key)
            return None
        if now - last_seen >= self.policy.touch_every.total_seconds():
            self._run("UPDATE {s} SET last_seen = ? WHERE token_hash = ?", now, key)
            last_seen = now
        return Session(UUID(account_id), csrf, _time(created), _time(last_seen))

    def revoke(self, token: str) -> bool:
        """Ends one session (sign-out); whether there was one."""
        if not _plausible(token):
            return False
        key = token_hash(token)
        try:
            return self._run("DELETE FROM {s} WHERE token_hash = ?", key)[1] > 0
        finally:
            self._revoked_token(key)

    def revoke_all(
        self, account_id: UUID, *, include_api_tokens: bool = False, keep: str | None = None
    ) -> int:
        """Ends every session of an account (password changed, account disabled); how many.

        With `include_api_tokens` (account disabled or compromised) its API tokens go too;
        `keep` is a session token that stays (the one that changed its own password).
        """
        sql, params = "DELETE FROM {s} WHERE account_id = ?", [str(account_id)]
        if keep is not None:
            sql, params = sql + " AND token_hash <> ?", [*params, token_hash(keep)]
        try:
            count = self._run(sql, *params)[1]
            if include_api_tokens:
                count += self._run("DELETE FROM {t} WHERE account_id = ?", str(account_id))[1]
            return count
        finally:
            self._revoked_account(account_id)

    def purge_expired(self) -> int:
        """Deletes the sessions that have expired; how many."""
        now, idle, absolute = self._clock(), self.policy.idle, self.policy.absolute
        sql = "DELETE FROM {s} WHERE last_seen <= ? OR created <= ?"
        return self._run(sql, now - idle.total_seconds(), now - absolute.total_seconds())[1]

    # -- password hashes ----------------------------------------------------------------------
    def password_hash(self, account_id: UUID) -> str | None:
        """The account's stored argon2id hash, or None when none was stored here."""
        sql = "SELECT password_hash FROM {c} WHERE account_id = ?"
        rows, _ = self._run(sql, str(account_id))
        return str(rows[0][0]) if rows else None

    def store_password_hash(
        self, account_id: UUID, password_hash: str, *, only_if_absent: bool = False
    ) -> bool:
        """Stores the account's hash (replacing one, unless `only_if_absent`); whether stored."""
        action = (
            "NOTHING"
            if only_if_absent
            else ("UPDATE SET password_hash = excluded.password_hash, changed = excluded.changed")
        )
        sql = ("INSERT INTO {c} (account_id, password_hash, changed) VALUES (?, ?, ?) "
               f"ON CONFLICT (account_id) DO {action}")  # fmt: skip
        return self._run(sql, str(account_id), password_hash, self._clock())[1] > 0

    # -- API tokens ---------------------------------------------------------------------------
    def issue_api_token(self, account_id: UUID, name: str) -> IssuedToken:
        """A new API token named `name`; its secret is returned only this once."""
        name = name.strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise InvalidInput("Name the token in 1 to 100 printable characters.", ["name"])
        secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(uuid4(), account_id, name, _time(self._clock()), None)
        sql = "INSERT INTO {t} (id, token_hash, account_id, name, created) VALUES (?, ?, ?, ?, ?)"
        row = (str(token.id), token_hash(secret), str(account_id), name, token.created.timestamp())
        self._run(sql, *row)
        return IssuedToken(secret, token)

    def api_tokens(self, account_id: UUID) -> list[ApiToken]:
        """An account's API tokens, oldest first (without their secrets)."""
        rows, _ = self._run(
            "SELECT id, account_id, name, created, last_used FROM {t} "
            "WHERE account_id = ? ORDER BY created, id",
            str(account_id),
        )
        return [self._api_token(row) for row in rows]

    def revoke_api_token(self, account_id: UUID, token_id: UUID) -> bool:
        """Revokes an account's token by id; False when the account has no such token."""
        sql = "DELETE FROM {t} WHERE id = ? AND account_id = ?"
        try:
            return self._run(sql, str(token_id), str(account_id))[1] > 0
        finally:
            self._revoked_account(account_id)  # its secret's hash is not at hand: all of them

    def lookup_api_token(self, secret: str) -> ApiToken | None:
        """The token a request presents (its use noted), or None when unknown or revoked."""
        if not _plausible(secret) or not secret.startswith(API_TOKEN_PREFIX):
            return None
        key, now = token_hash(secret), self._clock()
        rows, _ = self._run(
            "SELECT id, account_id, name, created, last_used FROM {t} WHERE token_hash = ?", key
        )
        if not rows:
            return None
        token = self._api_token(rows[0])
        last = token.last_used.timestamp() if token.last_used else None
        if last is None or now - last >= self.policy.touch_every.total_seconds():
            self._run("UPDATE {t} SET last_used = ? WHERE token_hash = ?", now, key)
            token = ApiToken(token.id, token.account_id, token.name, token.created, _time(now))
        return token

    @staticmethod
    def _api_token(row: Row) -> ApiToken:
        token_id, account_id, name, created, last_used = row
        used = None if last_used is None else _time(last_used)
        return ApiToken(UUID(token_id), UUID(account_id), name, _time(created), used)


class SqliteSessionStore(SessionStore):
    """The store in a SQLite file (`<SUZ_DATA_DIR>/web.sqlite`), one connection per call."""

    def __init__(
        self, path: Path, policy: SessionPolicy | None = None, clock: Clock = time.time
    ) -> None:
        super().__init__(policy, clock)
        self.path = path

    def _tables(self) -> dict[str, str]:
        return {"s": "web_sessions", "t": "web_api_tokens", "c": "web_credentials",
                "i": "web_idempotency"}  # fmt: skip

    def _execute(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall(), cursor.rowcount

    def migrate(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
        super().migrate()

    def close(self) -> None:
        pass


class PostgresSessionStore(SessionStore):
    """The store in PostgreSQL, in `schema` (default: the connection's search path)."""

    def __init__(
        self,
        url: str,
        schema: str | None = None,
        policy: SessionPolicy | None = None,
        clock: Clock = time.time,
        *,
        pool_size: int = 4,
        pool: ConnectionPool[psycopg.Connection[Any]] | None = None,
    ) -> None:
        super().__init__(policy, clock)
        self._schema = schema or "public"
        if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", schema):
            raise ValueError(f"SUZ_DATABASE_SCHEMA {schema!r} is not a plain schema name")
        prefix = f'"{schema}".' if schema else ""
        self._names = {"s": prefix + "web_sessions", "t": prefix + "web_api_tokens",
                       "c": prefix + "web_credentials",
                       "i": prefix + "web_idempotency"}  # fmt: skip
        # A process's view pool when given (its owner closes it), else a small one of its own;
        # either checks a connection before lending it: one killed in an outage is replaced.
        self._owned = pool is None
        self._pool: ConnectionPool[psycopg.Connection[Any]] = pool or ConnectionPool(
            url, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=True,
            check=ConnectionPool.check_connection, timeout=10.0,
        )  # fmt: skip

    def _tables(self) -> dict[str, str]:
        return self._names

    def _execute(self, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
        with self._pool.connection() as conn, returned_fresh(conn):
            cursor = conn.execute(sql.replace("?", "%s"), params)
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.rowcount

    def _scope(self) -> str:
        return self._schema

    def _announce(self, payload: str) -> None:
        # autocommit: sent at once; a failure (the database gone) leaves the TTL as the bound
        with suppress(psycopg.Error):
            self._execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{self._schema}|{payload}"))

    def close(self) -> None:
        if self._owned:
            self._pool.close()


def open_session_store(
    settings: Settings,
    policy: SessionPolicy | None = None,
    clock: Clock = time.time,
    *,
    views: ViewDB | None = None,
) -> SessionStore:
    """The store matching where the events live: PostgreSQL when SUZ_DATABASE_URL is set; with
    `views` (PostgreSQL), it borrows from their pool: a process's connections stay bounded."""
    store: SessionStore
    if settings.database_url is None:
        store = SqliteSessionStore(settings.data_dir / "web.sqlite", policy, clock)
    else:
        pool = views.pool if views is not None and views.dialect == "postgres" else None
        store = PostgresSessionStore(settings.database_url, settings.schema, policy, clock,
                                     pool=pool)  # fmt: skip
    store.cache = CallerCache(settings.auth_cache_ttl, settings.auth_cache_size)
    return store
