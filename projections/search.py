"""Full-text search over tickets, Russian and English with stemming.

PostgreSQL: tsvectors with the `russian` configuration (it stems Cyrillic words with the Russian
stemmer and Latin ones with the English). SQLite: FTS5 over text stemmed here with Snowball.
Requesters search only the public text of tickets they may see; staff search everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import snowballstemmer

from domain.access import Actor
from domain.ticket import Ticket
from projections.base import View, on, select_in
from projections.db import Tx

_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]")
_RU = snowballstemmer.stemmer("russian")
_EN = snowballstemmer.stemmer("english")
# PostgreSQL's russian and english stop words: its plainto_tsquery ignores them, and so does FTS5.
_STOP = (
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее "
    "мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть "
    "был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть "
    "надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда "
    "кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас "
    "были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот "
    "через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед "
    "иногда лучше чуть том нельзя такой им более всегда конечно всю между "
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his himself "
    "she her hers herself it its itself they them their theirs themselves what which who whom "
    "this that these those am is are was were be been being have has had having do does did "
    "doing a an the and but if or because as until while of at by for with about against "
    "between into through during before after above below to from up down in out on off over "
    "under again further then once here there when where why how all any both each few more "
    "most other some such no nor not only own same so than too very s t can will just don "
    "should now"
)  # fmt: skip
STOPWORDS = frozenset(_STOP.split())


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    word = word.lower()
    return str((_RU if _CYRILLIC.search(word) else _EN).stemWord(word))


def stemmed(text: str) -> str:
    return " ".join(stem(w) for w in _WORD.findall(text))


class SearchView(View):
    """Each ticket's words, indexed as they are written: one text per event (the filing, a
    public message, an internal note) adds its own words and never makes the index read the
    ticket's earlier text again.

    PostgreSQL keeps two tsvectors per ticket, `public_doc` (what a requester may find) and
    `all_doc` (staff), each the concatenation, in event order, of `to_tsvector` of each text
    (`tsvector || tsvector` shifts the right one's positions past the left's): a reply costs
    parsing its own words and the index entries of the ticket's distinct words, not parsing the
    whole ticket again, which grew with every message (a ticket of 70 replies: 11 ms a reply).
    SQLite keeps each ticket's stemmed words (stemmed once, as written) and hands them to FTS5.
    Both are made event by event, so a rebuild in any batches equals what was built live."""

    name = "search"
    tables = ("v_search", "v_search_fts")
    shape = 2  # 2: PostgreSQL keeps no text, the tsvectors are concatenated; SQLite keeps stems

    def ddl(self, dialect: str) -> list[str]:
        if dialect == "postgres":
            return [
                "CREATE TABLE IF NOT EXISTS v_search (ticket_id TEXT PRIMARY KEY,"
                " number BIGINT NOT NULL, requester_id TEXT, organisation_id TEXT,"
                " public_doc TSVECTOR NOT NULL DEFAULT '', all_doc TSVECTOR NOT NULL DEFAULT '')",
                "CREATE INDEX IF NOT EXISTS v_search_public ON v_search USING GIN (public_doc)",
                "CREATE INDEX IF NOT EXISTS v_search_all ON v_search USING GIN (all_doc)",
                # A requester's search is limited to his own and his organisation's tickets:
                # these let PostgreSQL start from those few rows (BitmapOr) instead of
                # filtering every ticket that matches the words.
                "CREATE INDEX IF NOT EXISTS v_search_requester ON v_search (requester_id)",
                "CREATE INDEX IF NOT EXISTS v_search_org ON v_search (organisation_id)",
                "CREATE INDEX IF NOT EXISTS v_search_number ON v_search (number)",
                "CREATE TABLE IF NOT EXISTS v_search_fts (unused INTEGER)",
                # `||` of tsvectors as an aggregate: a batch's texts of one ticket, in order.
                "CREATE OR REPLACE AGGREGATE v_search_concat (tsvector)"
                " (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '')",
            ]
        return [
            "CREATE TABLE IF NOT EXISTS v_search (ticket_id TEXT PRIMARY KEY,"
            " number BIGINT NOT NULL, requester_id TEXT, organisation_id TEXT,"
            " public_text TEXT NOT NULL, internal_text TEXT NOT NULL)",  # stemmed words
            "CREATE VIRTUAL TABLE IF NOT EXISTS v_search_fts USING fts5"
            " (public, internal, tokenize = 'unicode61 remove_diacritics 0')",
        ]

    def __init__(self) -> None:
        self.begin()

    def begin(self) -> None:
        """A batch's texts are gathered per ticket, in event order, and written once (flush)."""
        self._filed: dict[str, tuple[int, str | None, str | None]] = {}
        self._added: dict[str, list[tuple[bool, str]]] = {}  # ticket -> [(public?, text)]

    def _add(self, event: Any, public: bool, text: str) -> None:
        self._added.setdefault(str(event.originator_id), []).append((public, text))

    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        ticket = str(event.originator_id)
        self._filed[ticket] = (event.number, _s(event.requester_id), _s(event.organisation_id))
        self._add(event, True, "\n".join([event.subject, event.description,
                                           *map(str, event.fields.values())]))  # fmt: skip

    @on(Ticket.Replied, Ticket.RequesterWrote, Ticket.InformationProvided)
    def public(self, tx: Tx, event: Any, position: int) -> None:
        values = getattr(event, "values", {})
        text = getattr(event, "body", "") or "\n".join([*map(str, values.values()), *event.answers])
        self._add(event, True, text)

    @on(Ticket.NoteAdded)
    def internal(self, tx: Tx, event: Ticket.NoteAdded, position: int) -> None:
        self._add(event, False, event.body)

    def flush(self, tx: Tx) -> None:
        if tx.dialect == "postgres":
            self._flush_postgres(tx)
        else:
            self._flush_sqlite(tx)
        self.begin()

    def _flush_postgres(self, tx: Tx) -> None:
        docs = {t: ([x for public, x in texts if public], [x for _, x in texts])
                for t, texts in self._added.items()}  # fmt: skip
        if new := [(t, *self._filed[t], *docs[t]) for t in self._filed]:
            tx.executemany(
                f"INSERT INTO v_search (ticket_id, number, requester_id, organisation_id,"
                f" public_doc, all_doc) VALUES (%s, %s, %s, %s, {_DOC}, {_DOC})",
                new,
            )
        if old := [(*docs[t], t) for t in docs if t not in self._filed]:
            tx.executemany(
                f"UPDATE v_search SET public_doc = public_doc || {_DOC},"
                f" all_doc = all_doc || {_DOC} WHERE ticket_id = %s",
                old,
            )

    def _flush_sqlite(self, tx: Tx) -> None:
        stems = {t: (_joined(x for public, x in texts if public),
                     _joined(x for public, x in texts if not public))
                 for t, texts in self._added.items()}  # fmt: skip
        if new := [(t, *self._filed[t], *stems[t]) for t in self._filed]:
            tx.executemany(
                "INSERT INTO v_search (ticket_id, number, requester_id, organisation_id,"
                " public_text, internal_text) VALUES (%s, %s, %s, %s, %s, %s)",
                new,
            )
        if old := [(*stems[t], t) for t in stems if t not in self._filed]:
            tx.executemany(
                "UPDATE v_search SET public_text = public_text || %s,"
                " internal_text = internal_text || %s WHERE ticket_id = %s",
                old,
            )
        tickets = list(self._added)
        if not tickets:
            return
        rows = select_in(
            tx, "SELECT number, public_text, internal_text FROM v_search WHERE ticket_id {keys}",
            tickets,
        )  # fmt: skip
        assert len(rows) == len(tickets)
        tx.executemany("DELETE FROM v_search_fts WHERE rowid = %s", [(r[0],) for r in rows])
        tx.executemany(
            "INSERT INTO v_search_fts (rowid, public, internal) VALUES (%s, %s, %s)",
            [(r[0], r[1], r[2]) for r in rows],
        )


