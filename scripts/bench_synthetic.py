"""Queue and search queries over synthetic tickets (part of `./scripts/bench projections`).

The rows are not produced by the Desk: v_tickets, v_queue_counts and v_search are filled
directly in PostgreSQL (INSERT ... SELECT over generate_series, in chunks), in a fresh schema
with the views' own DDL, then ANALYZEd. Tickets spread over 20 groups (3 lines, 10 agents each),
50,000 requesters in 2,000 organisations; 85 % resolved or closed, 15 % open (5 % new, 7 % open,
3 % waiting). Search text: ~10 words a ticket drawn with a skew (a few words are in most tickets,
the tail in a few percent) from a Russian/English help-desk vocabulary, plus one rare registry
token ("рн<n>", ~5 tickets each), to_tsvector('russian', ...) as the search view writes it.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import psycopg
from tqdm import tqdm

from domain.access import Actor
from domain.people import Role
from domain.ticket import Status
from projections import queues
from projections.db import _PgTx
from projections.search import SearchView, search
from projections.tickets import COLUMNS, TicketsView
from scripts.bench_machine import ms, pct, table, temp_schema, verdict

CHUNK = 100_000
REQUESTERS, ORGS, GROUPS, RARE = 50_000, 2_000, 20, 200_000
_TEXT = (
    "ошибка контракт подпись публикация заказчик поставщик сертификат документ реестр закупка "
    "извещение протокол заявка система платёж счёт договор электронный аукцион кабинет вход "
    "пароль доступ организация сведения исполнение приёмка акт услуга товар сумма срок "
    "размещение изменение отмена жалоба обращение поддержка отчёт план график позиция лот "
    "участник торги площадка банк гарантия обеспечение файл загрузка формат подписание ключ "
    "токен браузер плагин настройка обновление версия сервер ожидание таймаут статус проверка "
    "некорректный отсутствует невозможно error contract signature certificate upload timeout "
    "browser plugin server login password report invoice payment supplier customer registry "
    "tender auction notice document file format update version status failed missing invalid"
)
VOCAB = tuple(_TEXT.split())
OPEN = "('new', 'open', 'waiting')"
EXPRESSIONS = {  # per v_tickets column; the view may grow columns (the DDL is its own)
    "id": "md5('t' || i)::uuid::text", "number": "i", "subject": "'Заявка ' || i",
    "status": "st", "priority": "'normal'", "line": "1 + g %% 3",
    "group_id": "md5('g' || g)::uuid::text",
    "assignee_id": "CASE WHEN st = 'new' OR r2 < 0.2 THEN NULL"
                   " ELSE md5('a' || (g * 10 + i %% 10))::uuid::text END",
    "requester_id": f"md5('r' || (i %% {REQUESTERS}))::uuid::text",
    "organisation_id": f"md5('o' || (i %% {REQUESTERS} %% {ORGS}))::uuid::text",
    "category_id": "md5('c')::uuid::text", "channel": "'cabinet'", "contact_name": "''",
    "filed_at": "'2026-01-01T00:00:00+00:00'", "updated_at": "'2026-01-02T00:00:00+00:00'",
    "version": "5", "kind": "'request'", "tags": "''",
}  # fmt: skip
TICKETS_SQL = f"""
INSERT INTO v_tickets ({", ".join(COLUMNS)}) SELECT {", ".join(EXPRESSIONS[c] for c in COLUMNS)}
FROM (SELECT i, i %% {GROUPS} AS g, random() AS r, random() AS r2
      FROM generate_series(%s::bigint, %s::bigint) i) x
CROSS JOIN LATERAL (SELECT CASE WHEN r < 0.70 THEN 'closed' WHEN r < 0.85 THEN 'resolved'
  WHEN r < 0.90 THEN 'new' WHEN r < 0.97 THEN 'open' ELSE 'waiting' END AS st) s
"""
COUNTS_SQL = f"""
INSERT INTO v_queue_counts SELECT q, count(*) FROM (
  SELECT 'status:' || status AS q FROM v_tickets
  UNION ALL SELECT 'open' FROM v_tickets WHERE status IN {OPEN}
  UNION ALL SELECT 'group:' || group_id FROM v_tickets WHERE status IN {OPEN}
  UNION ALL SELECT 'line:' || line FROM v_tickets WHERE status IN {OPEN}
  UNION ALL SELECT coalesce('assignee:' || assignee_id, 'unassigned:' || group_id)
    FROM v_tickets WHERE status IN {OPEN}
  UNION ALL SELECT 'waiting:' || group_id FROM v_tickets WHERE status = 'waiting') q GROUP BY q
