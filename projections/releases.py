"""Release readiness: the view behind /releases and /api/v1/releases (domain/release.py).

Tables (the view's own; rebuilt from the log when `shape` changes):
- `v_releases`: each release as planned (scope, questions with their articles, watched rules).
- `v_release_requests`: per request what matching and the line-1 figure need: when it was
  filed (UTC), its category, its subject and description folded for matching, whether it is
  resolved and whether line 1 resolved it (the analytics' definition, docs/metrics.md: on line
  1, never transferred or escalated, not linked to a mass incident).
- `v_release_matches`: which requests are about which release (`question` = '') and which
  asked which of its questions (`question` = the question's id). A request is about a release
  when it was filed in the release's watched period and its category is one of the release's,
  or its text holds one of the release's words or one question's keywords.
- `v_release_articles`: the articles linked to a request or used as its reply's template.
- `v_release_helped`: "this helped" per article and UTC day.
- `v_release_firings`: every trigger rule's firing (a release shows its watched rules').

Everything is kept incrementally from the events: a new request is matched once against the
releases (a handful) at the end of its batch; a release planned or edited (or given a question)
is matched again against the requests of its own period from `v_release_requests`, never from
the log. A page then reads one release's rows through indexes (`live`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any
from uuid import UUID

import orjson

from domain.article import Article
from domain.incidents import MassIncident, Triggers
from domain.release import LINE1_AIM, Question, Release, Scope
from domain.ticket import Ticket, TicketKind
from projections.base import View, on, select_in
from projections.db import Tx

ARTICLE_LINK = re.compile(
    r"/(?:help|kb)/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)


def stamp(moment: datetime) -> str:
    """UTC, ISO, fixed width (as the analytics view stores it): compares as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def fold(subject: str, description: str) -> str:
    return f"{subject}\n{description}".casefold()


@dataclass
class Planned:
    """A release as the view keeps it."""

    id: str
    scope: Scope
    questions: tuple[Question, ...] = ()
    watches: tuple[str, ...] = ()
    version: int = 0
    planned_by: str = ""
    updated_at: str = ""


def _scope_json(s: Scope) -> str:
    return orjson.dumps({"name": s.name, "day": s.day.isoformat(), "components": s.components,
                         "categories": [str(c) for c in s.categories], "words": s.words,
                         "watch_days": s.watch_days}).decode()  # fmt: skip


def _scope(raw: str | bytes) -> Scope:
    d = orjson.loads(raw)
    return Scope(d["name"], date.fromisoformat(d["day"]), tuple(d["components"]),
                 tuple(UUID(c) for c in d["categories"]), tuple(d["words"]),
                 int(d["watch_days"]))  # fmt: skip


def _questions_json(qs: tuple[Question, ...]) -> str:
    return orjson.dumps([{"id": str(q.id), "text": q.text, "keywords": q.keywords,
                          "article_id": str(q.article_id) if q.article_id else None,
                          "by": str(q.by) if q.by else None} for q in qs]).decode()  # fmt: skip


def _questions(raw: str | bytes) -> tuple[Question, ...]:
    return tuple(Question(UUID(q["id"]), q["text"], tuple(q["keywords"]),
                          UUID(q["article_id"]) if q["article_id"] else None,
                          UUID(q["by"]) if q["by"] else None)
                 for q in orjson.loads(raw))  # fmt: skip


@dataclass
class Req:
    """A request as the view keeps it."""

    ticket_id: str
    filed_at: str
    category_id: str
    text: str
    status: str = "open"  # open | resolved | closed
    line: int = 1
    moved: int = 0  # transferred or escalated at least once
    line1: int = 0  # resolved on line 1 (projections/analytics.py `resolved_on_line1`)
    incident: int = 0  # linked to a mass incident: the developers' or operations' work


REQ_COLUMNS = ("ticket_id", "filed_at", "category_id", "text", "status", "line", "moved", "line1",
               "incident")  # fmt: skip


