"""Analytics for the desk's overseers: exact figures for a period split by one dimension, SVG
charts drawn on the server, the definitions of every metric, the requests behind a number, and
a CSV export. Read-only; the figures refresh live (topic `activity`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.numbers import get_decimal_symbol
from markupsafe import Markup, escape
from openpyxl import Workbook
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from projections import analytics_queries as aq
from projections import queues
from projections.db import Tx
from web.auth import services
from web.http import wait_for_views
from web.ui import i18n
from web.ui.export_cells import csv_bytes, figure_cell, text_cell
from web.ui.guard import Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.lookups import (
    account_names,
    category_names,
    group_names,
    names_for,
    organisation_names,
)
from web.ui.render import ENV, page

READERS = ("analyst", "curator", "quality", "admin", "auditor", "methodologist")
MAX_LISTED = 500
TOP = 50  # rows the figures table shows; the rest on demand (`rows=all`)
TIME = ("day", "week", "month")

# extracted for translation; shown through _()
FILTER_MESSAGES = (
    lazy("Give the period as two days, YYYY-MM-DD."),
    lazy("The period ends before it starts."),
    lazy("The period is longer than ten years."),
    lazy("Unknown dimension."),
)
AGE_LABELS = (lazy("< 1 day"), lazy("1-3 days"), lazy("3-7 days"), lazy("7-30 days"),
              lazy("> 30 days"))  # fmt: skip
DIMENSION_LABELS = {
    "day": lazy("Day"), "week": lazy("Week"), "month": lazy("Month"), "line": lazy("Line"),
    "group": lazy("Group"), "agent": lazy("Agent"), "category": lazy("Category"),
    "channel": lazy("Channel"), "organisation": lazy("Organisation"),
}  # fmt: skip
PRESETS = (lazy("This month"), lazy("This quarter"), lazy("This year"), lazy("Last year"))
CHANNEL_LABELS = {"cabinet": lazy("Cabinet"), "public_form": lazy("Public form"),
                  "api": lazy("API"), "email": lazy("E-mail"),
                  "phone": lazy("Phone")}  # fmt: skip  # as macros.html `channel` names them
DEFINITIONS = (
    (
        lazy("Requests filed"),
        lazy(
            "Requests (not knowledge gaps) filed in the period, counted by the UTC day of filing."
        ),
    ),
    (
        lazy("First response time"),
        lazy(
            "Hours from filing to the first reply, information request or resolution by staff; "
            "mean, median (midpoint of the two middle values for an even count) and p90 (nearest "
            "rank: the ceil(0.9·n)-th smallest value), over the requests answered."
        ),
    ),
    (
        lazy("Resolution time"),
        lazy(
            "Hours from filing to the standing resolution (the last, after any reopening), over "
            "the requests resolved or closed; mean, median and p90 as above."
        ),
    ),
    (
        lazy("Agent handling time"),
        lazy(
            "Hours a request was assigned to a person and not waiting for the requester's "
            "information, from filing to the standing resolution, summed over every agent who "
            "held it; over the requests resolved or closed; mean, median and p90 as above. "
            "Split by agent: each agent's own hours on the resolved requests they held."
        ),
    ),
    (
        lazy("Resolved on line 1"),
        lazy(
            "Share of resolved requests resolved on line 1: never transferred, never escalated "
            "to line 2 or 3, resolved in a line-1 group, and not linked to a mass incident "
            "(those are resolved by developers' or operations' work)."
        ),
    ),
    (
        lazy("Reopen rate"),
        lazy("Share of the requests resolved at least once that were reopened at least once."),
    ),
    (
        lazy("Information requests per request"),
        lazy("Information requests sent to requesters divided by the requests filed."),
    ),
    (
        lazy("SLA compliance"),
        lazy("Share of resolved requests that got no first-response or resolution breach alarm."),
    ),
    (
        lazy("CSI"),
        lazy(
            "Mean of the standing ratings (1-5) of resolved requests; a reopening withdraws the "
            "rating; the distribution counts each score."
        ),
    ),
    (
        lazy("Earlier ratings"),
        lazy(
            "Ratings a reopening withdrew: kept in the history and reported with their mean, not "
            "counted in CSI; replaced: those of them whose request was rated again."
        ),
    ),
    (lazy("Rating response rate"), lazy("Rated requests divided by resolved requests.")),
    (
        lazy("Backlog by age"),
        lazy("Requests of the period not resolved or closed now, by the time since filing."),
    ),
    (
        lazy("Line, group, agent"),
        lazy(
            "Where the request is now; for a resolved request, the line, group and agent that "
            "resolved it (an unassigned open request has no agent)."
        ),
    ),
)


# -- charts -----------------------------------------------------------------------------------
W, H, PAD, FOOT = 640, 200, 40, 48


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def bar_chart(title: str, bars: list[tuple[str, float]], fmt: str = "{}") -> Markup:
    """A bar chart as inline SVG: presentation attributes only (no style, no script)."""
    top = max((v for _l, v in bars), default=0) or 1
    n = max(len(bars), 1)
    step = (W - PAD) / n
    width = min(max(step * 0.7, 1), 64)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {W} {H + FOOT}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{PAD}" y1="{H}" x2="{W}" y2="{H}" stroke="#888" stroke-width="1"/>',
        f'<text x="{PAD - 4}" y="12" text-anchor="end" font-size="13" fill="#555">'
        f"{escape(fmt.format(_num(top)))}</text>",
    ]
    for i, (label, value) in enumerate(bars):
        h = (H - 16) * value / top
        x = PAD + i * step + (step - width) / 2
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(H - h)}" width="{_num(width)}" height="{_num(h)}" '
            f'fill="#3b6ea5"><title>{escape(label)}: {escape(fmt.format(_num(value)))}</title>'
            "</rect>"
        )
        if n <= 31:
            cx = _num(x + width / 2)
            parts.append(
                f'<text x="{cx}" y="{H + 14}" font-size="13" fill="#333" text-anchor="end" '
                f'transform="rotate(-35 {cx} {H + 14})">{escape(label[:16])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, points: list[tuple[str, float | None]]) -> Markup:
    """A line chart as inline SVG; points without a value break nothing (they are skipped)."""
    values = [v for _l, v in points if v is not None]
    top = max(values, default=0) or 1
    n = max(len(points) - 1, 1)
    xy = [
        (PAD + (W - PAD - 8) * i / n, H - (H - 16) * v / top)
        for i, (_l, v) in enumerate(points)
        if v is not None
    ]
    path = " ".join(f"{_num(x)},{_num(y)}" for x, y in xy)
    dots = "".join(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="#c0392b"/>' for x, y in xy)
    labels = "".join(
        f'<text x="{_num(PAD + (W - PAD - 8) * i / n)}" y="{H + 14}" font-size="13" fill="#333"'
        f' text-anchor="middle">{escape(label[-5:])}</text>'
        for i, (label, _v) in enumerate(points)
        if len(points) <= 31
    )
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {W} {H + FOOT}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<line x1="{PAD}" y1="{H}" x2="{W}" y2="{H}" stroke="#888" stroke-width="1"/>'
        f'<text x="{PAD - 4}" y="12" text-anchor="end" font-size="13" fill="#555">'
        f"{_num(top)}</text>"
        f'<polyline points="{path}" fill="none" stroke="#c0392b" stroke-width="2"/>'
        f"{dots}{labels}</svg>"
    )


# -- filters ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    by: str

    def query(self, **more: str) -> str:
        return urlencode({"from": self.start.isoformat(), "to": self.end.isoformat(),
                          "by": self.by, **more})  # fmt: skip


def presets(today: date, by: str) -> list[tuple[str, str]]:
    """The page's period links (label, query): this month, the quarter and the year so far, and
    last year: what the analytics primer reads beforehand (projections/analytics_prime.py
    `periods`). A year split by day would be a table of 365 rows: it is split by month."""
    year = today.replace(month=1, day=1)
    quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    last = year.replace(year=year.year - 1)
    long = "month" if by == "day" else by
    spans = ((today.replace(day=1), today, by), (quarter, today, by), (year, today, long),
             (last, year - timedelta(days=1), long))  # fmt: skip
    return [(str(label), Filters(a, b, dim).query())
            for label, (a, b, dim) in zip(PRESETS, spans, strict=True)]  # fmt: skip


def filters(request: Request) -> Filters:
    """The period and dimension asked for (this month by day when not given)."""
    params = request.query_params
    today = datetime.now(UTC).date()
    start = params.get("from") or today.replace(day=1).isoformat()
    end = params.get("to") or today.isoformat()
    a, b = aq.period(start[:20], end[:20])
    return Filters(a, b, aq.dimension(params.get("by", "day")[:20]))


# what the page renders: compiled by `warm`
TEMPLATES = ("base.html", "notifications/bell.html", "analytics/page.html",
             "analytics/figures.html", "analytics/figures_head.html", "analytics/row.html",
             "analytics/kb.html")  # fmt: skip


def warm() -> None:
    """What the first analytics page of a process would spend ~100 ms on (more on a loaded
    machine), done beforehand: its templates compiled, each language's catalogue compiled from
    its .po (~30 ms for Russian, shared by every page) and babel's data of the language loaded
    (~10 ms). Run by the analytics primer after its first reads (projections/analytics_prime.py,
    wired by suz/bootstrap.py)."""
    for name in TEMPLATES:
        ENV.get_template(name)
    for language in i18n.LANGUAGES:
        i18n.translations(language)
        get_decimal_symbol(Locale.parse(language))


def labels(tx: Tx, dim: str, keys: list[str]) -> dict[str, str]:
    """What each dimension value is called on the page."""
    _ = i18n.gettext
    found: dict[str, str] = {}
    if dim == "group":
        found = group_names(tx, keys)
    elif dim == "agent":
        found = account_names(tx, keys)
    elif dim == "organisation":
        found = organisation_names(tx, keys)
    elif dim == "category":
        names = category_names(tx)
        first, second = ("ru", "en") if i18n.current() == "ru" else ("en", "ru")
        found = {k: v[f"name_{first}"] or v[f"name_{second}"] for k, v in names.items()}
    elif dim == "line":
        found = {k: _("Line {n}").format(n=k) for k in keys if k}
    elif dim == "channel":
        found = {k: _(CHANNEL_LABELS[k]) for k in keys if k in CHANNEL_LABELS}
    return {k: found.get(k, k) if k else _("None") for k in keys}


@dataclass(frozen=True)
class Table:
    """How the figures table shows its rows: `order` "name" (the dimension's own order: days in
    time, lines by number, the rest by name) or "filed" (most requests first, then by name);
    `every`: all rows, else the first TOP (the rest on demand)."""

    order: str
    every: bool

    @classmethod
    def of(cls, by: str, params: Any) -> Table:
        """From the query (`order`, `rows=all`); by default days, weeks, months and lines in
        their order, other values most requests first."""
        order = params.get("order", "")
        if order not in ("name", "filed"):
            order = "name" if by in (*TIME, "line") else "filed"
        return cls(order, params.get("rows") == "all")

    def query(self, f: Filters, **more: str) -> str:
        """The page's query with this order and showing (`more` overrides)."""
        state = {"order": self.order, **({"rows": "all"} if self.every else {}), **more}
        return f.query(**{k: v for k, v in state.items() if v})


