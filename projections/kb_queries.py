"""What the knowledge-base screens read: the editor's article list and search, the queue of open
knowledge gaps with the drafts already written for them, and the knowledge base's figures (usage
to date; gaps raised, answered and how long answering took).

The time to answer a gap is defined here once (`gap_figures`); the usage API, the analytics
page and the monthly report all read it. Lists are bounded: keyset pages of `PAGE`, one IN query
for the drafts a page of gaps shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from uuid import UUID

import orjson

from domain.article import Kind, Stage
from domain.ticket import Status, TicketKind
from projections import knowledge, queues
from projections.analytics_queries import HOUR
from projections.db import Tx

STAGES = tuple(s.value for s in Stage)
KINDS = tuple(k.value for k in Kind)
TEMPLATES = (Kind.ANSWER_TEMPLATE.value, Kind.INFO_REQUEST_TEMPLATE.value)
PAGE = 50
GAP = TicketKind.KNOWLEDGE_GAP.value
ANSWERED = (Status.RESOLVED.value, Status.CLOSED.value)  # a gap in these states has its answer
TOP = 10  # articles listed by the knowledge-base figures


# -- the editor's list ------------------------------------------------------------------------
@dataclass(frozen=True)
class ListRow:
    id: str
    kind: str
    stage: str
    revision: int  # the revision shown (the latest for editors, the published one for readers)
    published_revision: int
    audience: str
    title_ru: str
    title_en: str
    updated_at: str
    author_id: str
    gap_id: str | None
    n: int


def article_rows(
    tx: Tx,
    *,
    drafts: bool,
    stage: str = "",
    kind: str = "",
    before: int | None = None,
    ids: list[str] | None = None,
) -> tuple[list[ListRow], int | None]:
    """A page of articles, newest first, and the `before` of the next page (None: last page).

    With `drafts` every article at its latest revision; otherwise published, unarchived ones at
    their published revision. `ids` (search hits) limits the page to those, in their order.
    """
    if ids is not None and not ids:
        return [], None
    revision = "a.revision" if drafts else "a.published_revision"
    where: list[str] = []
    params: list[Any] = []
    if not drafts:
        where.append("a.published_revision > 0 AND a.stage <> 'archived'")
    elif stage in STAGES:
        where.append("a.stage = %s")
        params.append(stage)
    if kind == "templates":
        where.append("a.kind IN (%s, %s)")
        params += TEMPLATES
    elif kind in KINDS:
        where.append("a.kind = %s")
        params.append(kind)
    if ids is not None:
        where.append(f"a.id IN ({', '.join(['%s'] * len(ids))})")
        params += ids
    if before is not None:
        where.append("a.n < %s")
        params.append(before)
    rows = tx.all(
        "SELECT a.id, a.kind, a.stage, r.revision, a.published_revision, r.content, a.updated_at,"
        " r.author, a.gap_id, a.n FROM v_articles a JOIN v_article_revisions r"
        f" ON r.article_id = a.id AND r.revision = {revision}"
        f" WHERE {' AND '.join(where) or 'TRUE'} ORDER BY a.n DESC LIMIT %s",
        (*params, PAGE + 1),
    )
    found = []
    for r in rows[:PAGE]:
        c = orjson.loads(r[5])
        found.append(ListRow(r[0], r[1], r[2], r[3], r[4], c.get("audience", "internal"),
                             c.get("title_ru", ""), c.get("title_en", ""), r[6], r[7], r[8],
                             r[9]))  # fmt: skip
    if ids is not None:  # search hits keep their rank
        rank = {i: k for k, i in enumerate(ids)}
        found.sort(key=lambda row: rank[row.id])
        return found, None
    return found, found[-1].n if len(rows) > PAGE else None


def search_ids(tx: Tx, text: str, *, drafts: bool, limit: int = PAGE) -> list[str]:
    """Articles matching `text`: published ones by their words (ranked, as suggestions are),
    then, for those who read drafts, unpublished ones whose latest revision contains `text`
    (titles, texts, tags; a scan of the unpublished articles only)."""
    hits = [a["id"] for a in knowledge.suggest(tx, text, staff=True, kinds=tuple(Kind),
                                                 limit=limit)]  # fmt: skip
    words = text.strip()
    if drafts and words:
        match, params = _contains(tx, words)
        rows = tx.all(
            "SELECT a.id FROM v_articles a JOIN v_article_revisions r ON r.article_id = a.id"
            f" AND r.revision = a.revision WHERE a.stage <> 'published' AND {match}"
            " ORDER BY a.n DESC LIMIT %s",
            (*params, limit),
        )
        hits += [r[0] for r in rows]
    return list(dict.fromkeys(hits))[:limit]


def _contains(tx: Tx, words: str) -> tuple[str, list[str]]:
    """A condition that the revision's content contains `words`, whatever their case."""

    def like(w: str) -> str:
        return "%" + re.sub(r"([\\%_])", r"\\\1", w) + "%"

    if tx.dialect == "postgres":
        return "r.content ILIKE %s ESCAPE '\\'", [like(words)]
    # SQLite folds the case of ASCII letters only: try the usual spellings
    spellings = [
        like(w)
        for w in dict.fromkeys(
            [words, words.lower(), words[:1].upper() + words[1:].lower(), words.upper()]
        )
    ]
    return "(" + " OR ".join(["r.content LIKE %s ESCAPE '\\'"] * len(spellings)) + ")", spellings


