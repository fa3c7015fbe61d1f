"""The knowledge-base view: articles and their revisions, search and suggestions, usage.

Searching reads only published revisions; requesters get public articles (not templates).
PostgreSQL ranks with tsvectors (russian configuration: Russian words by the Russian Snowball
stemmer, Latin ones by the English); SQLite with FTS5 over the same Snowball stems. Titles weigh
more than texts on both. Suggestions rank across every category: the chosen category multiplies
an article's score by `BOOST`, it does not filter (docs/performance.md: the relevance figures).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

import orjson

from domain.article import Article, Audience, Content, Kind
from domain.ticket import Ticket
from projections.base import View, on
from projections.db import Tx
from projections.search import _WORD, STOPWORDS, stem, stemmed


def _content(c: Content) -> str:
    return orjson.dumps(asdict(c), default=str).decode()


def _title(data: dict[str, Any]) -> str:
    return "\n".join([data.get("title_ru", ""), data.get("title_en", "")])


def _body(data: dict[str, Any]) -> str:
    """The texts, tags and references of a revision (its stored JSON)."""
    refs = " ".join(
        f"{r.get('name', '')} {r.get('clause', '')}" for r in data.get("references", [])
    )
    return "\n".join([data.get("body_ru", ""), data.get("body_en", ""),
                      " ".join(data.get("tags", [])), refs])  # fmt: skip


class KnowledgeView(View):
    name = "knowledge"
    tables = ("v_articles", "v_article_revisions", "v_article_categories", "v_articles_fts")
    shape = 2  # 2: titles weigh more (tsvector weight A; an FTS5 column of their own)

    def ddl(self, dialect: str) -> list[str]:
        doc = ", doc TSVECTOR" if dialect == "postgres" else ""
        statements = [
            "CREATE TABLE IF NOT EXISTS v_articles (id TEXT PRIMARY KEY, n BIGINT NOT NULL,"
            " kind TEXT NOT NULL, stage TEXT NOT NULL, revision INTEGER NOT NULL,"
            " published_revision INTEGER NOT NULL, audience TEXT, title TEXT NOT NULL,"
            " published TEXT, gap_id TEXT, helped BIGINT NOT NULL, used_in_replies BIGINT NOT NULL,"
            f" used_in_requests BIGINT NOT NULL, updated_at TEXT NOT NULL{doc})",
            "CREATE UNIQUE INDEX IF NOT EXISTS v_articles_n ON v_articles (n)",
            "CREATE INDEX IF NOT EXISTS v_articles_gap ON v_articles (gap_id)",
            "CREATE TABLE IF NOT EXISTS v_article_revisions (article_id TEXT NOT NULL,"
            " revision INTEGER NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL,"
            " content TEXT NOT NULL, note TEXT NOT NULL, PRIMARY KEY (article_id, revision))",
            "CREATE TABLE IF NOT EXISTS v_article_categories (article_id TEXT NOT NULL,"
            " category_id TEXT NOT NULL, n BIGINT NOT NULL,"
            " PRIMARY KEY (category_id, article_id))",
            "CREATE INDEX IF NOT EXISTS v_article_categories_n"
            " ON v_article_categories (category_id, n)",
        ]
        if dialect == "postgres":
            return [
                *statements,
                "CREATE INDEX IF NOT EXISTS v_articles_doc ON v_articles USING GIN (doc)",
                "CREATE TABLE IF NOT EXISTS v_articles_fts (unused INT)",
            ]
        return [
            *statements,
            "CREATE VIRTUAL TABLE IF NOT EXISTS v_articles_fts USING fts5"
            " (title, body, tokenize = 'unicode61 remove_diacritics 0')",
        ]

    @on(Article.Drafted)
    def drafted(self, tx: Tx, e: Article.Drafted, position: int) -> None:
        c = e.content
        tx.execute(
            "INSERT INTO v_articles (id, n, kind, stage, revision, published_revision, audience,"
            " title, published, gap_id, helped, used_in_replies, used_in_requests, updated_at)"
            " VALUES (%s, %s, %s, 'draft', 1, 0, NULL, %s, NULL, %s, 0, 0, 0, %s)",
            (
                str(e.originator_id),
                position,
                e.kind.value,
                c.title_ru or c.title_en,
                str(e.gap_id) if e.gap_id else None,
                e.timestamp.isoformat(),
            ),
        )
        self._revision(tx, e, 1, c, "")

    @on(Article.Revised)
    def revised(self, tx: Tx, e: Article.Revised, position: int) -> None:
        self._revision(tx, e, e.revision, e.content, e.note)
        tx.execute(
            "UPDATE v_articles SET revision = %s, stage = 'draft', title = %s,"
            " updated_at = %s WHERE id = %s",
            (
                e.revision,
                e.content.title_ru or e.content.title_en,
                e.timestamp.isoformat(),
                str(e.originator_id),
            ),
        )

    def _revision(self, tx: Tx, e: Any, revision: int, c: Content, note: str) -> None:
        tx.execute(
            "INSERT INTO v_article_revisions (article_id, revision, author, at, content,"
            " note) VALUES (%s, %s, %s, %s, %s, %s)",
            (str(e.originator_id), revision, str(e.by), e.timestamp.isoformat(), _content(c), note),
        )

    @on(Article.SubmittedForReview, Article.Approved, Article.SentBack, Article.Archived)
    def staged(self, tx: Tx, e: Any, position: int) -> None:
        stage = {
            "SubmittedForReview": "in_review",
            "Approved": "approved",
            "SentBack": "draft",
            "Archived": "archived",
        }[type(e).__name__]
        tx.execute(
            "UPDATE v_articles SET stage = %s, updated_at = %s WHERE id = %s",
            (stage, e.timestamp.isoformat(), str(e.originator_id)),
        )

    @on(Article.Published, Article.SelfPublished)
    def published(self, tx: Tx, e: Article.Published, position: int) -> None:
        """Published after a review, or by its methodologist alone (`SelfPublished`)."""
        article_id = str(e.originator_id)
        row = tx.one(
            "SELECT content FROM v_article_revisions WHERE article_id = %s AND revision = %s",
            (article_id, e.revision),
        )
        n = tx.one("SELECT n FROM v_articles WHERE id = %s", (article_id,))
        assert row is not None and n is not None
        data = orjson.loads(row[0])
        title, body = _title(data), _body(data)
        tx.execute(
            "UPDATE v_articles SET stage = 'published', published_revision = %s,"
            " audience = %s, published = %s, updated_at = %s WHERE id = %s",
            (e.revision, data["audience"], row[0], e.timestamp.isoformat(), article_id),
        )
        tx.execute("DELETE FROM v_article_categories WHERE article_id = %s", (article_id,))
        tx.executemany(
            "INSERT INTO v_article_categories (article_id, category_id, n) VALUES (%s, %s, %s)",
            [(article_id, c, n[0]) for c in dict.fromkeys(data.get("category_ids", []))],
        )
        if tx.dialect == "postgres":
            tx.execute(
                "UPDATE v_articles SET doc = setweight(to_tsvector('russian', %s), 'A')"
                " || to_tsvector('russian', %s) WHERE id = %s",
                (title, body, article_id),
            )
        else:
            tx.execute("DELETE FROM v_articles_fts WHERE rowid = %s", (n[0],))
            tx.execute(
                "INSERT INTO v_articles_fts (rowid, title, body) VALUES (%s, %s, %s)",
                (n[0], stemmed(title), stemmed(body)),
            )

    @on(Article.Helped)
    def helped(self, tx: Tx, e: Article.Helped, position: int) -> None:
        tx.execute(
            "UPDATE v_articles SET helped = helped + 1 WHERE id = %s", (str(e.originator_id),)
        )

    @on(Ticket.Replied, Ticket.InformationRequested)
    def used(self, tx: Tx, e: Any, position: int) -> None:
        if e.template is None:
            return
        column = "used_in_replies" if isinstance(e, Ticket.Replied) else "used_in_requests"
        tx.execute(
            f"UPDATE v_articles SET {column} = {column} + 1 WHERE id = %s",
            (str(e.template.article_id),),
        )


BOOST = 2  # an article of the chosen category: its score times this (it is not a filter)
CANDIDATES = 2000  # matches ranked per query: the newest ones, so cost stays bounded
TITLE_WEIGHT = 4.0  # SQLite's bm25 weight of a title word against a text word (PostgreSQL: A/D)
ALIAS_A = re.compile(r"\ba\.")


def query_words(text: str) -> list[str]:
    """The words a suggestion searches for: lower-cased, no stop words, each once, at most 40."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]
    return list(dict.fromkeys(words))[:40]


