"""What the knowledge-base pages show: the article list, the gaps queue, an article's journal,
a revision's content to and from the editor's form, and the domain's diff made readable.

Queries are bounded (keyset pages of 50, one IN query for the names and drafts a page shows);
form values are turned into `Content` by the JSON API's own parser (web.kb._content), so the
pages and the API accept and refuse exactly the same content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from domain.article import Content, Kind, Stage
from domain.desk import Desk
from projections import knowledge, queues
from projections.db import Tx
from web.body import Body
from web.kb import _content as parse_content
from web.ui.guard import Viewer

EDITORS = ("methodologist", "admin")  # domain.knowledge.EDITORS: who drafts, reviews, publishes
OVERSEERS = ("curator", "auditor", "quality")  # read drafts and history, change nothing
STAGES = tuple(s.value for s in Stage)
KINDS = tuple(k.value for k in Kind)
TEMPLATES = (Kind.ANSWER_TEMPLATE.value, Kind.INFO_REQUEST_TEMPLATE.value)
PAGE = 50


def edits(viewer: Viewer) -> bool:
    return viewer.signed_in and viewer.has(*EDITORS)


def reads_drafts(viewer: Viewer) -> bool:
    """Editors and overseers read every revision; the other staff read published articles."""
    return viewer.signed_in and viewer.has(*EDITORS, *OVERSEERS)


# -- the list ---------------------------------------------------------------------------------
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

        def like(w: str) -> str:
            return "%" + re.sub(r"([\\%_])", r"\\\1", w) + "%"

        if tx.dialect == "postgres":
            match, params = "r.content ILIKE %s ESCAPE '\\'", [like(words)]
        else:  # SQLite folds the case of ASCII letters only: try the usual spellings
            spellings = [
                like(w)
                for w in dict.fromkeys(
                    [words, words.lower(), words[:1].upper() + words[1:].lower(), words.upper()]
                )
            ]
            match = "(" + " OR ".join(["r.content LIKE %s ESCAPE '\\'"] * len(spellings)) + ")"
            params = spellings
        rows = tx.all(
            "SELECT a.id FROM v_articles a JOIN v_article_revisions r ON r.article_id = a.id"
            f" AND r.revision = a.revision WHERE a.stage <> 'published' AND {match}"
            " ORDER BY a.n DESC LIMIT %s",
            (*params, limit),
        )
        hits += [r[0] for r in rows]
    return list(dict.fromkeys(hits))[:limit]


# -- knowledge gaps ---------------------------------------------------------------------------
def open_gaps(tx: Tx, after: int | None) -> queues.Page:
    """Open knowledge-gap requests, oldest first (keyset by number)."""
    return queues._page(tx, queues._open("kind = %s"), ("knowledge_gap",), after, PAGE)


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
    return row if row is not None and row.kind == "knowledge_gap" else None


# -- an article's journal ---------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One thing done to an article: drafted, revised, submitted, reviewed, published..."""

    at: datetime
    by: str | None
    what: str
    revision: int | None
    text: str  # a revision's note, a reviewer's comment, an archiving reason


STEPS = {
    "Drafted": "drafted", "Revised": "revised", "SubmittedForReview": "submitted",
    "Approved": "approved", "SentBack": "sent_back", "Published": "published",
    "Archived": "archived",
}  # fmt: skip


JOURNAL_EVENTS = 500  # the newest events read; requesters' "helped" clicks are events too


def journal(desk: Desk, article_id: UUID) -> tuple[list[Step], bool]:
    """The article's newest steps, newest first, read from the log (fresh, and with the
    reviewers' comments, which no view keeps), and whether older events were left unread."""
    steps = []
    read = 0
    e: Any
    for e in desk.repository.event_store.get(article_id, desc=True, limit=JOURNAL_EVENTS):
        read += 1
        what = STEPS.get(type(e).__name__)
        if what is None:
            continue
        by = getattr(e, "by", None)
        revision = 1 if what == "drafted" else getattr(e, "revision", None)
        text = getattr(e, "note", "") or getattr(e, "comment", "") or getattr(e, "reason", "")
        steps.append(Step(e.timestamp, str(by) if by else None, what, revision, text))
    return steps, read == JOURNAL_EVENTS


# -- the editor's form ------------------------------------------------------------------------
def values_of(content: Content) -> dict[str, Any]:
    """A revision's content as the editor's form shows it."""
    return {
        "title_ru": content.title_ru, "title_en": content.title_en,
        "body_ru": content.body_ru, "body_en": content.body_en,
        "audience": content.audience.value,
        "category_ids": [str(c) for c in content.category_ids],
        "tags": ", ".join(content.tags),
        "references": "\n".join(_reference_line(r.name, r.clause, r.link)
                                for r in content.references),
        "fields": "\n".join(content.fields), "questions": "\n".join(content.questions),
        "note": "",
    }  # fmt: skip


def _reference_line(*parts: str) -> str:
    shown = list(parts)
    while shown and not shown[-1]:
        shown.pop()
    return " | ".join(shown)


def blank() -> dict[str, Any]:
    return {"title_ru": "", "title_en": "", "body_ru": "", "body_en": "", "audience": "internal",
            "category_ids": [], "tags": "", "references": "", "fields": "", "questions": "",
            "note": ""}  # fmt: skip


def values_from(form: Mapping[str, Any], category_ids: list[str]) -> dict[str, Any]:
    """The editor's form as posted, kept as typed (shown again when the save is refused)."""
    values: dict[str, Any] = {k: str(form.get(k, "") or "")[:110_000] for k in blank()
                              if k != "category_ids"}  # fmt: skip
    values["category_ids"] = [c for c in category_ids if c][:100]
    return values


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def content_of(values: Mapping[str, Any]) -> Content:
    """The form's values as a revision's content (refusals name the field at fault)."""
    references = []
    for line in _lines(values["references"]):
        name, clause, link = ([p.strip() for p in line.split("|", 2)] + ["", ""])[:3]
        references.append({"name": name, "clause": clause, "link": link})
    raw = {
        "title_ru": values["title_ru"], "title_en": values["title_en"],
        "body_ru": values["body_ru"], "body_en": values["body_en"],
        "audience": values["audience"] or "internal",
        "category_ids": list(values["category_ids"]),
        "tags": [t.strip() for t in values["tags"].split(",") if t.strip()],
        "references": references,
        "fields": _lines(values["fields"]), "questions": _lines(values["questions"]),
    }  # fmt: skip
    return parse_content(Body({"content": raw}))


# -- diffs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiffLine:
    kind: str  # field (a field's heading), hunk, ins, del, same
    text: str


def diff_lines(lines: list[str]) -> list[DiffLine]:
    """The domain's unified diff (domain.article.diff) as lines to show, read by the hunks'
    counts so that a text line starting with "---" is never taken for a heading."""
    shown: list[DiffLine] = []
    old = new = 0
    hunk = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
    for line in lines:
        if old > 0 or new > 0:
            mark, text = line[:1], line[1:]
            if mark == "-":
                shown.append(DiffLine("del", text))
                old -= 1
            elif mark == "+":
                shown.append(DiffLine("ins", text))
                new -= 1
            else:
                shown.append(DiffLine("same", text))
                old, new = old - 1, new - 1
            continue
        m = hunk.match(line)
        if m:
            old = int(m.group(1)) if m.group(1) is not None else 1
            new = int(m.group(2)) if m.group(2) is not None else 1
            shown.append(DiffLine("hunk", line))
        elif line.startswith("--- "):
            shown.append(DiffLine("field", line[4:].removesuffix(" (before)")))
    return shown