"""
WORDS = (
    "(SELECT string_agg((%(v)s::text[])[1 + floor(%(n)s::int * power(random(), 2))::int], ' ')"
    " FROM generate_series(1, {k} + t.number %% 2))"
)
SEARCH_SQL = f"""
INSERT INTO v_search (ticket_id, number, requester_id, organisation_id, public_doc, all_doc)
SELECT id, number, requester_id, organisation_id,
  to_tsvector('russian', pub), to_tsvector('russian', pub) || to_tsvector('russian', int)
FROM (SELECT t.id, t.number, t.requester_id, t.organisation_id,
        {WORDS.format(k=6)} || ' рн' || floor(random() * {RARE})::int AS pub,
        {WORDS.format(k=3)} AS int
      FROM v_tickets t WHERE t.number BETWEEN %(lo)s AND %(hi)s) x
"""


def ddl(view: Any, indexes: bool) -> list[str]:
    return [s for s in view.ddl("postgres") if s.startswith("CREATE TABLE") != indexes]


def populate(conn: psycopg.Connection[Any], rows: int) -> None:
    steps = [(lo, min(lo + CHUNK - 1, rows)) for lo in range(1, rows + 1, CHUNK)]
    conn.execute("SET maintenance_work_mem = '256MB'")
    with tqdm(total=2 * rows, unit="row", desc="synthetic rows", file=sys.stderr) as bar:
        for lo, hi in steps:
            conn.execute(TICKETS_SQL, (lo, hi))  # type: ignore[arg-type]
            bar.update(hi - lo + 1)
        conn.execute(COUNTS_SQL)  # type: ignore[arg-type]
        for lo, hi in steps:
            conn.execute(SEARCH_SQL, {"v": list(VOCAB), "n": len(VOCAB), "lo": lo, "hi": hi})  # type: ignore[arg-type]
            bar.update(hi - lo + 1)
    for statement in tqdm([*ddl(TicketsView(), True), *ddl(SearchView(), True)],
                          desc="indexes", file=sys.stderr):  # fmt: skip
        conn.execute(statement)  # type: ignore[arg-type]
    conn.execute("ANALYZE")


def timed(call: Callable[[], object], n: int, budget: float = 20.0) -> list[float]:
    """Up to n timings, fewer (at least 20) when they take more than `budget` seconds."""
    took: list[float] = []
    stop = time.perf_counter() + budget
    while len(took) < n and (len(took) < 20 or time.perf_counter() < stop):
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return took


def md5_uuid(text: str) -> UUID:
    """The UUID PostgreSQL's md5(text)::uuid gives."""
    return UUID(bytes=hashlib.md5(text.encode()).digest())


def gid(g: int) -> UUID:
    return md5_uuid(f"g{g}")


def run(url: str, rows: int, n: int = 200) -> None:
    print(f"\nQueries over {rows:,} synthetic tickets (rows written directly by SQL, not by the"
          " Desk; see scripts/bench_synthetic.py)")  # fmt: skip
    with temp_schema(url, "bench_rows") as schema, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')  # type: ignore[arg-type]
        for statement in [*ddl(TicketsView(), False), *ddl(SearchView(), False)]:
            conn.execute(statement)  # type: ignore[arg-type]
        started = time.perf_counter()
        populate(conn, rows)
        print(f"populated and indexed in {time.perf_counter() - started:,.0f} s")
        tx = _PgTx(conn)
        open_share = tx.one(f"SELECT avg((status IN {OPEN})::int) FROM v_tickets")
        print(f"open share: {float(open_share[0] if open_share else 0):.1%}")
        rnd = random.Random(7)

        def g() -> UUID:
            return gid(rnd.randrange(GROUPS))

        def second_page() -> object:
            first = queues.for_group(tx, (group := g()))
            return queues.for_group(tx, group, first.next_after)

        names = ["open", "line:1", "status:new", "status:waiting"]
        cases: list[tuple[str, Callable[[], object]]] = [
            ("for_group (page 1)", lambda: queues.for_group(tx, g())),
            ("for_group (pages 1+2)", second_page),
            ("unassigned", lambda: queues.unassigned(tx, g())),
            ("waiting", lambda: queues.waiting(tx, g())),
            ("by_line new", lambda: queues.by_line(tx, 1 + rnd.randrange(3), Status.NEW)),
            ("by_line closed", lambda: queues.by_line(tx, 1 + rnd.randrange(3), Status.CLOSED)),
            ("counts (24 queues)",
             lambda: queues.counts(tx, [*names, *(f"group:{gid(i)}" for i in range(GROUPS))])),
        ]  # fmt: skip
        out = []
        for name, call in tqdm(cases, desc="queue queries", file=sys.stderr):
            call()  # warm
            t = timed(call, n)
            out.append([name, ms(pct(t, 50)), ms(pct(t, 95)), ms(max(t)),
                        verdict(pct(t, 95) < 0.020)])  # fmt: skip
        print(f"\nQueue queries, ms ({n} each, random group/line; target p95 < 20 ms)")
        print(table(["query", "p50", "p95", "max", "p95 target"], out))
        search_rows(tx, n, rnd)
        explain(tx, f"{VOCAB[0]} {VOCAB[50]}")