def ordered(rows: list[aq.Figures], names: dict[str, str], by: str, order: str
            ) -> list[aq.Figures]:  # fmt: skip
    """The rows in the table's order (the report gives them by key)."""
    if by in (*TIME, "line"):  # keys in their own order already (lines by number)
        by_name = list(rows)
    else:
        by_name = sorted(rows, key=lambda r: (r.key == "", names[r.key].casefold(), r.key))
    if order == "filed":
        return sorted(by_name, key=lambda r: -r.filed)  # stable: ties by name
    return by_name


def _load(request: Request, f: Filters, view: Table) -> dict[str, Any]:
    _ = i18n.gettext
    with services(request).projections.db.read() as tx:
        report = aq.report(tx, f.start, f.end, f.by)
        names = labels(tx, f.by, [r.key for r in report.rows])
    rows = ordered(report.rows, names, f.by, view.order)
    shown = rows if view.every or len(rows) <= TOP else rows[:TOP]
    filed, mean = _("Requests filed"), _("Mean resolution time, hours")
    csi, backlog = _("CSI: ratings given"), _("Backlog by age")
    means = [(names[r.key], _float(r.resolution.mean)) for r in shown]  # the table's rows
    charts = [
        (filed, bar_chart(filed, [(names[r.key], r.filed) for r in shown])),
        (mean, line_chart(mean, means) if f.by in ("day", "week", "month")
         else bar_chart(mean, [(k, v or 0.0) for k, v in means])),
        (csi, bar_chart(csi, [(str(s), report.total.ratings[s]) for s in range(1, 6)])),
        (backlog, bar_chart(backlog, [(_(label), n) for label, n in report.backlog])),
    ]  # fmt: skip
    return {"report": report, "names": names, "charts": charts, "f": f, "rows": shown,
            "count": len(rows), "top": TOP, "view": view,
            "links": {"name": view.query(f, order="name"), "filed": view.query(f, order="filed"),
                      "all": view.query(f, rows="all"), "top": view.query(f, rows="")},
            "definitions": DEFINITIONS, "dimensions": DIMENSION_LABELS}  # fmt: skip