def suggest(
    tx: Tx,
    text: str,
    *,
    staff: bool,
    category_id: str | None = None,
    kinds: tuple[Kind, ...] = (Kind.ARTICLE,),
    limit: int = 5,
) -> list[dict[str, Any]]:
    """Published articles (or templates) matching any of the words of `text`, best first, from
    every category; those of `category_id` rank `BOOST` times higher. Requesters (`staff`
    False) are offered public articles only."""
    words = query_words(text)
    if not words:
        return []
    where = [f"a.kind IN ({', '.join(['%s'] * len(kinds))})", "a.stage = 'published'"]
    params: list[Any] = [k.value for k in kinds]
    if not staff:
        where.append("a.audience = %s")
        params.append(Audience.PUBLIC.value)
    category = category_id or None
    # SQLite: articles with all the words first. PostgreSQL cannot bound an AND search whose
    # words are common (its GIN index hands back every match), so it ranks the OR candidates.
    rows = (
        _ranked(tx, words, "all", where, params, limit, category) if tx.dialect == "sqlite" else []
    )
    if len(rows) < limit:  # then articles sharing some of the words
        seen = {r[0] for r in rows}
        more = _ranked(tx, words, "any", where, params, limit, category)
        rows += [r for r in more if r[0] not in seen][: limit - len(rows)]
    return [
        {"id": r[0], "kind": r[1], "title": r[2], "revision": r[3], "content": orjson.loads(r[4])}
        for r in rows
    ]


