"""`./scripts/bench kb`: knowledge-base suggestions (projections.knowledge.suggest) over 100,000
published articles, on PostgreSQL and SQLite. Target: p95 < 30 ms. Measured, not asserted.

The rows are not produced by the Desk: they are generated directly in the view's tables, made
by the view's own DDL (migrate_views with KnowledgeView). PostgreSQL: a fresh schema, INSERT ...
SELECT over generate_series, doc = to_tsvector('russian', text). SQLite: a temporary directory,
executemany in one transaction, v_articles_fts with projections.search.stemmed text. Each
article: a Russian title (4-8 words) and body (25-50), an English title (3-6) and body (8-20),
drawn with a skew (the first words of the vocabulary are in most articles, the last in a few
percent) from help-desk words in several forms; 85 % articles, 10 % answer and 5 % information
request templates; 90 % public; one of 20 categories, 30 % a second one.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import psycopg
from tqdm import tqdm

from domain.article import Kind
from domain.settings import Settings
from projections import knowledge
from projections.db import Row, Tx, ViewDB
from projections.knowledge import KnowledgeView
from projections.runner import migrate_views
from projections.search import stemmed
from scripts.bench_machine import (
    DEFAULT_PG_URL,
    cpu_model,
    load,
    ms,
    pct,
    print_machine,
    table,
    temp_schema,
    verdict,
)

TARGET, CHUNK = 0.030, 20_000
_RU = (
    "ошибка контракт подпись сертификат извещение план-график отчёт публикация браузер реестр "
    "контракта ошибки подписи заказчик поставщик закупка протокол заявка документ система "
    "электронная сертификата контрактов публикации реестра извещения отчёта закупки кабинет "
    "платёж счёт договор аукцион вход пароль доступ организация сведения исполнение приёмка "
    "акт услуга товар сумма срок размещение изменение отмена жалоба обращение поддержка "
    "позиция лот участник торги площадка гарантия обеспечение файл загрузка формат подписание "
    "ключ токен плагин настройка обновление версия сервер ожидание статус проверка "
    "некорректный отсутствует невозможно сформировать отправить открыть подписать уведомление "
    "регистрация банковская идентификационный код ЕИС казначейство лицевой счета плана-графика "
    "отчёты заявки протокола документа площадки браузера ключа токена статуса исполнении приёмки"
)  # fmt: skip
RU = tuple(_RU.split())
_EN = (
    "error contract signature certificate publish browser registry notice report schedule "
    "upload timeout plugin server login password invoice payment supplier customer tender "
    "auction document file format update version status failed missing invalid sign expired "
    "token key account access cabinet treasury guarantee protocol application"
)
EN = tuple(_EN.split())
QUERIES = (
    "Ошибка подписи при публикации контракта", "Не могу подписать контракт, сертификат не найден",
    "Браузер не видит сертификат электронной подписи",
    "Как опубликовать план-график закупок на этот год", "Ошибка при размещении извещения в ЕИС",
    "Не отправляется отчёт об исполнении контракта",
    "Реестр контрактов не обновляется после подписания документа",
    "Истёк срок действия сертификата, как заменить ключ",
    "Не загружается файл протокола, неверный формат",
    "Заказчик не видит заявки участников аукциона",
    "Где найти сведения о банковской гарантии поставщика",
    "Плагин подписи не работает в браузере после обновления версии",
    "Нет доступа в личный кабинет организации", "Как внести изменения в план-график",
    "Не удаётся сформировать акт приёмки товара по контракту",
    "Статус контракта не меняется после отправки в реестр контрактов",
    "Подписи контрактов не проверяются", "Ошибка certificate expired при подписании",
    "Certificate error when signing the contract", "Cannot upload report file, invalid format",
    "Browser plugin does not see my signature token", "Login password expired",
)  # fmt: skip
SCENARIOS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("requester (public articles)", {"staff": False}),
    ("requester + category", {"staff": False, "category": True}),
    ("staff, all kinds, limit 8", {"staff": True, "kinds": tuple(Kind), "limit": 8}),
    ("staff, all kinds + category, limit 8",
     {"staff": True, "kinds": tuple(Kind), "limit": 8, "category": True}),
)  # fmt: skip


def _words(vocab: str, count: str) -> str:
    return (f"(SELECT string_agg((%({vocab})s::text[])[1 + floor(%(n{vocab})s::int"
            f" * power(random(), 2))::int], ' ') FROM generate_series(1, {count}))")  # fmt: skip


def _cat(k: str) -> str:
    return f"md5('cat' || ({k}))::uuid::text"


def _cat_id(k: int) -> str:
    return f"cat-{k:02d}"


ARTICLES_SQL = f"""
INSERT INTO v_articles (id, n, kind, stage, revision, published_revision, audience, title,
  published, gap_id, helped, used_in_replies, used_in_requests, updated_at, doc)
