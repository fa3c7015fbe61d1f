"""Knowledge-base figures for the analytics page and the monthly report: the most used articles
and templates (to date), deflections ("this answered my question" on the public form), and the
knowledge gaps raised in the period, answered, and how long answering took.

The figures are read by projections/kb_queries.py `kb_figures`: article usage from the knowledge
view's counters (kept since the first event, not per period); gaps from the tickets view,
selected by the UTC day they were raised, like requests, and timed by the same definition as the
usage API's. docs/metrics.md defines each figure.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from projections import analytics_queries as aq
from projections import kb_queries
from projections.kb_queries import KbFigures
from web.auth import services
from web.http import wait_for_views
from web.ui import i18n
from web.ui.analytics_pages import READERS, filters
from web.ui.guard import Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.render import page

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
            return kb_queries.kb_figures(tx, f.start, f.end)

    kb = await run_in_threadpool(load)
    return page(request, "analytics/kb.html", kb=kb, f=f, kinds=KIND_LABELS, hours=aq.hours,
                explain=DEFINITIONS)  # fmt: skip


routes = [Route("/analytics/kb", analytics_kb)]