# The tsvector of a list of texts: each text's own, concatenated in order ('' for none).
_DOC = (
    "(SELECT v_search_concat(to_tsvector('russian', x.t) ORDER BY x.n)"
    " FROM unnest(%s::text[]) WITH ORDINALITY AS x (t, n))"
)


def _joined(texts: Iterable[str]) -> str:
    """Stemmed words of each text, each text's led by a space: appended text by text, the
    stored words are the same in whatever batches the texts arrive."""
    return "".join(" " + stemmed(text) for text in texts)


def _indexed(char: str) -> bool:
    return char.isalpha() or char.isdecimal()  # "_" or "²" alone are no words to either engine


def _s(value: object) -> str | None:
    return str(value) if value else None


CANDIDATES = 2000  # the newest matches ranked per search


def search(tx: Tx, actor: Actor, query: str, limit: int = 20) -> list[tuple[str, int]]:
    """(ticket id, number) of the best matches the actor may see, best first."""
    words = _WORD.findall(query)
    if not words:
        return []
    mine = "" if actor.is_staff else " AND (s.requester_id = %s OR s.organisation_id = %s)"
    scope: tuple[Any, ...] = () if actor.is_staff else (_s(actor.id) or "-", _s(
        actor.organisation_id) or "-")  # fmt: skip
    if actor.visitor_ticket_id is not None or not (actor.is_staff or actor.id):
        return []
    if tx.dialect == "postgres":
        doc = "all_doc" if actor.is_staff else "public_doc"
        # Rank only the newest CANDIDATES matches: words common to a large share of a million
        # tickets would otherwise make every match be scored (see docs/performance.md).
        rows = tx.all(
            f"SELECT c.ticket_id, c.number FROM (SELECT s.ticket_id, s.number, s.{doc} AS doc, q"
            f" FROM v_search s, plainto_tsquery('russian', %s) q WHERE s.{doc} @@ q{mine}"
            f" ORDER BY s.number DESC LIMIT {CANDIDATES}) c"
            " ORDER BY ts_rank(c.doc, c.q) DESC, c.number DESC LIMIT %s",
            (" ".join(words), *scope, limit),
        )
        return [(r[0], r[1]) for r in rows]
    kept = [w for w in words if w.lower() not in STOPWORDS and any(map(_indexed, w))]
    if not kept:
        return []
    terms = " AND ".join(f'"{stem(w)}"' for w in kept)
    match = terms if actor.is_staff else f"public : ({terms})"
    if actor.is_staff:  # everything is theirs: rank the newest CANDIDATES matches
        rows = tx.all(
            "SELECT s.ticket_id, s.number FROM (SELECT rowid AS n, bm25(v_search_fts) AS score"
            " FROM v_search_fts WHERE v_search_fts MATCH %s ORDER BY rowid DESC"
            f" LIMIT {CANDIDATES}) f JOIN v_search s ON s.number = f.n"
            " ORDER BY f.score, s.number DESC LIMIT %s",
            (match, limit),
        )
    else:  # a requester's own and organisation's tickets, however old
        rows = tx.all(
            "SELECT s.ticket_id, s.number FROM v_search_fts f JOIN v_search s"
            f" ON s.number = f.rowid WHERE v_search_fts MATCH %s{mine}"
            " ORDER BY bm25(v_search_fts), s.number DESC LIMIT %s",
            (match, *scope, limit),
        )
    return [(r[0], r[1]) for r in rows]