SELECT id, i, kind, 'published', 1, 1, audience, title_ru, json_build_object('title_ru',
  title_ru, 'title_en', title_en, 'body_ru', body_ru, 'body_en', body_en, 'audience', audience,
  'tags', json_build_array(tag), 'references', json_build_array(), 'category_ids', cats)::text,
  NULL, 0, 0, 0, '2026-01-01T00:00:00+00:00',
  setweight(to_tsvector('russian', concat_ws(E'\\n', title_ru, title_en)), 'A')
  || to_tsvector('russian', concat_ws(E'\\n', body_ru, body_en, tag, ''))
FROM (SELECT i, md5('kb' || i)::uuid::text AS id,
        CASE WHEN r < 0.85 THEN 'article' WHEN r < 0.95 THEN 'answer_template'
          ELSE 'info_request_template' END AS kind,
        CASE WHEN r2 < 0.9 THEN 'public' ELSE 'internal' END AS audience,
        CASE WHEN r3 < 0.3 THEN json_build_array({_cat("i %% 20")}, {_cat("(i * 7 + 3) %% 20")})
          ELSE json_build_array({_cat("i %% 20")}) END AS cats,
        {_words("ru", "4 + i %% 5")} AS title_ru, {_words("en", "3 + i %% 4")} AS title_en,
        {_words("ru", "25 + i %% 26")} AS body_ru, {_words("en", "8 + i %% 13")} AS body_en,
        {_words("ru", "1 + i %% 1")} AS tag
      FROM (SELECT i, random() AS r, random() AS r2, random() AS r3
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) i) g) x
"""
CATEGORIES_SQL = """INSERT INTO v_article_categories (article_id, category_id, n)
SELECT id, json_array_elements_text(published::json -> 'category_ids'), n FROM v_articles"""


def populate_pg(db: ViewDB, rows: int) -> None:
    conn = db.connect()
    assert isinstance(conn, psycopg.Connection)
    params: dict[str, Any] = {"ru": list(RU), "nru": len(RU), "en": list(EN), "nen": len(EN)}
    with conn, tqdm(total=rows, unit="article", desc="postgres rows", file=sys.stderr) as bar:
        for lo in range(1, rows + 1, CHUNK):
            hi = min(lo + CHUNK - 1, rows)
            conn.execute(ARTICLES_SQL, {**params, "lo": lo, "hi": hi})  # type: ignore[arg-type]
            bar.update(hi - lo + 1)
        conn.execute(CATEGORIES_SQL)  # type: ignore[arg-type]
        conn.execute("VACUUM ANALYZE v_articles")
        conn.execute("VACUUM ANALYZE v_article_categories")


def _text(rnd: random.Random, vocab: Sequence[str], count: int) -> str:
    return " ".join(vocab[int(len(vocab) * rnd.random() ** 2)] for _ in range(count))


def populate_sqlite(db: ViewDB, rows: int) -> None:
    rnd = random.Random(7)
    articles: list[tuple[Any, ...]] = []
    fts: list[tuple[int, str, str]] = []
    categories: list[tuple[str, str, int]] = []
    for i in tqdm(range(1, rows + 1), unit="article", desc="sqlite rows", file=sys.stderr):
        r = rnd.random()
        kind = "article" if r < 0.85 else "answer_template" if r < 0.95 else "info_request_template"
        audience = "public" if rnd.random() < 0.9 else "internal"
        cats = [_cat_id(i % 20)] + ([_cat_id((i * 7 + 3) % 20)] if rnd.random() < 0.3 else [])
        t_ru, t_en = _text(rnd, RU, 4 + i % 5), _text(rnd, EN, 3 + i % 4)
        b_ru, b_en, tag = _text(rnd, RU, 25 + i % 26), _text(rnd, EN, 8 + i % 13), _text(rnd, RU, 1)
        content = {"title_ru": t_ru, "title_en": t_en, "body_ru": b_ru, "body_en": b_en,
                   "audience": audience, "tags": [tag], "references": [],
                   "category_ids": cats}  # fmt: skip
        article_id = f"kb-{i:08d}"
        articles.append((article_id, i, kind, audience, t_ru, orjson.dumps(content).decode()))
        fts.append((i, stemmed(f"{t_ru}\n{t_en}"), stemmed("\n".join([b_ru, b_en, tag, ""]))))
        categories += [(article_id, c, i) for c in dict.fromkeys(cats)]
    started = time.perf_counter()
    with db.tx() as tx:
        tx.executemany(
            "INSERT INTO v_articles (id, n, kind, stage, revision, published_revision, audience,"
            " title, published, gap_id, helped, used_in_replies, used_in_requests, updated_at)"
            " VALUES (%s, %s, %s, 'published', 1, 1, %s, %s, %s, NULL, 0, 0, 0,"
            " '2026-01-01T00:00:00+00:00')",
            articles,
        )
        tx.executemany("INSERT INTO v_articles_fts (rowid, title, body) VALUES (%s, %s, %s)", fts)
        tx.executemany(
            "INSERT INTO v_article_categories (article_id, category_id, n) VALUES (%s, %s, %s)",
            categories,
        )
    with db.read() as tx:
        tx.execute("ANALYZE")
    print(f"sqlite: inserted in one transaction in {time.perf_counter() - started:,.1f} s")


class Explain:
    """A Tx that answers suggest's query with its plan (EXPLAIN ANALYZE on PostgreSQL)."""

    def __init__(self, tx: Tx) -> None:
        self.tx, self.dialect, self.plan = tx, tx.dialect, list[str]()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.tx.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.tx.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self.tx.one(sql, params)

    def all(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        pg = self.dialect == "postgres"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
        self.plan = [str(r[0] if pg else r[-1]) for r in self.tx.all(prefix + sql, params)]
        return []


def _call(tx: Tx, text: str, options: dict[str, Any], category: str) -> list[dict[str, Any]]:
    kwargs = {k: v for k, v in options.items() if k != "category"}
    return knowledge.suggest(tx, text, category_id=category if "category" in options else None,
                             **kwargs)  # fmt: skip


def measure(db: ViewDB, store: str, n: int, budget: float, explain: bool) -> list[list[str]]:
    out: list[list[str]] = []
    with db.read() as tx:
        ids = [str(r[0]) for r in tx.all("SELECT DISTINCT category_id FROM v_article_categories")]
        rnd = random.Random(11)
        for name, options in tqdm(SCENARIOS, desc=f"{store} queries", file=sys.stderr):
            for text in QUERIES:  # warm the cache and the connection
                _call(tx, text, options, ids[0])
            took: list[tuple[float, str, str]] = []
            stop = time.perf_counter() + budget
            while len(took) < n and (len(took) < 50 or time.perf_counter() < stop):
                text, category = rnd.choice(QUERIES), rnd.choice(ids)
                started = time.perf_counter()
                found = _call(tx, text, options, category)
                took.append((time.perf_counter() - started, text, category))
                assert found, f"nothing suggested for {text!r}"
            t = [x[0] for x in took]
            out.append([store, name, str(len(t)), ms(pct(t, 50)), ms(pct(t, 95)), ms(pct(t, 99)),
                        ms(max(t)), verdict(pct(t, 95) < TARGET)])  # fmt: skip
            if explain or pct(t, 95) >= TARGET:
                _, text, category = sorted(took)[int(len(took) * 0.95) - 1]
                plan = Explain(tx)
                _call(plan, text, options, category)
                print(f"\n{store}, {name}: plan for {text!r} (a p95 query)")
                print("\n".join("  " + line for line in plan.plan))
    return out


def run(store: str, url: str | None, rows: int, n: int, budget: float, explain: bool,
        tmp: str) -> list[list[str]]:  # fmt: skip
    settings = Settings(data_dir=Path(tmp) / store, database_url=url)
    db = ViewDB(settings)
    try:
        migrate_views(db, [KnowledgeView()])
        started = time.perf_counter()
        (populate_pg if url else populate_sqlite)(db, rows)
        print(f"{store}: {rows:,} articles ready in {time.perf_counter() - started:,.0f} s")
        return measure(db, store, n, budget, explain)
    finally:
        db.close_all()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench kb", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL",
                                                                 DEFAULT_PG_URL))  # fmt: skip
    parser.add_argument("--backend", choices=("all", "postgres", "sqlite"), default="all")
    parser.add_argument("--rows", type=int, default=100_000, help="published articles")
    parser.add_argument("-n", type=int, default=500, help="queries per scenario")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per scenario at most")
    parser.add_argument("--explain", action="store_true", help="show plans even when met")
    args = parser.parse_args(argv)
    url = args.database_url
    print("suz bench kb: knowledge-base suggestions (projections.knowledge.suggest)\n")
    try:
        print_machine(url)
    except psycopg.OperationalError:
        print(f"       CPU: {cpu_model()}, {os.cpu_count()} logical CPUs\n  load avg: {load()}")
        print(f"PostgreSQL: unreachable at {url}\n")
        args.backend = "sqlite" if args.backend == "all" else args.backend
    print(f"{args.rows:,} published articles, rows generated directly in the view's tables"
          " (not by the Desk); see scripts/bench_kb.py\n")  # fmt: skip
    out: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend in ("all", "postgres"):
            with temp_schema(url, "bench_kb") as schema:
                os.environ["SUZ_DATABASE_SCHEMA"] = schema
                try:
                    out += run("PostgreSQL", url, args.rows, args.n, args.budget, args.explain, tmp)
                finally:
                    os.environ.pop("SUZ_DATABASE_SCHEMA", None)
        if args.backend in ("all", "sqlite"):
            out += run("SQLite", None, args.rows, args.n, args.budget, args.explain, tmp)
    print(f"\nsuggest(), ms, {len(QUERIES)} requester texts of 3-12 words, random category;"
          " target p95 < 30 ms")  # fmt: skip
    print(table(["store", "who", "queries", "p50", "p95", "p99", "max", "p95 target"], out, 2))
    print(f"\nload avg at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