def matches(r: Planned, req: Req) -> list[tuple[str, str, str]]:
    """The match rows of one request for one release: (release, question or '', ticket)."""
    starts, ends = stamp(r.scope.starts), stamp(r.scope.ends)
    if not starts <= req.filed_at < ends:
        return []
    asked = [str(q.id) for q in r.questions if q.asked_in(req.text)]
    if not asked and not r.scope.mentioned(req.category_id, req.text):
        return []
    return [(r.id, q, req.ticket_id) for q in ("", *asked)]


MOVES = (Ticket.CategoryChanged, Ticket.Transferred, Ticket.Escalated, Ticket.Resolved,
         Ticket.Reopened, Ticket.Closed)  # fmt: skip


class ReleasesView(View):
    name = "releases"
    tables = ("v_releases", "v_release_requests", "v_release_matches", "v_release_articles",
              "v_release_helped", "v_release_firings")  # fmt: skip
    shape = 2  # 2: a request linked to a mass incident is not resolved on line 1

    def __init__(self) -> None:
        self.begin()

    def begin(self) -> None:
        self._releases: dict[str, Planned] | None = None  # read once per batch, when needed
        self._changed: set[str] = set()  # releases to write
        self._rematch: set[str] = set()  # releases whose matching changed
        self._rows: dict[str, Req] = {}
        self._loaded: dict[str, Req] = {}  # stored rows read by `prefetch`, not yet changed
        self._new: set[str] = set()
        self._moved: set[str] = set()  # requests whose category changed
        self._articles: set[tuple[str, str]] = set()
        self._helped: dict[tuple[str, str], int] = {}

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_releases (id TEXT PRIMARY KEY, day TEXT NOT NULL,"
            " scope TEXT NOT NULL, questions TEXT NOT NULL, watches TEXT NOT NULL,"
            " version INTEGER NOT NULL, planned_by TEXT NOT NULL, updated_at TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_releases_day ON v_releases (day)",
            "CREATE TABLE IF NOT EXISTS v_release_requests (ticket_id TEXT PRIMARY KEY,"
            " filed_at TEXT NOT NULL, category_id TEXT NOT NULL, text TEXT NOT NULL,"
            " status TEXT NOT NULL, line INTEGER NOT NULL, moved INTEGER NOT NULL,"
            " line1 INTEGER NOT NULL, incident INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_release_requests_filed ON v_release_requests (filed_at)",
            "CREATE TABLE IF NOT EXISTS v_release_matches (release_id TEXT NOT NULL,"
            " question TEXT NOT NULL, ticket_id TEXT NOT NULL,"
            " PRIMARY KEY (release_id, question, ticket_id))",
            "CREATE INDEX IF NOT EXISTS v_release_matches_ticket ON v_release_matches (ticket_id)",
            "CREATE TABLE IF NOT EXISTS v_release_articles (ticket_id TEXT NOT NULL,"
            " article_id TEXT NOT NULL, PRIMARY KEY (ticket_id, article_id))",
            "CREATE TABLE IF NOT EXISTS v_release_helped (article_id TEXT NOT NULL,"
            " day TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (article_id, day))",
            "CREATE TABLE IF NOT EXISTS v_release_firings (position BIGINT PRIMARY KEY,"
            " rule_id TEXT NOT NULL, at TEXT NOT NULL, count INTEGER NOT NULL,"
            " incident_id TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_release_firings_rule ON v_release_firings (rule_id, at)",
        ]

    # -- releases -------------------------------------------------------------------------------
    def _all(self, tx: Tx) -> dict[str, Planned]:
        if self._releases is None:
            rows = tx.all("SELECT id, scope, questions, watches, version, planned_by, updated_at"
                          " FROM v_releases")  # fmt: skip
            self._releases = {
                str(r[0]): Planned(str(r[0]), _scope(r[1]), _questions(r[2]),
                                   tuple(orjson.loads(r[3])), int(r[4]), str(r[5]), str(r[6]))
                for r in rows
            }  # fmt: skip
        return self._releases

    def _release(self, tx: Tx, event: Any, rematch: bool) -> Planned | None:
        r = self._all(tx).get(str(event.originator_id))
        if r is not None:
            r.version, r.updated_at = event.originator_version, stamp(event.timestamp)
            self._changed.add(r.id)
            if rematch:
                self._rematch.add(r.id)
        return r

    @on(Release.Planned)
    def planned(self, tx: Tx, e: Release.Planned, position: int) -> None:
        r = Planned(str(e.originator_id), e.scope, (), (), e.originator_version, str(e.by),
                    stamp(e.timestamp))  # fmt: skip
        self._all(tx)[r.id] = r
        self._changed.add(r.id)
        self._rematch.add(r.id)

    @on(Release.Edited)
    def edited(self, tx: Tx, e: Release.Edited, position: int) -> None:
        if r := self._release(tx, e, rematch=True):
            r.scope = e.scope

    @on(Release.QuestionAdded)
    def question_added(self, tx: Tx, e: Release.QuestionAdded, position: int) -> None:
        if r := self._release(tx, e, rematch=True):
            r.questions = (*r.questions, e.question)

    @on(Release.QuestionLinked)
    def question_linked(self, tx: Tx, e: Release.QuestionLinked, position: int) -> None:
        if r := self._release(tx, e, rematch=False):
            r.questions = tuple(
                Question(q.id, q.text, q.keywords, e.article_id, q.by) if q.id == e.question_id
                else q for q in r.questions
            )  # fmt: skip

    @on(Release.WatchAdded)
    def watch_added(self, tx: Tx, e: Release.WatchAdded, position: int) -> None:
        if r := self._release(tx, e, rematch=False):
            r.watches = (*r.watches, str(e.rule_id))

    @on(Release.WatchRemoved)
    def watch_removed(self, tx: Tx, e: Release.WatchRemoved, position: int) -> None:
        if r := self._release(tx, e, rematch=False):
            r.watches = tuple(w for w in r.watches if w != str(e.rule_id))

    # -- requests -------------------------------------------------------------------------------
    @on(Ticket.Filed)
    def filed(self, tx: Tx, e: Ticket.Filed, position: int) -> None:
        if e.kind is not TicketKind.REQUEST:
            return  # knowledge gaps are staff work, not users' questions
        t = str(e.originator_id)
        self._rows[t] = Req(t, stamp(e.timestamp), str(e.category_id),
                            fold(e.subject, e.description))  # fmt: skip
        self._new.add(t)

    def _req(self, tx: Tx, ticket_id: Any) -> Req | None:
        t = str(ticket_id)
        row = self._rows.get(t)
        if row is None and t in self._loaded:
            row = self._rows[t] = self._loaded.pop(t)
        if row is None:
            raw = tx.one(f"SELECT {', '.join(REQ_COLUMNS)} FROM v_release_requests"
                         " WHERE ticket_id = %s", (t,))  # fmt: skip
            if raw is None:
                return None
            row = self._rows[t] = Req(*raw)
        return row

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """The stored rows of the requests this batch moves (not those it files), at once."""
        filed = {e.originator_id for _, e in events if isinstance(e, Ticket.Filed)}
        wanted = {str(e.originator_id) for _, e in events
                  if isinstance(e, MOVES) and e.originator_id not in filed}  # fmt: skip
        sql = f"SELECT {', '.join(REQ_COLUMNS)} FROM v_release_requests WHERE ticket_id {{keys}}"
        for raw in select_in(tx, sql, wanted):
            self._loaded[str(raw[0])] = Req(*raw)

    @on(Ticket.CategoryChanged)
    def category_changed(self, tx: Tx, e: Ticket.CategoryChanged, position: int) -> None:
        if row := self._req(tx, e.originator_id):
            row.category_id = str(e.category_id)
            self._moved.add(row.ticket_id)

    @on(Ticket.Transferred)
    def transferred(self, tx: Tx, e: Ticket.Transferred, position: int) -> None:
        if row := self._req(tx, e.originator_id):
            row.moved = 1

    @on(Ticket.Escalated)
    def escalated(self, tx: Tx, e: Ticket.Escalated, position: int) -> None:
        if row := self._req(tx, e.originator_id):
            row.moved, row.line = 1, e.to_line

    @on(Ticket.Resolved)
    def resolved(self, tx: Tx, e: Ticket.Resolved, position: int) -> None:
        if row := self._req(tx, e.originator_id):
            line1 = row.line == 1 and not row.moved and not row.incident
            row.status, row.line1 = "resolved", int(line1)

    @on(Ticket.Reopened)
    def reopened(self, tx: Tx, e: Ticket.Reopened, position: int) -> None:
        if row := self._req(tx, e.originator_id):
            row.status, row.line1 = "open", 0

    @on(Ticket.Closed)
    def closed(self, tx: Tx, e: Ticket.Closed, position: int) -> None:
        if row := self._req(tx, e.originator_id):
            row.status = "closed"

    @on(MassIncident.Linked)
    def incident_linked(self, tx: Tx, e: MassIncident.Linked, position: int) -> None:
        for ticket_id in e.ticket_ids:
            if row := self._req(tx, ticket_id):
                row.incident = 1

    @on(MassIncident.Unlinked)
    def incident_unlinked(self, tx: Tx, e: MassIncident.Unlinked, position: int) -> None:
        if row := self._req(tx, e.ticket_id):
            row.incident = 0

    # -- articles and triggers ------------------------------------------------------------------
    @on(Ticket.ArticleLinked)
    def article_linked(self, tx: Tx, e: Ticket.ArticleLinked, position: int) -> None:
        self._articles.add((str(e.originator_id), str(e.article_id)))

    @on(Ticket.Replied)
    def replied(self, tx: Tx, e: Ticket.Replied, position: int) -> None:
        """A reply written from a template, or one that links an article (/help/ID, /kb/ID)."""
        ticket = str(e.originator_id)
        if e.template is not None:
            self._articles.add((ticket, str(e.template.article_id)))
        for found in ARTICLE_LINK.findall(e.body):
            self._articles.add((ticket, found.lower()))

    @on(Article.Helped)
    def helped(self, tx: Tx, e: Article.Helped, position: int) -> None:
        key = (str(e.originator_id), e.timestamp.astimezone(UTC).date().isoformat())
        self._helped[key] = self._helped.get(key, 0) + 1

    @on(Triggers.Fired)
    def fired(self, tx: Tx, e: Triggers.Fired, position: int) -> None:
        tx.execute(
            "INSERT INTO v_release_firings (position, rule_id, at, count, incident_id)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (position) DO NOTHING",
            (position, str(e.rule_id), stamp(e.at), e.count, str(e.incident_id)),
        )

    # -- the batch's writes ---------------------------------------------------------------------
    def flush(self, tx: Tx) -> None:
        releases = self._releases or {}
        if self._changed:
            tx.executemany(
                "INSERT INTO v_releases (id, day, scope, questions, watches, version,"
                " planned_by, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET day = excluded.day, scope = excluded.scope,"
                " questions = excluded.questions, watches = excluded.watches,"
                " version = excluded.version, updated_at = excluded.updated_at",
                [(r.id, r.scope.day.isoformat(), _scope_json(r.scope), _questions_json(r.questions),
                  orjson.dumps(r.watches).decode(), r.version, r.planned_by, r.updated_at)
                 for r in (releases[i] for i in sorted(self._changed))],
            )  # fmt: skip
        if self._rows:
            tx.executemany(
                f"INSERT INTO v_release_requests ({', '.join(REQ_COLUMNS)})"
                f" VALUES ({', '.join(['%s'] * len(REQ_COLUMNS))}) ON CONFLICT (ticket_id)"
                " DO UPDATE SET category_id = excluded.category_id, status = excluded.status,"
                " line = excluded.line, moved = excluded.moved, line1 = excluded.line1,"
                " incident = excluded.incident",
                [tuple(vars(r).values()) for r in self._rows.values()],
            )
        self._match_requests(tx)
        for release_id in sorted(self._rematch):
            self._match_release(tx, releases[release_id])
        if self._articles:
            tx.executemany("INSERT INTO v_release_articles (ticket_id, article_id)"
                           " VALUES (%s, %s) ON CONFLICT (ticket_id, article_id) DO NOTHING",
                           sorted(self._articles))  # fmt: skip
        if self._helped:
            tx.executemany(
                "INSERT INTO v_release_helped (article_id, day, n) VALUES (%s, %s, %s)"
                " ON CONFLICT (article_id, day) DO UPDATE SET n = v_release_helped.n + excluded.n",
                [(a, d, n) for (a, d), n in sorted(self._helped.items())],
            )

    def _match_requests(self, tx: Tx) -> None:
        """New requests and those whose category changed, matched against every release whose
        matching did not change in this batch (those are matched again whole below)."""
        ids = sorted(self._new | self._moved)
        if not ids:
            return
        moved = sorted(self._moved - self._new)
        if moved:
            tx.executemany("DELETE FROM v_release_matches WHERE ticket_id = %s",
                           [(t,) for t in moved])  # fmt: skip
        others = [r for i, r in self._all(tx).items() if i not in self._rematch]
        rows = [m for t in ids for r in others for m in matches(r, self._rows[t])]
        if rows:
            tx.executemany("INSERT INTO v_release_matches (release_id, question, ticket_id)"
                           " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", rows)  # fmt: skip

    def _match_release(self, tx: Tx, r: Planned) -> None:
        """One release matched again against the requests of its period."""
        tx.execute("DELETE FROM v_release_matches WHERE release_id = %s", (r.id,))
        found = tx.all(
            f"SELECT {', '.join(REQ_COLUMNS)} FROM v_release_requests"
            " WHERE filed_at >= %s AND filed_at < %s",
            (stamp(r.scope.starts), stamp(r.scope.ends)),
        )
        rows = [m for raw in found for m in matches(r, Req(*raw))]
        if rows:
            tx.executemany("INSERT INTO v_release_matches (release_id, question, ticket_id)"
                           " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", rows)  # fmt: skip