def _float(value: Fraction | None) -> float | None:
    return float(value) if value is not None else None


def in_words(figure: Callable[..., str]) -> Callable[..., str]:
    """`figure` (aq.hours, aq.percent) with the decimal sign of the page's language: "1,25" in
    Russian; the CSV and the API keep their points. Made per page, in its language: the sign is
    looked up once (per figure it was ~4,500 locale lookups, ~20 ms, for a year by
    organisation)."""
    sign = get_decimal_symbol(i18n.locale())

    def shown(*args: Any) -> str:
        return figure(*args).replace(".", sign)

    return shown


def _template_globals() -> dict[str, Any]:
    return {"hours": in_words(aq.hours), "percent": in_words(aq.percent)}


@ui
async def analytics_page(request: Request, viewer: Viewer) -> Response:
    need(viewer, *READERS)
    await wait_for_views(request)
    part = request.query_params.get("part")
    try:
        f = filters(request)
    except aq.BadFilter as e:
        message = i18n.gettext(str(e))
        params = request.query_params
        return page(request, "analytics/page.html", 422, nav="analytics", error=message,
                    raw={"from": params.get("from", "")[:20], "to": params.get("to", "")[:20],
                         "by": params.get("by", "")[:20]},
                    dimensions=DIMENSION_LABELS, definitions=DEFINITIONS, position=0,
                    **_template_globals())  # fmt: skip
    data = await run_in_threadpool(_load, request, f, Table.of(f.by, request.query_params))
    template = "analytics/figures.html" if part == "figures" else "analytics/page.html"
    position = services(request).projections.positions.reached("analytics")
    raw = {"from": f.start.isoformat(), "to": f.end.isoformat(), "by": f.by}
    return page(request, template, nav="analytics", position=position, raw=raw,
                presets=presets(datetime.now(UTC).date(), f.by), **data,
                **_template_globals())  # fmt: skip


