"""The overseers' figures (web/analytics_api.py): the analytics page's report and the quality
roll-ups as JSON, computed by the same queries as the pages (projections/analytics_queries.py,
projections/quality.py); docs/metrics.md defines each figure."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from web.api_schema.common import AFTER, Answer, Operation, Position, in_query

Dimension = Literal["day", "week", "month", "line", "group", "agent", "category", "channel",
                    "organisation"]  # fmt: skip
Hours = Annotated[float, Meta(description="Hours (the exact figure as a float).")]
Share = Annotated[float, Meta(ge=0, description="A share, as a fraction of 1.")]
Ratio = Annotated[float, Meta(ge=0)]
RATINGS = "How many ratings of 1, 2, 3, 4 and 5."


class Durations(Answer, kw_only=True):
    """Durations in hours over `count` requests: mean, median (midpoint of the two middle values
    for an even count) and p90 (nearest rank); null when there is none."""

    count: int
    mean: Hours | None
    median: Hours | None
    p90: Hours | None


class Figures(Answer, kw_only=True):
    """The figures of one value of the dimension (or of the whole period)."""

    key: Annotated[str, Meta(description="The dimension's value (an id, a day, a line's "
                                         "number, a channel); empty: none (the total, or "
                                         "requests without one).")]  # fmt: skip
    label: Annotated[str, Meta(description="What the page calls it, in the caller's language.")]
    filed: int
    first_response: Durations
    resolution: Durations
    handling: Durations
    resolved: int
    line1_resolved: int
    line1_share: Share | None
    reopened: int
    ever_resolved: int
    reopen_rate: Share | None
    info_requests: int
    info_per_request: Ratio | None
    within_sla: int
    sla_compliance: Share | None
    rated: int
    csi: Annotated[float, Meta(ge=1, le=5)] | None
    ratings: Annotated[list[int], Meta(min_length=5, max_length=5, description=RATINGS)]
    response_rate: Share | None
    earlier_ratings: Annotated[
        int,
        Meta(description="Ratings a reopening withdrew (kept in the history, not counted in csi)."),
    ]
    earlier_csi: Annotated[float, Meta(ge=1, le=5)] | None
    replaced_ratings: Annotated[
        int, Meta(description="Those earlier ratings whose request was rated again.")
    ]


class BacklogBucket(Answer, kw_only=True):
    age: Literal["< 1 day", "1-3 days", "3-7 days", "7-30 days", "> 30 days"]
    count: int


class AnalyticsReport(Answer, kw_only=True):
    """The figures of the requests filed in the period (UTC days, both included), one row per
    value of the dimension and the period's total, and the backlog by age now."""

    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    by: Dimension
    position: Annotated[Position, Meta(description="The log position the figures include.")]
    rows: list[Figures]
    total: Figures
    backlog: list[BacklogBucket]


class QualityRollup(Answer, kw_only=True):
    key: Annotated[str | None, Meta(description="The agent's or group's id (null: none).")]
    label: str
    points: int
    max_points: int
    reviews: int
    share: Annotated[Share, Meta(description="Summed points over summed maxima (0 without).")]


class QualityRollups(Answer, kw_only=True):
    """The quality reviews' scores summed per resolving agent and per group."""

    agents: list[QualityRollup]
    groups: list[QualityRollup]
    position: Annotated[Position, Meta(description="The log position the figures include.")]


OPERATIONS = [
    Operation("get", "/api/v1/analytics",
              "The analytics page's figures for a period split by one dimension (analysts, "
              "curators, quality reviewers, methodologists, auditors, administrators)",
              AnalyticsReport,
              params=(in_query("from", date, "The period's first day (UTC); default: the first "
                               "of this month."),
                      in_query("to", date, "The period's last day (UTC); default: today."),
                      in_query("by", Dimension, "The dimension (default: day)."), AFTER),
              refusals=(401, 403, 422)),
    Operation("get", "/api/v1/analytics/quality",
              "The quality roll-ups per agent and per group (quality reviewers, curators, "
              "administrators)", QualityRollups, params=(AFTER,), refusals=(401, 403, 422)),
]  # fmt: skip
