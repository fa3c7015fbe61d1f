"""Release readiness (domain/release.py): planning a release, its questions and their articles,
and the trigger rules watched for it.

A watched trigger is a rule of the one `Triggers` document: `AddReleaseWatch` appends the rule
there and records `WatchAdded` on the release in one atomic save, so the incident process fires
it, alerts its groups and proposes an incident like any rule, and the release's page counts its
firings (projections/releases.py). Its policy line is the trigger rules' own people (analysts
and administrators): a release does not open a second way to set triggers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

from domain.access import RELEASE_PLANNERS, Actor, Setup
from domain.article import Article
from domain.category import Category
from domain.chain import check_seen
from domain.errors import Forbidden
from domain.incidents import Criteria, TriggerRule
from domain.people import Group, GroupKind
from domain.release import Question, Release, Scope
from domain.results import Written
from domain.setup.base import Ports, SetupCommand, handles

LINE1_ONLY = Forbidden("Only line 1 and the release's planners add questions.")


def _categories(desk: Ports, scope: Scope) -> None:
    for c in scope.categories:
        desk._get(Category, c, "category")


@dataclass(frozen=True)
class PlanRelease(SetupCommand):
    """A new release: its name, day, components and what marks a request as about it."""

    scope: Scope

    policy = Setup.PLAN_RELEASE


@handles(PlanRelease)
def plan_release(desk: Ports, actor: Actor, c: PlanRelease) -> Written:
    assert actor.id is not None  # the policy line is an account's own
    _categories(desk, c.scope)
    return desk._written(Release.plan(actor.id, c.scope))


@dataclass(frozen=True)
class EditRelease(SetupCommand):
    """The release's scope replaced whole, against the version the form showed (None: any)."""

    release_id: UUID
    scope: Scope
    expected_version: int | None = None

    policy = Setup.EDIT_RELEASE


@handles(EditRelease)
def edit_release(desk: Ports, actor: Actor, c: EditRelease) -> Written:
    assert actor.id is not None
    release = desk._get(Release, c.release_id, "release")
    check_seen(release, c.expected_version)
    _categories(desk, c.scope)
    release.edit(actor.id, c.scope)
    return desk._written(release)


@dataclass(frozen=True)
class AddReleaseQuestion(SetupCommand):
    """A question users will probably ask, with the keywords that find it in their requests."""

    release_id: UUID
    text: str
    keywords: tuple[str, ...]
    article_id: UUID | None = None

    policy = Setup.ADD_RELEASE_QUESTION


def _line1(desk: Ports, actor: Actor) -> bool:
    """Whether the agent works in a line-1 group."""
    return any(desk._get(Group, g, "group").kind is GroupKind.LINE_1 for g in actor.group_ids)


@handles(AddReleaseQuestion)
def add_release_question(desk: Ports, actor: Actor, c: AddReleaseQuestion) -> Written:
    assert actor.id is not None
    if not actor.has(*RELEASE_PLANNERS) and not _line1(desk, actor):
        raise LINE1_ONLY
    release = desk._get(Release, c.release_id, "release")
    if c.article_id is not None:
        desk._get(Article, c.article_id, "article")
    release.add_question(Question(uuid4(), c.text, c.keywords, c.article_id, actor.id))
    return desk._written(release)


@dataclass(frozen=True)
class LinkQuestionArticle(SetupCommand):
    """The knowledge-base article that answers a question (None: the link taken away)."""

    release_id: UUID
    question_id: UUID
    article_id: UUID | None = None

    policy = Setup.LINK_RELEASE_QUESTION


@handles(LinkQuestionArticle)
def link_question_article(desk: Ports, actor: Actor, c: LinkQuestionArticle) -> Written:
    assert actor.id is not None
    release = desk._get(Release, c.release_id, "release")
    if c.article_id is not None:
        desk._get(Article, c.article_id, "article")
    release.link_question(actor.id, c.question_id, c.article_id)
    return desk._written(release)


@dataclass(frozen=True)
class AddReleaseWatch(SetupCommand):
    """A trigger rule watched for the release: N matching requests within a window."""

    release_id: UUID
    name: str
    criteria: Criteria
    threshold: int
    window_minutes: int = 60
    groups: tuple[UUID, ...] = ()  # alerted when it fires (none: development and operations)

    policy = Setup.RELEASE_WATCHES


@handles(AddReleaseWatch)
def add_release_watch(desk: Ports, actor: Actor, c: AddReleaseWatch) -> Written:
    assert actor.id is not None
    release = desk._get(Release, c.release_id, "release")
    for g in c.groups:
        desk._get(Group, g, "group")
    if c.criteria.category_id is not None:
        desk._get(Category, c.criteria.category_id, "category")
    name = c.name.strip()
    label = f"{release.scope.name}: {name}" if name else ""  # an empty name is refused below
    rule = TriggerRule(uuid4(), label, c.criteria, c.threshold, c.window_minutes, Decimal(0),
                       c.groups)  # fmt: skip
    triggers = desk.triggers()
    triggers.change(actor.id, (*triggers.rules, rule))
    release.add_watch(actor.id, rule.id)
    position = desk._save(release, triggers)
    return Written(release.id, position, release.version)


@dataclass(frozen=True)
class RemoveReleaseWatch(SetupCommand):
    """A watched trigger rule taken off the release and out of the trigger rules."""

    release_id: UUID
    rule_id: UUID

    policy = Setup.RELEASE_WATCHES


@handles(RemoveReleaseWatch)
def remove_release_watch(desk: Ports, actor: Actor, c: RemoveReleaseWatch) -> Written:
    assert actor.id is not None
    release = desk._get(Release, c.release_id, "release")
    release.remove_watch(actor.id, c.rule_id)
    triggers = desk.triggers()
    if triggers.rule(c.rule_id) is not None:  # an administrator may have removed it already
        triggers.change(actor.id, tuple(r for r in triggers.rules if r.id != c.rule_id))
        position = desk._save(release, triggers)
    else:
        position = desk._save(release)
    return Written(release.id, position, release.version)