# -- knowledge gaps ---------------------------------------------------------------------------
def open_gaps(tx: Tx, after: int | None) -> queues.Page:
    """Open knowledge-gap requests, oldest first (keyset by number)."""
    return queues._page(tx, queues._open("kind = %s"), (GAP,), after, PAGE)


def drafts_for_gaps(tx: Tx, gap_ids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """The articles already drafted for each of these gaps (one query)."""
    wanted = sorted(set(gap_ids))
    if not wanted:
        return {}
    rows = tx.all(
        "SELECT gap_id, id, title, stage FROM v_articles"
        f" WHERE gap_id IN ({', '.join(['%s'] * len(wanted))}) ORDER BY n",
        tuple(wanted),
    )
    found: dict[str, list[dict[str, str]]] = {}
    for gap, article, title, stage in rows:
        found.setdefault(gap, []).append({"id": article, "title": title, "stage": stage})
    return found


def gap_row(tx: Tx, gap_id: str | None) -> queues.TicketRow | None:
    """The knowledge gap a new draft answers, if `gap_id` names one."""
    if not gap_id:
        return None
    try:
        UUID(gap_id)
    except ValueError:
        return None
    row = queues.ticket_row(tx, gap_id)
    return row if row is not None and row.kind == GAP else None


@dataclass(frozen=True)
class GapFigures:
    by_status: dict[str, int]  # gaps counted by their status now
    raised: int
    answered: int  # resolved or closed now
    mean_hours_to_answer: Fraction | None  # exact; None while none is answered


def gap_figures(tx: Tx, start: date | None = None, end: date | None = None) -> GapFigures:
    """The knowledge gaps raised from `start` to `end` (UTC days, both included; every gap when
    not given). A gap's time to answer runs from its raising to its last change while resolved
    or closed (its answer or its closing); the mean is exact (integer microseconds divided
    once)."""
    where, params = "kind = %s", [GAP]
    if start is not None:
        where += " AND filed_at >= %s"
        params.append(start.isoformat())
    if end is not None:
        where += " AND filed_at < %s"
        params.append((end + timedelta(days=1)).isoformat())
    rows = tx.all(
        f"SELECT status, filed_at, updated_at FROM v_tickets WHERE {where}", tuple(params)
    )
    counts: dict[str, int] = {}
    for status, _filed, _updated in rows:
        counts[status] = counts.get(status, 0) + 1
    took = [_micros(filed, updated) for status, filed, updated in rows if status in ANSWERED]
    mean = Fraction(sum(took), len(took)) / HOUR if took else None
    return GapFigures(counts, len(rows), len(took), mean)


def _micros(start: str, end: str) -> int:
    d = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


# -- the knowledge base's figures for a period ------------------------------------------------
@dataclass
class KbFigures:
    articles: list[dict[str, Any]]  # the most used, with kind, title and counts
    deflections: int  # all "helped" to date
    used_in_replies: int
    used_in_requests: int
    gaps_opened: int
    gaps_answered: int
    mean_hours_to_answer: Fraction | None


def kb_figures(tx: Tx, start: date, end: date) -> KbFigures:
    """Usage to date (the knowledge view keeps counters, not periods), and the gaps raised from
    `start` to `end` (UTC days, both included)."""
    used = knowledge.usage(tx)
    gaps = gap_figures(tx, start, end)
    counted = [a for a in used if a["deflections"] or a["used_in_replies"] or a["used_in_requests"]]
    return KbFigures(
        articles=counted[:TOP],
        deflections=sum(a["deflections"] for a in used),
        used_in_replies=sum(a["used_in_replies"] for a in used),
        used_in_requests=sum(a["used_in_requests"] for a in used),
        gaps_opened=gaps.raised,
        gaps_answered=gaps.answered,
        mean_hours_to_answer=gaps.mean_hours_to_answer,
    )


def published_templates(tx: Tx, limit: int = 200) -> list[dict[str, Any]]:
    """Answer and information-request templates with a published revision, by title: what an
    agent picks from on a request's page."""
    rows = tx.all(
        "SELECT id, title, published_revision, kind FROM v_articles WHERE kind <> %s"
        " AND stage = 'published' ORDER BY title LIMIT %s",
        (Kind.ARTICLE.value, limit),
    )
    return [{"id": r[0], "title": r[1], "revision": r[2], "kind": r[3]} for r in rows]