def explain(tx: _PgTx, words: str) -> None:
    """The plans behind the slowest searches (a common word), as the search view runs them."""
    for doc, mine in (("all_doc", ""), ("public_doc", " AND (s.requester_id = %s OR"
                                                    " s.organisation_id = %s)")):  # fmt: skip
        scope = (str(md5_uuid("r7")), str(md5_uuid(f"o{7 % ORGS}"))) if mine else ()
        plan = tx.all(
            f"EXPLAIN (ANALYZE, BUFFERS) SELECT s.ticket_id, s.number FROM v_search s,"
            f" plainto_tsquery('russian', %s) q WHERE s.{doc} @@ q{mine}"
            f" ORDER BY ts_rank(s.{doc}, q) DESC, s.number DESC LIMIT 20",
            (words, *scope),
        )
        print(f"\nEXPLAIN ANALYZE, search {doc} for {words!r}:")
        print("\n".join("  " + str(r[0]) for r in plan))


def ask(tx: _PgTx, actor: Callable[[], Actor], word: Callable[[], str]) -> object:
    return search(tx, actor(), word())


def search_rows(tx: _PgTx, n: int, rnd: random.Random) -> None:
    staff = Actor(id=uuid4(), roles=frozenset({Role.AGENT}))

    def requester() -> Actor:
        k = rnd.randrange(REQUESTERS)
        return Actor(id=md5_uuid(f"r{k}"), roles=frozenset({Role.REQUESTER}),
                     organisation_id=md5_uuid(f"o{k % ORGS}"))  # fmt: skip

    words: list[tuple[str, Callable[[], str]]] = [
        ("rare token", lambda: f"рн{rnd.randrange(RARE)}"),
        ("tail word", lambda: rnd.choice(VOCAB[-20:])),
        ("middle word", lambda: rnd.choice(VOCAB[40:60])),
        ("common word", lambda: rnd.choice(VOCAB[:5])),
        ("two words", lambda: f"{rnd.choice(VOCAB[:10])} {rnd.choice(VOCAB[40:80])}"),
    ]
    who_asks: list[tuple[str, Callable[[], Actor]]] = [("staff", lambda: staff),
                                                       ("requester", requester)]  # fmt: skip
    out = []
    for label, word in tqdm(words, desc="search", file=sys.stderr):
        sample = word().split()[0]
        hit = tx.one("SELECT count(*) FROM v_search WHERE all_doc @@ plainto_tsquery('russian',"
                     " %s)", (sample,))  # fmt: skip
        share = f"{int(hit[0]) if hit else 0:,}"
        for who, actor in who_asks:
            search(tx, actor(), word())  # warm
            t = timed(partial(ask, tx, actor, word), n)
            p50, p95 = ms(pct(t, 50)), ms(pct(t, 95))
            out.append([f"{who}: {label}", share, str(len(t)), p50, p95, ms(max(t)),
                        verdict(pct(t, 95) < 0.050)])  # fmt: skip
    print(f"\nSearch, ms ({n} each; staff: all_doc, requester: public_doc + own/org filter;"
          " target p95 < 50 ms)")  # fmt: skip
    print(table(["query", "matches (one word)", "runs", "p50", "p95", "max", "p95 target"], out))
