"""What the knowledge-base pages show besides the read side's lists (projections/kb_queries.py:
the article list, search, the gaps queue): who edits and who reads drafts, an article's journal,
a revision's content to and from the editor's form, and the domain's diff made readable.

Form values are turned into `Content` by the JSON API's own parser (web.kb._content), so the
pages and the API accept and refuse exactly the same content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import knowledge
from domain.article import KNOWLEDGE_SETUP_ID, Content, KnowledgeSetup
from domain.desk import Desk
from web.body import Body
from web.kb import _content as parse_content
from web.ui.guard import Viewer

EDITORS = tuple(r.value for r in knowledge.EDITORS)  # who drafts, reviews, publishes
OVERSEERS = ("curator", "auditor", "quality")  # read drafts and history, change nothing


def edits(viewer: Viewer) -> bool:
    return viewer.signed_in and viewer.has(*EDITORS)


def reads_drafts(viewer: Viewer) -> bool:
    """Editors and overseers read every revision; the other staff read published articles."""
    return viewer.signed_in and viewer.has(*EDITORS, *OVERSEERS)


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
    "SelfPublished": "self_published", "Archived": "archived",
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


@dataclass(frozen=True)
class RuleChange:
    """The review rule set by someone (None: the system or the CLI) at a moment."""

    at: datetime
    by: str | None
    review: str


def review_rule_changes(desk: Desk) -> list[RuleChange]:
    """Every change of the knowledge base's review rule, newest first, read from the log (the
    set-up document's own events: a handful)."""
    found = []
    e: Any
    for e in desk.repository.event_store.get(KNOWLEDGE_SETUP_ID, desc=True, limit=JOURNAL_EVENTS):
        if isinstance(e, KnowledgeSetup.ReviewRuleSet):
            found.append(RuleChange(e.timestamp, str(e.by) if e.by else None, e.review.value))
    return found


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
