"""Helpers the read-side stories share: a busy desk, view dumps, and counts recomputed by SQL."""

from __future__ import annotations

import random
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from uuid import UUID

import psycopg

from domain.desk import Desk
from domain.errors import InvalidInput, InvalidTransition
from domain.settings import Settings
from domain.ticket import Priority, Ticket
from projections.base import tracking
from projections.db import Row, Tx
from projections.system import Projections
from projections.tickets import OPEN_STATUSES
from tests.conftest import PG_URL, postgres_or_skip
from tests.world import World

REFUSED = (InvalidInput, InvalidTransition)  # what a random command may meet; never an error


def busy_day(world: World, rng: random.Random, tickets: list[UUID], commands: int) -> int:
    """Desk work on `tickets` in a seeded random order; returns how many commands were accepted."""
    accepted = 0
    for _ in range(commands):
        try:
            act(world, rng, tickets)
        except REFUSED:
            continue
        accepted += 1
    return accepted


def act(world: World, rng: random.Random, tickets: list[UUID]) -> None:
    """One random desk command: routing, conversation, information requests, outcomes."""
    d, t = world.desk, rng.choice(tickets)
    staff = rng.choice([world.agent, world.engineer])
    groups = [world.line1, world.line2, world.line3]
    moves: list[Callable[[], object]] = [
        lambda: tickets.append(world.file(subject=f"Заявка {len(tickets)}").id),
        lambda: d.transfer(staff, t, rng.choice(groups), "Не наш профиль"),
        lambda: d.escalate(staff, t, rng.choice(groups[1:]), "Нужен инженер"),
        lambda: d.assign(staff, t, rng.choice(groups), rng.choice([None, staff.id])),
        lambda: d.request_information(
            staff, t, ("signed_on",), ("Когда подписан контракт?",), "Уточните дату"
        ),
        lambda: d.provide_information(world.requester, t, {"signed_on": "2024-05-01"}, ("Вчера",)),
        lambda: d.reply(staff, t, "Проверьте сертификаты подписи"),
        lambda: d.write(world.requester, t, "Ошибка повторяется"),
        lambda: d.note(staff, t, "Похоже на сбой сертификата"),
        lambda: d.change_priority(staff, t, rng.choice(list(Priority))),
        lambda: d.resolve(staff, t, "Сертификат перевыпущен"),
        lambda: d.reopen(world.requester, t, "Снова не работает"),
        lambda: d.close_ticket(staff, t),
        lambda: d.rate(world.requester, t, rng.randint(1, 5)),
    ]
    rng.choice(moves)()


# -- what the views hold -------------------------------------------------------------------------
def dump(p: Projections) -> dict[str, list[Row]]:
    """Every row of every view's tables, sorted, comparable (zero queue counts left out)."""
    with p.db.read() as tx:
        virtual = set()
        if tx.dialect == "sqlite":  # FTS tables: their rowid is the ticket number
            found = tx.all("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'")
            virtual = {r[0] for r in found}
        tables = {t: f"SELECT {'rowid, ' if t in virtual else ''}* FROM {t}"
                  for v in p.views for t in v.tables}  # fmt: skip
        tables["v_queue_counts"] += " WHERE count <> 0"
        return {t: sorted(map(tuple, tx.all(sql)), key=repr) for t, sql in tables.items()}


def positions(p: Projections) -> dict[str, int]:
    with p.db.read() as tx:
        return {v.name: tracking(tx, v.name) for v in p.views}


def counts_in_view(tx: Tx) -> dict[str, int]:
    return {q: int(n) for q, n in tx.all("SELECT queue, count FROM v_queue_counts") if n}


def counts_by_sql(tx: Tx) -> dict[str, int]:
    """The queue counts computed afresh from v_tickets, independently of the view's bookkeeping."""
    is_open = "status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"
    g = "COALESCE(group_id, '')"
    rows = tx.all(
        "SELECT 'status:' || status, COUNT(*) FROM v_tickets GROUP BY status"
        f" UNION ALL SELECT 'open', COUNT(*) FROM v_tickets WHERE {is_open}"
        f" UNION ALL SELECT 'group:' || {g}, COUNT(*) FROM v_tickets WHERE {is_open}"
        f" GROUP BY {g}"
        " UNION ALL SELECT 'line:' || CAST(line AS TEXT), COUNT(*) FROM v_tickets"
        f" WHERE {is_open} GROUP BY line"
        " UNION ALL SELECT 'assignee:' || assignee_id, COUNT(*) FROM v_tickets"
        f" WHERE {is_open} AND assignee_id IS NOT NULL GROUP BY assignee_id"
        f" UNION ALL SELECT 'unassigned:' || {g}, COUNT(*) FROM v_tickets"
        f" WHERE {is_open} AND assignee_id IS NULL GROUP BY {g}"
        f" UNION ALL SELECT 'waiting:' || {g}, COUNT(*) FROM v_tickets"
        f" WHERE status = 'waiting' GROUP BY {g}"
    )
    return {q: int(n) for q, n in rows if n}


# -- a fresh store per hypothesis example ----------------------------------------------------------
@dataclass(frozen=True)
class SchemaSettings(Settings):
    """Settings whose PostgreSQL schema is its own, not the process's SUZ_DATABASE_SCHEMA."""

    pinned_schema: str = "public"

    @property
    def schema(self) -> str | None:
        return self.pinned_schema


@contextmanager
def fresh_store(backend: str) -> Iterator[Settings]:
    """A new, migrated event store (a temporary SQLite directory or a new PostgreSQL schema)."""
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            settings = Settings(data_dir=Path(tmp), database_url=None)
            Desk(settings.store_env(create_tables=True)).close()
            yield settings
            return
        postgres_or_skip()
        schema = f"h_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            settings = SchemaSettings(Path(tmp), PG_URL, pinned_schema=schema)
            Desk(settings.store_env(create_tables=True)).close()
            yield settings
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def pump_lock_holders(*projections: Projections) -> list[int]:
    """The backends holding the pumps' advisory locks (other test runs may hold their own)."""
    wanted = set()
    for p in projections:
        scope = p.settings.schema or "public"
        key = int.from_bytes(sha256(f"suz:pump:{scope}".encode()).digest()[:8], "big")
        wanted.add((key >> 32, key & 0xFFFFFFFF))  # how pg_locks shows a bigint key
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT classid::bigint, objid::bigint, pid FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        ).fetchall()
    return sorted(int(pid) for classid, objid, pid in rows if (classid, objid) in wanted)


class Crash(Exception):
    """What a view's `fault` raises to stop the pump in the middle of a batch."""


def crash_the_last_replier(p: Projections, target: int) -> tuple[str, list[int]]:
    """The last view in the pump's order that handles a reply raises Crash at position `target`
    (the others have written their rows of the batch by then): its name, and the positions it
    is handed until then, as the pump goes."""
    order = [r.view.name for r in p.pump.in_step]
    name = [n for n in order if Ticket.Replied in p.runner(n).view.handlers][-1]
    seen: list[int] = []

    def fault(position: int) -> None:
        seen.append(position)
        if position == target:
            raise Crash(position)

    p.runner(name).fault = fault
    return name, seen
