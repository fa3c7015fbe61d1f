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

PostgreSQL schemas are recycled, not dropped: replaying the dump makes ~250 relations (63
tables, their indexes and TOAST tables), ~170 ms of the server's CPU, and dropping them ~25 ms
more, for each of several hundred sites a run starts. A copy's schema, given back when its test
ends (`release`, from tests/conftest.py `pg_schema`), waits as a spare; the next copy takes it:
in one transaction the test's empty schema is dropped, the spare renamed to its name, the event
store's insert function (which names its schema) made again, every table emptied and the
template's rows put back (~10 ms). A spare whose tables, columns, indexes or constraints are not
the template's any more (a test altered them), or that cannot be emptied at once (a lock held by
a process its test left behind), is dropped and the dump replayed as before. What a test could
see of its store is the same either way: the template's tables with the template's rows, the
event ids restarting where the template's end. `tables` does the same for a store that needs only
the tables (tests/conftest.py `store_env`), from a template `suz migrate` made with no rows of
its own.
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
from web.migrations import migrate as make_tables

ENABLED = os.environ.get("SUZ_TEST_COPY_STORES", "y") != "n"
PLACEHOLDER = "suz_template_schema_placeholder"


@dataclass
class Template:
    data: Path  # the data folder migrate made (keys; SQLite: the databases too)
    world: World | None  # None: a template of the tables only (`tables`)
    sql: str | None = None  # PostgreSQL: the schema's dump, its name replaced by PLACEHOLDER
    shape: str = ""  # PostgreSQL: `_shape` of the schema (what a spare must still have)
    refill: str = ""  # PostgreSQL: the statements that give a spare the template's rows again


Kind = tuple[str, str]  # ("world" or "tables", database URL ("" for SQLite))
_made: dict[Kind, Template | None] = {}  # None: could not
_root: Path | None = None
_copies: dict[tuple[str, str], Kind] = {}  # (URL, schema) of a copy in use: its template's kind
_spares: dict[Kind, list[str]] = {}  # schemas of copies given back, to be recycled
# The relations, columns, constraints and functions of a schema, whatever its name.
_SHAPE = """
SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), '')) FROM (
    SELECT concat_ws(':', c.relname, c.relkind::text, a.attnum, a.attname, t.typname,
                     a.attnotnull) AS item
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_type t ON t.oid = a.atttypid
    WHERE n.nspname = %(schema)s
    UNION ALL
    SELECT concat_ws(':', 'constraint', conname, contype::text) FROM pg_constraint o
    JOIN pg_namespace n ON n.oid = o.connamespace WHERE n.nspname = %(schema)s
    UNION ALL
    SELECT 'function:' || proname FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(schema)s
) items
"""


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


def _make(settings: Settings, build: Callable[[Settings], World | None]) -> Template | None:
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
    return Template(data, world, sql, _shape(url, schema), _refill(sql))


def _shape(url: str, schema: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(_SHAPE, {"schema": schema}).fetchone()
    return str(row[0]) if row else ""


def _refill(sql: str) -> str:
    """From the dump: every table emptied, the functions made again, the rows and sequence
    values put back (each of the dump's entries starts with a `-- Name: ...; Type: T; ...`
    or `-- Data for Name: ...` comment)."""
    tables: list[str] = []
    kept: list[str] = []
    kind = ""
    for line in sql.splitlines():
        if line.startswith(("-- Name: ", "-- Data for Name: ")):
            kind = line.split("; Type: ", 1)[1].split(";", 1)[0]
        elif kind == "TABLE" and line.startswith(("CREATE TABLE ", "CREATE UNLOGGED TABLE ")):
            tables.append(line.removesuffix(" (").split()[-1])
        elif kind in ("TABLE DATA", "SEQUENCE SET"):
            kept.append(line)
        elif kind == "FUNCTION":
            kept.append(line.replace("CREATE FUNCTION ", "CREATE OR REPLACE FUNCTION ", 1))
    emptied = [f"DELETE FROM {table};" for table in tables]
    return "\n".join(["SET LOCAL lock_timeout = '2s';", *emptied, *kept])


def _filled(url: str, schema: str, template: Template, kind: Kind) -> bool:
    """Gives `schema`, if empty, the template's tables and rows: a spare recycled, else the dump
    replayed; False if it was not empty. One connection for it all (a connection costs the
    server a process start)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s", (schema,)
        ).fetchone()  # fmt: skip
        if row is None or row[0] != 0:
            return False
        spares = _spares.get(kind, [])
        while spares:
            spare = spares.pop()
            try:
                shaped = conn.execute(_SHAPE, {"schema": spare}).fetchone()
                if shaped is None or shaped[0] != template.shape:
                    raise psycopg.DataError(f"{spare} is not shaped as the template any more")
                with conn.transaction():
                    conn.execute(f"DROP SCHEMA {schema}")
                    conn.execute(f"ALTER SCHEMA {spare} RENAME TO {schema}")
                    conn.execute(template.refill.replace(PLACEHOLDER, schema).encode())
                return True
            except psycopg.Error:
                _drop(url, spare)
        assert template.sql is not None
        with conn.transaction():
            conn.execute(template.sql.replace(PLACEHOLDER, schema).encode())
    return True


def release(url: str, schema: str) -> None:
    """The end of a test's schema: a copy of a template waits to be recycled, any other is
    dropped."""
    kind = _copies.pop((url, schema), None)
    if kind is None:
        _drop(url, schema)
        return
    if not _spares:
        atexit.register(_drop_spares)
    _spares.setdefault(kind, []).append(schema)


def _drop_spares() -> None:
    for (_, url), schemas in _spares.items():
        for schema in schemas:
            _drop(url, schema)


def _drop(url: str, schema: str) -> None:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SET lock_timeout = '5s'")  # not behind a process a test left behind
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
    if url is not None and schema is None:
        return build(settings)
    kind = ("world", url or "")
    if kind not in _made:
        _made[kind] = _make(settings, build)
    template = _made[kind]
    if template is None or template.world is None:
        return build(settings)
    if url is not None and schema is not None and template.sql is not None:
        if not _filled(url, schema, template, kind):
            return build(settings)
        _copies[(url, schema)] = kind
    shutil.copytree(template.data, settings.data_dir, dirs_exist_ok=True)
    # the World's desk is this store's, closed, as migrate's is (one connection is enough)
    desk = Desk(replace(settings, store_pool_size=1, store_max_overflow=0).store_env())
    desk.close()
    return replace(template.world, desk=desk)


def tables(settings: Settings) -> bool:
    """PostgreSQL: gives the empty schema of `settings` every table `suz migrate` makes, with
    only the rows the migration writes (a copy of a template made so once, or a spare
    recycled); False where it cannot (SQLite, copies off, no pg_dump, a schema not empty), and
    the caller makes its tables as before."""
    url, schema = settings.database_url, settings.schema
    if not ENABLED or url is None or schema is None:
        return False
    kind = ("tables", url)
    if kind not in _made:
        _made[kind] = _make(settings, make_tables)
    template = _made[kind]
    if template is None or template.sql is None or not _filled(url, schema, template, kind):
        return False
    _copies[(url, schema)] = kind
    return True
