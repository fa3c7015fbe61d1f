"""Release readiness: each release of the EIS with its questions, their articles, the triggers
watched for it, the reports to read and, from release day, its live figures (web/releases_api.py,
computed by the pages' own queries in projections/releases.py). For the desk's staff only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from web.api_schema.common import AFTER, Answer, Operation, Position, in_path

Share = Annotated[float, Meta(ge=0, description="A share, as a fraction of 1.")]
Stage = Literal["draft", "in_review", "approved", "published", "archived"]


class ArticleState(Answer, kw_only=True):
    """The knowledge-base article that answers a question, as it stands now."""

    id: UUID
    title: str
    stage: Stage
    published_revision: Annotated[int, Meta(ge=0, description="0: never published.")]


class ReleaseQuestion(Answer, kw_only=True):
    id: UUID
    text: str
    keywords: list[str]
    article: ArticleState | None
    asked: Annotated[int, Meta(ge=0, description="Requests about the release that hold one of "
                                                 "its keywords.")]  # fmt: skip
    answered: Annotated[int, Meta(ge=0, description="Of those, requests its article answered "
                                                    "(linked, used as the reply's template, or "
                                                    "linked in a reply).")]  # fmt: skip
    helped: Annotated[int, Meta(ge=0, description="'This helped' on the article in the watched "
                                                  "period: requests not filed.")]  # fmt: skip


class ReleaseWatch(Answer, kw_only=True):
    rule_id: UUID
    name: Annotated[str, Meta(description="Empty when the rule was removed from the trigger "
                                          "rules since.")]  # fmt: skip
    threshold: int | None
    window_minutes: int | None
    fired: Annotated[int, Meta(ge=0, description="Firings in the watched period.")]


class Report(Answer, kw_only=True):
    label: str
    href: Annotated[str, Meta(extra_json_schema={"format": "uri-reference"})]


class Topic(Answer, kw_only=True):
    category_id: UUID | None = None  # None: all the release's requests
    requests: int
    resolved: int
    line1_resolved: int
    line1_share: Share | None


class Firing(Answer, kw_only=True):
    rule_id: UUID
    at: datetime
    count: int
    incident_id: UUID


class ReleaseLive(Answer, kw_only=True):
    """What happened from release day (UTC) to the end of the watched period."""

    total: Topic
    topics: list[Topic]
    line1_aim: Annotated[float, Meta(description="The aim for the share resolved on line 1.")]
    firings: list[Firing]
    latest: Annotated[list[UUID], Meta(description="The newest requests about it.")]


class ReleaseSummary(Answer, kw_only=True):
    id: UUID
    name: str
    day: date
    last_day: Annotated[date, Meta(description="The last watched day (UTC).")]
    components: list[str]
    category_ids: list[UUID]
    words: list[str]
    version: int
    questions: int
    requests: Annotated[int, Meta(ge=0, description="Requests about it so far.")]


class Releases(Answer, kw_only=True):
    releases: list[ReleaseSummary]
    position: Annotated[Position, Meta(description="The log position the figures include.")]


class Release(Answer, kw_only=True):
    release: ReleaseSummary
    questions: list[ReleaseQuestion]
    watches: list[ReleaseWatch]
    reports: list[Report]
    live: ReleaseLive
    position: Annotated[Position, Meta(description="The log position the figures include.")]


OPERATIONS = [
    Operation("get", "/api/v1/releases", "The releases, newest release day first (staff)",
              Releases, params=(AFTER,), refusals=(401, 403, 422)),
    Operation("get", "/api/v1/releases/{release_id}",
              "One release: its questions and their articles, its triggers, its reports and its "
              "live figures (staff; anyone else is told it does not exist)", Release,
              params=(in_path("release_id"), AFTER), refusals=(401, 404, 422)),
]  # fmt: skip