@ui
async def analytics_requests(request: Request, viewer: Viewer) -> Response:
    """The requests behind a number of the table: filed in the period with that value."""
    need(viewer, *READERS)
    await wait_for_views(request)
    try:
        f = filters(request)
    except aq.BadFilter as e:
        return page(request, "error.html", 422, message=i18n.gettext(str(e)), status_code=422)
    key = request.query_params.get("key")
    key = None if key is None else key[:80]

    def load() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            facts = aq.requests(tx, f.start, f.end, f.by, key)
            rows = queues.rows_in_order(tx, [x.ticket_id for x in facts[:MAX_LISTED]], None)
            label = labels(tx, f.by, [key])[key] if key is not None else ""
            return {"rows": rows, "names": names_for(tx, rows), "total": len(facts),
                    "label": label}  # fmt: skip

    data = await run_in_threadpool(load)
    return page(request, "analytics/requests.html", nav="analytics", f=f,
                dimensions=DIMENSION_LABELS, **data)  # fmt: skip


TEXT_COLUMNS = 3  # dimension, key, label: text even when they look like numbers
CSV_HEADER = (
    "dimension", "key", "label", "filed", "first_response_n", "first_response_mean_h",
    "first_response_median_h", "first_response_p90_h", "resolved", "resolution_mean_h",
    "resolution_median_h", "resolution_p90_h", "handling_mean_h", "handling_median_h",
    "handling_p90_h", "line1_resolved", "line1_share",
    "reopened", "reopen_rate", "info_requests", "info_per_request", "within_sla",
    "sla_compliance", "rated", "csi", "rating_1", "rating_2", "rating_3", "rating_4",
    "rating_5", "response_rate", "earlier_ratings", "earlier_csi", "replaced_ratings",
)  # fmt: skip


