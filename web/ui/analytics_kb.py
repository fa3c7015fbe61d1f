"""Knowledge-base figures for the analytics page and the monthly report: the most used articles
and templates (to date), deflections ("this answered my question" on the public form), and the
knowledge gaps raised in the period, answered, and how long answering took.

Article usage comes from the knowledge view's counters (projections/knowledge.py `usage`: they
are kept since the first event, not per period); gaps from the tickets view, selected by the UTC
day they were raised, like requests. docs/metrics.md defines each figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from projections import analytics_queries as aq
from projections import knowledge
from projections.db import Tx
from web.auth import services
from web.http import wait_for_views
from web.ui import i18n
from web.ui.analytics_pages import READERS, filters
from web.ui.guard import Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.render import page

TOP = 10
KIND_LABELS = {"article": lazy("Article"), "answer_template": lazy("Answer template"),
               "info_request_template": lazy("Information request template")}  # fmt: skip
DEFINITIONS = (
    (
        lazy("Article usage"),
        lazy(
            "For each published article or template, to date: replies and information requests "
            "written from it, and the times it helped; the most used first (at most ten)."
        ),
    ),
    (
        lazy("Deflections"),
        lazy(
            "Times a reader of the public form said an article answered the question (the "
            "button on the article): a request not filed; counted to date."
        ),
    ),
    (
        lazy("Knowledge gaps"),
        lazy(
            "Gaps raised by staff on a UTC day of the period; answered: those resolved or closed "
            "now; time to answer: mean hours from raising to the gap's last change while "
            "resolved (its answer or closing)."
        ),
    ),
)


@dataclass
class KbFigures:
    articles: list[dict[str, Any]]  # the most used, with kind, title and counts
    deflections: int  # all "helped" to date
    used_in_replies: int
    used_in_requests: int
    gaps_opened: int
    gaps_answered: int
    mean_hours_to_answer: Fraction | None


def _micros(a: str, b: str) -> int:
    d = datetime.fromisoformat(b) - datetime.fromisoformat(a)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def kb_figures(tx: Tx, start: date, end: date) -> KbFigures:
    """Usage to date, and the gaps raised from `start` to `end` (UTC days, both included)."""
    used = knowledge.usage(tx)
    gaps = tx.all(
        "SELECT status, filed_at, updated_at FROM v_tickets WHERE kind = 'knowledge_gap'"
        " AND filed_at >= %s AND filed_at < %s",
        (start.isoformat(), (end + timedelta(days=1)).isoformat()),
    )
    took = [_micros(f, u) for s, f, u in gaps if s in ("resolved", "closed")]
    counted = [a for a in used if a["deflections"] or a["used_in_replies"] or a["used_in_requests"]]
    return KbFigures(
        articles=counted[:TOP],
        deflections=sum(a["deflections"] for a in used),
        used_in_replies=sum(a["used_in_replies"] for a in used),
        used_in_requests=sum(a["used_in_requests"] for a in used),
        gaps_opened=len(gaps),
        gaps_answered=len(took),
        mean_hours_to_answer=Fraction(sum(took), len(took)) / aq.HOUR if took else None,
    )


@ui
async def analytics_kb(request: Request, viewer: Viewer) -> Response:
    """The analytics page's knowledge-base section (a fragment, refreshed live)."""
    need(viewer, *READERS)
    await wait_for_views(request)
    try:
        f = filters(request)
    except aq.BadFilter as e:
        return page(request, "error.html", 422, message=i18n.gettext(str(e)), status_code=422)

    def load() -> KbFigures:
        with services(request).projections.db.read() as tx:
            return kb_figures(tx, f.start, f.end)

    kb = await run_in_threadpool(load)
    return page(request, "analytics/kb.html", kb=kb, f=f, kinds=KIND_LABELS, hours=aq.hours,
                explain=DEFINITIONS)  # fmt: skip


routes = [Route("/analytics/kb", analytics_kb)]
