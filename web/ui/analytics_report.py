"""The printable monthly report for curators: one page with the month's key figures (in total,
per line and per category), CSI, SLA compliance, the backlog, the knowledge base's figures and
the definition of every figure. Plain HTML with a print stylesheet; no script.

GET /analytics/report?month=YYYY-MM (this month when not given; a bad month answers 422).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from projections import analytics_queries as aq
from projections import kb_queries
from web.auth import services
from web.http import wait_for_views
from web.ui import analytics_kb, i18n
from web.ui.analytics_pages import DEFINITIONS, READERS, Filters, in_words, labels
from web.ui.guard import Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.render import page

MONTH = re.compile(r"(\d{4})-(\d{2})")
BAD_MONTH = lazy("Give the month as YYYY-MM, for example 2026-03.")


def month_of(text: str | None, today: date) -> tuple[date, date]:
    """The first and last day of a YYYY-MM month (this month when not given)."""
    if not text:
        first = today.replace(day=1)
    else:
        found = MONTH.fullmatch(text.strip()[:20])
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
            raise aq.BadFilter(str(BAD_MONTH))
        first = date(int(found.group(1)), int(found.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def load(request: Request, start: date, end: date) -> dict[str, Any]:
    now = datetime.now(UTC)
    with services(request).projections.db.read() as tx:
        by_line = aq.report(tx, start, end, "line", now)
        by_category = aq.report(tx, start, end, "category", now)
        line_names = labels(tx, "line", [r.key for r in by_line.rows])
        category_names = labels(tx, "category", [r.key for r in by_category.rows])
        kb = kb_queries.kb_figures(tx, start, end)
    return {"total": by_line.total, "by_line": by_line.rows, "line_names": line_names,
            "by_category": by_category.rows, "category_names": category_names,
            "backlog": by_line.backlog, "kb": kb, "generated": now}  # fmt: skip


@ui
async def monthly_report(request: Request, viewer: Viewer) -> Response:
    need(viewer, *READERS)
    await wait_for_views(request)
    try:
        start, end = month_of(request.query_params.get("month"), datetime.now(UTC).date())
    except aq.BadFilter as e:
        return page(request, "error.html", 422, message=i18n.gettext(str(e)), status_code=422)
    data = await run_in_threadpool(load, request, start, end)
    return page(request, "analytics/report.html", nav="analytics", start=start, end=end,
                month=start.isoformat()[:7], by_line_f=Filters(start, end, "line"),
                by_category_f=Filters(start, end, "category"),
                definitions=(*DEFINITIONS, *analytics_kb.DEFINITIONS),
                kinds=analytics_kb.KIND_LABELS, hours=in_words(aq.hours),
                percent=in_words(aq.percent),
                **data)  # fmt: skip


routes = [Route("/analytics/report", monthly_report)]
