"""Migrated stores copied, not made: what `migrate` (tests/web/desk_site.py) builds for a test is
made once per test process and backend, then copied into each test's empty store.

Made from nothing, a store takes ~800 statements (the event store's, the views', the sessions'
tables, the World's cast and their passwords), each a round trip to PostgreSQL: 1-6 s a test on
a loaded machine, for several hundred tests. The copy is the same store: PostgreSQL gets the
template schema's `pg_dump` (tables, types, functions, sequences, rows) replayed into the test's
schema in one transaction (~0.1 s quiet, ~1 s loaded); SQLite gets the files copied. The data
folder (the chain key the World's events are chained with) is copied along, so the events verify
as they would in a store made for the test.

A test's store is copied only when it is like the template's: demo keys in its own data folder
(no SUZ_CHAIN_KEY/SUZ_SIGNING_KEY), the data folder not there yet and, on PostgreSQL, an empty
schema of the same database. Anything else (a store `suz migrate` made already, a shared schema,
given keys) is migrated as before, and so is every store when pg_dump is missing or fails.
SUZ_TEST_COPY_STORES=n turns the copies off.

Every test gets the same ids for the World's cast within one process (its own in each xdist
worker); they are as unique in each test's store as before, and nothing keeps them across
stores in a process.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import psycopg

from domain.desk import Desk
from domain.settings import Settings
from tests.world import World

ENABLED = os.environ.get("SUZ_TEST_COPY_STORES", "y") != "n"
PLACEHOLDER = "suz_template_schema_placeholder"


@dataclass
class Template:
    data: Path  # the data folder migrate made (keys; SQLite: the databases too)
    world: World
    sql: str | None = None  # PostgreSQL: the schema's dump, its name replaced by PLACEHOLDER


_made: dict[str, Template | None] = {}  # by database URL ("" for SQLite); None: could not
_root: Path | None = None


def _folder() -> Path:
    global _root
    if _root is None:
        _root = Path(tempfile.mkdtemp(prefix="suz-store-templates-"))
        atexit.register(shutil.rmtree, _root, True)
    return Path(tempfile.mkdtemp(dir=_root))


def _likes_template(settings: Settings) -> bool:
    if not ENABLED or not settings.demo or settings.chain_key or settings.signing_key:
        return False
    data = settings.data_dir
    return not data.exists() or not any(data.iterdir())


def _schema_is_empty(url: str, schema: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s", (schema,)
        ).fetchone()  # fmt: skip
    return row is not None and row[0] == 0


def _dump(url: str, schema: str) -> str:
    u = urlparse(url)
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    done = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "--inserts", "--schema", schema,
         "--host", u.hostname or "127.0.0.1", "--port", str(u.port or 5432),
         "--username", u.username or "postgres", u.path.lstrip("/") or "postgres"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = []
    for line in done.stdout.splitlines():
        if line.startswith("\\") or line.startswith(f"CREATE SCHEMA {schema};"):
            continue  # psql's own commands; the test's schema exists already
        lines.append(line)
    return "\n".join(lines).replace(schema, PLACEHOLDER)


def _make(settings: Settings, build: Callable[[Settings], World]) -> Template | None:
    data = _folder() / "data"
    url = settings.database_url
    if url is None:
        world = build(replace(settings, data_dir=data))
        return Template(data, world)
    schema = f"suz_template_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    atexit.register(_drop, url, schema)
    before = os.environ.get("SUZ_DATABASE_SCHEMA")
    os.environ["SUZ_DATABASE_SCHEMA"] = schema
    try:
        world = build(replace(settings, data_dir=data))
    finally:
        if before is None:
            os.environ.pop("SUZ_DATABASE_SCHEMA", None)
        else:
            os.environ["SUZ_DATABASE_SCHEMA"] = before
    try:
        sql = _dump(url, schema)
    except (OSError, subprocess.SubprocessError):
        return None  # no pg_dump (or not one for this server): every store is migrated
    return Template(data, world, sql)


def _drop(url: str, schema: str) -> None:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    except psycopg.Error:
        pass


def migrated(settings: Settings, build: Callable[[Settings], World]) -> World:
    """The store of `settings` as `build` (migrate) makes it: copied from the template when it
    may be, else built."""
    if not _likes_template(settings):
        return build(settings)
    url = settings.database_url
    schema = settings.schema
    if url is not None and (schema is None or not _schema_is_empty(url, schema)):
        return build(settings)
    key = url or ""
    if key not in _made:
        _made[key] = _make(settings, build)
    template = _made[key]
    if template is None:
        return build(settings)
    shutil.copytree(template.data, settings.data_dir, dirs_exist_ok=True)
    if url is not None and schema is not None and template.sql is not None:
        with psycopg.connect(url) as conn:
            conn.execute(template.sql.replace(PLACEHOLDER, schema).encode())
    # the World's desk is this store's, closed, as migrate's is (one connection is enough)
    desk = Desk(replace(settings, store_pool_size=1, store_max_overflow=0).store_env())
    desk.close()
    return replace(template.world, desk=desk)