def _ranked(
    tx: Tx,
    words: list[str],
    mode: str,
    where: list[str],
    params: list[Any],
    limit: int,
    category: str | None,
) -> list[tuple[Any, ...]]:
    """Published articles matching all (or any) of `words`, best first: the newest CANDIDATES
    matches (on PostgreSQL with a category: the newest CANDIDATES/2 matches and the category's
    newest CANDIDATES/2, so an old article of the category is not crowded out), each scored by
    its words and boosted when it is in the category. Ranking every match of common words
    would cost O(articles). SQLite keeps the bound it had when the category filtered (FTS5
    cannot start from the category's rows: it would rank every match first)."""
    columns = "c.id, c.kind, c.title, c.published_revision, c.published"
    boost = (
        f"CASE WHEN EXISTS (SELECT 1 FROM v_article_categories ac WHERE ac.category_id = %s"
        f" AND ac.article_id = c.id) THEN {BOOST} ELSE 1 END"
    )
    if tx.dialect == "postgres":
        query = (" & " if mode == "all" else " | ").join(words)
        filters = " AND ".join(where)
        if category is None:
            return tx.all(
                f"SELECT {columns} FROM (SELECT a.*, q FROM v_articles a,"
                f" to_tsquery('russian', %s) q WHERE a.doc @@ q AND {filters}"
                f" ORDER BY a.n DESC LIMIT {CANDIDATES}) c"
                " ORDER BY ts_rank(c.doc, c.q) DESC, c.n DESC LIMIT %s",
                (query, *params, limit),
            )
        # Half the candidates from all the matches, half from the category's: as many ranked
        # as without a category. Each is scored where its document is read (once), then the
        # best `limit` are joined for their columns.
        half = CANDIDATES // 2
        in_category = boost.replace("c.id", "a.id")
        return tx.all(
            "WITH cand AS MATERIALIZED ("
            f"(SELECT a.id, a.n, ts_rank(a.doc, to_tsquery('russian', %s)) * {in_category}"
            f" AS score FROM v_articles a WHERE a.doc @@ to_tsquery('russian', %s)"
            f" AND {filters} ORDER BY a.n DESC LIMIT {half})"
            f" UNION ALL (SELECT a.id, a.n, ts_rank(a.doc, to_tsquery('russian', %s)) * {BOOST}"
            " AS score FROM (SELECT article_id FROM v_article_categories WHERE category_id = %s"
            f" ORDER BY n DESC LIMIT {half}) r JOIN v_articles a ON a.id = r.article_id"
            f" WHERE a.doc @@ to_tsquery('russian', %s) AND {filters}))"
            f" SELECT {columns} FROM (SELECT DISTINCT ON (id) id, n, score FROM cand ORDER BY id)"
            " best JOIN v_articles c ON c.id = best.id"
            " ORDER BY best.score DESC, best.n DESC LIMIT %s",
            (query, category, query, *params, query, category, query, *params, limit),
        )
    match = (" AND " if mode == "all" else " OR ").join(f'"{stem(w)}"' for w in words)
    filters = ALIAS_A.sub("c.", " AND ".join(where))
    bm25 = f"bm25(v_articles_fts, {TITLE_WEIGHT}, 1.0)"
    newest = (
        f"SELECT rowid AS n, {bm25} AS score FROM v_articles_fts WHERE v_articles_fts MATCH %s"
        f" ORDER BY rowid DESC LIMIT {CANDIDATES}"
    )
    args = [match]
    score = "f.score" + (f" * {boost}" if category is not None else "")
    return tx.all(
        f"SELECT {columns} FROM ({newest}) f JOIN v_articles c ON c.n = f.n"
        f" WHERE {filters} ORDER BY {score}, c.n DESC LIMIT %s",
        (*args, *params, *([category] if category is not None else []), limit),
    )


def usage(tx: Tx) -> list[dict[str, Any]]:
    rows = tx.all(
        "SELECT id, kind, title, helped, used_in_replies, used_in_requests FROM"
        " v_articles WHERE stage = 'published' ORDER BY"
        " helped + used_in_replies + used_in_requests DESC, n LIMIT 200"
    )
    return [
        {
            "id": r[0],
            "kind": r[1],
            "title": r[2],
            "deflections": r[3],
            "used_in_replies": r[4],
            "used_in_requests": r[5],
        }
        for r in rows
    ]


def revisions(tx: Tx, article_id: str) -> list[dict[str, Any]]:
    rows = tx.all(
        "SELECT revision, author, at, content, note FROM v_article_revisions"
        " WHERE article_id = %s ORDER BY revision",
        (article_id,),
    )
    return [
        {"revision": r[0], "author": r[1], "at": r[2], "content": orjson.loads(r[3]), "note": r[4]}
        for r in rows
    ]