# -- queries ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReleaseRow:
    id: str
    scope: Scope
    questions: tuple[Question, ...]
    watches: tuple[str, ...]
    version: int
    planned_by: str
    updated_at: str
    requests: int = 0  # requests about it so far

    @property
    def shipped(self) -> bool:
        return datetime.now(UTC) >= self.scope.starts


_RELEASE = "SELECT id, scope, questions, watches, version, planned_by, updated_at FROM v_releases"


def _row(r: Any, requests: int = 0) -> ReleaseRow:
    return ReleaseRow(str(r[0]), _scope(r[1]), _questions(r[2]), tuple(orjson.loads(r[3])),
                      int(r[4]), str(r[5]), str(r[6]), requests)  # fmt: skip


def _counts(tx: Tx, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    return {str(i): int(n) for i, n in tx.all(
        "SELECT release_id, count(*) FROM v_release_matches WHERE question = ''"
        f" AND release_id IN ({marks}) GROUP BY release_id", ids)}  # fmt: skip


def releases(tx: Tx, limit: int = 100) -> list[ReleaseRow]:
    """The newest releases by release day, each with its count of requests so far."""
    rows = tx.all(f"{_RELEASE} ORDER BY day DESC, id LIMIT %s", (limit,))
    counts = _counts(tx, [str(r[0]) for r in rows])
    return [_row(r, counts.get(str(r[0]), 0)) for r in rows]


def release(tx: Tx, release_id: str) -> ReleaseRow | None:
    r = tx.one(f"{_RELEASE} WHERE id = %s", (release_id,))
    return _row(r, _counts(tx, [release_id]).get(release_id, 0)) if r else None


@dataclass(frozen=True)
class Topic:
    """The requests about the release in one category (key '' for all of them)."""

    key: str
    requests: int
    resolved: int
    line1: int

    @property
    def line1_share(self) -> Fraction | None:
        return Fraction(self.line1, self.resolved) if self.resolved else None

    @property
    def meets_aim(self) -> bool | None:
        share = self.line1_share
        return None if share is None else share * 100 >= LINE1_AIM


@dataclass(frozen=True)
class Asked:
    """One question's figures: requests that asked it, how many of those its article answered
    (linked or used as the reply's template), and how often the article helped on the public
    form in the period (a request not filed)."""

    question_id: str
    asked: int
    answered: int
    helped: int


@dataclass(frozen=True)
class Firing:
    rule_id: str
    at: str
    count: int
    incident_id: str


@dataclass(frozen=True)
class Live:
    total: Topic
    topics: list[Topic]  # per category, most requests first
    questions: dict[str, Asked]
    firings: list[Firing]
    latest: list[str]  # the newest requests about it (ticket ids)
    aim: int = LINE1_AIM
    fired: dict[str, int] = field(default_factory=dict)  # per watched rule: its firings


def live(tx: Tx, r: ReleaseRow, latest: int = 20) -> Live:
    """What has happened since release day, read from the view's indexed rows."""
    rid = r.id
    topics = [Topic(str(k), int(n), int(s or 0), int(o or 0)) for k, n, s, o in tx.all(
        "SELECT q.category_id, count(*), sum(CASE WHEN q.status = 'open' THEN 0 ELSE 1 END),"
        " sum(q.line1) FROM v_release_matches m JOIN v_release_requests q"
        " ON q.ticket_id = m.ticket_id WHERE m.release_id = %s AND m.question = ''"
        " GROUP BY q.category_id", (rid,))]  # fmt: skip
    topics.sort(key=lambda t: (-t.requests, t.key))
    total = Topic("", sum(t.requests for t in topics), sum(t.resolved for t in topics),
                  sum(t.line1 for t in topics))  # fmt: skip
    asked = {str(q): int(n) for q, n in tx.all(
        "SELECT question, count(*) FROM v_release_matches WHERE release_id = %s"
        " AND question <> '' GROUP BY question", (rid,))}  # fmt: skip
    articles = {str(q.id): str(q.article_id) for q in r.questions if q.article_id}
    answered: dict[str, int] = {}
    for q, a, n in tx.all(
        "SELECT m.question, x.article_id, count(*) FROM v_release_matches m"
        " JOIN v_release_articles x ON x.ticket_id = m.ticket_id"
        " WHERE m.release_id = %s AND m.question <> '' GROUP BY m.question, x.article_id",
        (rid,),
    ):
        if articles.get(str(q)) == str(a):
            answered[str(q)] = int(n)
    helped = _helped(tx, sorted(set(articles.values())), r.scope)
    questions = {str(q.id): Asked(str(q.id), asked.get(str(q.id), 0), answered.get(str(q.id), 0),
                                  helped.get(articles.get(str(q.id), ""), 0))
                 for q in r.questions}  # fmt: skip
    firings = _firings(tx, list(r.watches), r.scope)
    fired: dict[str, int] = {}
    for f in firings:
        fired[f.rule_id] = fired.get(f.rule_id, 0) + 1
    newest = [str(t) for (t,) in tx.all(
        "SELECT m.ticket_id FROM v_release_matches m JOIN v_release_requests q"
        " ON q.ticket_id = m.ticket_id WHERE m.release_id = %s AND m.question = ''"
        " ORDER BY q.filed_at DESC LIMIT %s", (rid, latest))]  # fmt: skip
    return Live(total, topics, questions, firings, newest, LINE1_AIM, fired)


def _helped(tx: Tx, articles: list[str], scope: Scope) -> dict[str, int]:
    if not articles:
        return {}
    marks = ", ".join(["%s"] * len(articles))
    return {str(a): int(n) for a, n in tx.all(
        f"SELECT article_id, sum(n) FROM v_release_helped WHERE article_id IN ({marks})"
        " AND day >= %s AND day <= %s GROUP BY article_id",
        (*articles, scope.day.isoformat(), scope.last_day.isoformat()))}  # fmt: skip


def _firings(tx: Tx, rules: Iterable[str], scope: Scope, limit: int = 50) -> list[Firing]:
    ids = list(rules)
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    return [Firing(str(r), str(a), int(c), str(i)) for r, a, c, i in tx.all(
        f"SELECT rule_id, at, count, incident_id FROM v_release_firings WHERE rule_id IN ({marks})"
        " AND at >= %s AND at < %s ORDER BY position DESC LIMIT %s",
        (*ids, stamp(scope.starts), stamp(scope.ends), limit))]  # fmt: skip