def csv_row(dim: str, label: str, r: aq.Figures) -> list[str]:
    """One row of figures; shares as fractions of 1 and hours rounded to 4 decimals."""

    def n(value: Fraction | None) -> str:
        return aq.hours(value, 4)

    fr, res, h = r.first_response, r.resolution, r.handling
    return [dim, r.key, label, str(r.filed), str(fr.count), n(fr.mean), n(fr.median),
            n(fr.p90), str(r.resolved), n(res.mean), n(res.median), n(res.p90), n(h.mean),
            n(h.median), n(h.p90), str(r.line1),
            n(r.line1_share), str(r.reopened), n(r.reopen_rate), str(r.info_requests),
            n(r.info_per_request), str(r.within_sla), n(r.sla_compliance), str(r.rated),
            n(r.csi), *(str(r.ratings[s]) for s in range(1, 6)),
            n(r.response_rate), str(r.earlier_ratings), n(r.earlier_csi),
            str(r.replaced_ratings)]  # fmt: skip


def table(request: Request, f: Filters) -> list[list[str]]:
    """The export: the header, one row per dimension value, and the period's total (`*`)."""
    with services(request).projections.db.read() as tx:
        report = aq.report(tx, f.start, f.end, f.by)
        names = labels(tx, f.by, [r.key for r in report.rows])
    total = csv_row(f.by, "total", report.total)
    total[1] = "*"  # the whole period
    return [list(CSV_HEADER), *(csv_row(f.by, names[r.key], r) for r in report.rows), total]


def xlsx(rows: list[list[str]]) -> bytes:
    """The same table as a workbook; counts and figures as numbers, keys and labels as string
    cells (never formulas, whatever they start with: web.ui.export_cells)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("analytics")
    for i, row in enumerate(rows):
        sheet.append([text_cell(sheet, c) if i == 0 or j < TEXT_COLUMNS else figure_cell(sheet, c)
                      for j, c in enumerate(row)])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip


async def _export(request: Request, viewer: Viewer, kind: str) -> Response:
    need(viewer, *READERS)
    await wait_for_views(request)
    try:
        f = filters(request)
    except aq.BadFilter as e:
        return Response(i18n.gettext(str(e)) + "\n", 422, media_type="text/plain")
    rows = await run_in_threadpool(table, request, f)
    if kind == "csv":
        body = csv_bytes(rows, TEXT_COLUMNS, i18n.current())
    else:
        body = await run_in_threadpool(xlsx, rows)
    name = f"suz-analytics-{f.by}-{f.start.isoformat()}-{f.end.isoformat()}.{kind}"
    return Response(body, media_type=MEDIA[kind],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@ui
async def analytics_csv(request: Request, viewer: Viewer) -> Response:
    return await _export(request, viewer, "csv")


@ui
async def analytics_xlsx(request: Request, viewer: Viewer) -> Response:
    return await _export(request, viewer, "xlsx")


routes = [
    Route("/analytics", analytics_page),
    Route("/analytics.csv", analytics_csv),
    Route("/analytics.xlsx", analytics_xlsx),
    Route("/analytics/requests", analytics_requests),
]
