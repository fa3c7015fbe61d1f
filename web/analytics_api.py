"""The overseers' figures as JSON, so reports can be built elsewhere.

GET /api/v1/analytics?from=YYYY-MM-DD&to=YYYY-MM-DD&by=DIMENSION: the analytics page's report
(web/ui/analytics_pages.py), read with the page's own parser (`filters`: its defaults, its
refusals), its query (`projections.analytics_queries.report`) and its labels, for the page's
roles. GET /api/v1/analytics/quality: the /quality page's roll-ups per agent and per group
(`projections.quality.rollups`), for that page's roles. The caller is authorised before a
parameter is read; nothing here is computed a second way (docs/api.md).
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Actor
from domain.errors import Forbidden, InvalidInput
from domain.people import Role
from projections import analytics_queries as aq
from projections import quality
from projections.catalog import account_names, group_names
from web.api_schema import analytics as schema
from web.auth import authenticate, services, signed_in
from web.http import json, wait_for_views
from web.ui import analytics_pages, i18n, quality_pages
from web.ui.i18n import lazy

NOT_OVERSEER = lazy(
    "Analytics are for analysts, curators, quality reviewers, methodologists, auditors and "
    "administrators."
)
NOT_QUALITY = lazy("The quality roll-ups are for quality reviewers, curators and administrators.")


def _reader(actor: Actor, roles: tuple[str, ...], message: str) -> None:
    if not actor.has(*(Role(r) for r in roles)):
        raise Forbidden(i18n.gettext(message))


def _language(request: Request) -> None:
    """Labels and messages in the caller's language, as the pages choose it."""
    i18n.use(i18n.choose(request.cookies.get(i18n.COOKIE),
                         request.headers.get("accept-language")))  # fmt: skip


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _durations(s: aq.Stats) -> schema.Durations:
    return schema.Durations(count=s.count, mean=_float(s.mean), median=_float(s.median),
                            p90=_float(s.p90))  # fmt: skip


def figures(f: aq.Figures, label: str) -> schema.Figures:
    """One row of the page's table as the API answers it (shares as fractions of 1)."""
    return schema.Figures(
        key=f.key,
        label=label,
        filed=f.filed,
        first_response=_durations(f.first_response),
        resolution=_durations(f.resolution),
        handling=_durations(f.handling),
        resolved=f.resolved,
        line1_resolved=f.line1,
        line1_share=_float(f.line1_share),
        reopened=f.reopened,
        ever_resolved=f.ever_resolved,
        reopen_rate=_float(f.reopen_rate),
        info_requests=f.info_requests,
        info_per_request=_float(f.info_per_request),
        within_sla=f.within_sla,
        sla_compliance=_float(f.sla_compliance),
        rated=f.rated,
        csi=_float(f.csi),
        ratings=[f.ratings[s] for s in range(1, 6)],
        response_rate=_float(f.response_rate),
        earlier_ratings=f.earlier_ratings,
        earlier_csi=_float(f.earlier_csi),
        replaced_ratings=f.replaced_ratings,
    )


def _at_fault(params: Any) -> tuple[str, ...]:
    """The parameters the page's parser refused: a day that is not one, an unknown dimension,
    or both days when the period itself is wrong (reversed, too long)."""
    days = []
    for name in ("from", "to"):
        value = params.get(name)
        try:
            if value:
                date.fromisoformat(value[:20])
        except ValueError:
            days.append(name)
    by = () if params.get("by", "day")[:20] in aq.DIMENSIONS else ("by",)
    return (*days, *by) or ("from", "to")


def _report(request: Request, f: analytics_pages.Filters) -> schema.AnalyticsReport:
    position = services(request).projections.positions.reached("analytics")
    with services(request).projections.db.read() as tx:
        report = aq.report(tx, f.start, f.end, f.by)
        names = analytics_pages.labels(tx, f.by, [r.key for r in report.rows])
    return schema.AnalyticsReport(
        start=f.start,
        end=f.end,
        by=f.by,  # type: ignore[arg-type]  # aq.dimension admits only the Literal's values
        position=position,
        rows=[figures(r, names[r.key]) for r in report.rows],
        total=figures(report.total, ""),
        backlog=[schema.BacklogBucket(age=a, count=n) for a, n in report.backlog],  # type: ignore[arg-type]
    )


async def analytics(request: Request) -> Response:
    _language(request)
    actor = signed_in(await authenticate(request))
    _reader(actor, analytics_pages.READERS, NOT_OVERSEER)
    try:
        f = analytics_pages.filters(request)
    except aq.BadFilter as e:
        raise InvalidInput(i18n.gettext(str(e)), _at_fault(request.query_params)) from None
    await wait_for_views(request)
    return json(msgspec.to_builtins(await run_in_threadpool(_report, request, f)))


def _rollups(request: Request) -> schema.QualityRollups:
    position = services(request).projections.positions.reached("quality")
    with services(request).projections.db.read() as tx:
        agents = quality.rollups(tx, "resolver_id")
        groups = quality.rollups(tx, "group_id")
        people = account_names(tx, [a.key for a in agents])
        teams = group_names(tx, [g.key for g in groups])

    def one(r: quality.Rollup, names: dict[str, str]) -> schema.QualityRollup:
        label = names.get(r.key, "—") if r.key else "—"  # as the page shows it
        return schema.QualityRollup(key=r.key, label=label, points=r.points,
                                    max_points=r.max_points, reviews=r.count,
                                    share=float(r.share))  # fmt: skip

    return schema.QualityRollups(agents=[one(a, people) for a in agents],
                                 groups=[one(g, teams) for g in groups],
                                 position=position)  # fmt: skip


async def quality_rollups(request: Request) -> Response:
    _language(request)
    actor = signed_in(await authenticate(request))
    _reader(actor, quality_pages.READERS, NOT_QUALITY)
    await wait_for_views(request)
    return json(msgspec.to_builtins(await run_in_threadpool(_rollups, request)))


routes = [
    Route("/api/v1/analytics", analytics),
    Route("/api/v1/analytics/quality", quality_rollups),
]
