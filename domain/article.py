"""The knowledge base: articles and templates, drafted, revised, reviewed and published.

Every revision is an event (author, the whole content), so any two can be compared; a revision
written against an older one is refused with what changed meanwhile.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid5

from domain.chain import ChainedAggregate
from domain.errors import DeskError, Forbidden, InvalidInput, InvalidTransition
from domain.people import clean_text
from domain.setup_document import SetupDocument


class Kind(StrEnum):
    ARTICLE = "article"
    ANSWER_TEMPLATE = "answer_template"
    INFO_REQUEST_TEMPLATE = "info_request_template"


class Audience(StrEnum):
    PUBLIC = "public"  # requesters may read it once published
    INTERNAL = "internal"


class Stage(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Reference:
    """A regulation the article rests on."""

    name: str
    clause: str = ""
    link: str = ""


@dataclass(frozen=True)
class Content:
    """What a revision says. Templates may use placeholders like {requester_name}."""

    title_ru: str
    title_en: str
    body_ru: str
    body_en: str
    audience: Audience = Audience.INTERNAL
    category_ids: tuple[UUID, ...] = ()
    tags: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    fields: tuple[str, ...] = ()  # an information-request template's fields to ask for
    questions: tuple[str, ...] = ()  # and its questions

    def checked(self, kind: Kind) -> Content:
        if not (self.title_ru.strip() or self.title_en.strip()):
            raise InvalidInput("Give the article a title (Russian or English).", ["title_ru"])
        if not (self.body_ru.strip() or self.body_en.strip()):
            raise InvalidInput("Write the article's text (Russian or English).", ["body_ru"])
        for name in ("title_ru", "title_en"):
            if len(getattr(self, name)) > 300:
                raise InvalidInput("Titles are at most 300 characters.", [name])
        for name in ("body_ru", "body_en"):
            if len(getattr(self, name)) > 100_000:
                raise InvalidInput("Texts are at most 100,000 characters.", [name])
        if kind is Kind.INFO_REQUEST_TEMPLATE and not (self.fields or self.questions):
            raise InvalidInput("An information-request template asks for fields or questions.",
                               ["fields"])  # fmt: skip
        if any(r.link and not r.link.lower().startswith(("https://", "http://"))
               for r in self.references):  # fmt: skip
            raise InvalidInput("Reference links must be web addresses.", ["references"])
        tags = tuple(dict.fromkeys(clean_text(t, "tags", max_length=50).lower() for t in self.tags))
        return Content(**{**{f.name: getattr(self, f.name) for f in fields(self)}, "tags": tags,
                          "audience": Audience(self.audience)})  # fmt: skip


def diff(old: Content, new: Content) -> list[str]:
    """A unified diff of two revisions, field by field (what a reviewer or a loser reads)."""
    lines: list[str] = []
    for f in fields(Content):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        a_text = (
            a if isinstance(a, str) else "\n".join(map(str, a)) if isinstance(a, tuple) else str(a)
        )
        b_text = (
            b if isinstance(b, str) else "\n".join(map(str, b)) if isinstance(b, tuple) else str(b)
        )
        lines += difflib.unified_diff(
            a_text.splitlines(),
            b_text.splitlines(),
            f"{f.name} (before)",
            f"{f.name} (after)",
            lineterm="",
        )
    return lines


class StaleRevision(DeskError):
    """Raised when an editor saves over a revision someone else replaced meanwhile."""

    code = "conflict"

    def __init__(self, seen: int, current: int, changes: list[str]) -> None:
        super().__init__(f"Someone saved revision {current} after the revision {seen} you edited. "
                         "Read what changed, merge your edits, and save again.")  # fmt: skip
        self.seen, self.current, self.changes = seen, current, changes


class Article(ChainedAggregate):
    """An article or template of the knowledge base."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        kind: Kind
        stage: Stage
        content: Content
        revision: int
        revision_author: UUID
        published_revision: int
        published: Content | None
        approved_by: UUID | None
        gap_id: UUID | None
        history: dict[int, Content]  # every revision, for diffs and stale-save conflicts

    class Drafted(ChainedAggregate.Created):
        by: UUID
        kind: Kind
        content: Content
        gap_id: UUID | None

        def apply(self, aggregate: Any) -> None:
            a = cast(Article, aggregate)
            a.kind, a.content, a.stage, a.revision, a.revision_author = (
                self.kind,
                self.content,
                Stage.DRAFT,
                1,
                self.by,
            )
            a.published_revision, a.published, a.approved_by = 0, None, None
            a.gap_id, a.history = self.gap_id, {1: self.content}  # fmt: skip

    @classmethod
    def draft(cls, by: UUID, kind: Kind, content: Content, gap_id: UUID | None = None) -> Article:
        return cls._start(cls.Drafted, by=by, kind=Kind(kind), content=content.checked(kind),
                          gap_id=gap_id)  # fmt: skip

    class Revised(ChainedAggregate.Event):
        by: UUID
        revision: int
        content: Content
        note: str

        def apply(self, aggregate: Any) -> None:
            a = cast(Article, aggregate)
            a.content, a.revision, a.revision_author = self.content, self.revision, self.by
            a.stage, a.approved_by = Stage.DRAFT, None
            a.history = {**a.history, self.revision: self.content}

    def revise(self, by: UUID, based_on: int, content: Content, note: str = "") -> None:
        if self.stage is Stage.ARCHIVED:
            raise InvalidTransition("This article is archived; restore it by drafting anew.")
        if based_on != self.revision:
            raise StaleRevision(based_on, self.revision, self._changes_since(based_on))
        content = content.checked(self.kind)
        if content == self.content:
            raise InvalidTransition("Nothing changed in this revision.")
        self.trigger_event(self.Revised, by=by, revision=self.revision + 1, content=content,
                           note=note.strip())  # fmt: skip

    def _changes_since(self, revision: int) -> list[str]:
        old = self.history.get(revision)
        return diff(old, self.content) if old is not None else []

    class SubmittedForReview(ChainedAggregate.Event):
        by: UUID

        def apply(self, aggregate: Any) -> None:
            cast(Article, aggregate).stage = Stage.IN_REVIEW

    def submit(self, by: UUID) -> None:
        if self.stage is not Stage.DRAFT:
            raise InvalidTransition(f"Only a draft can be submitted; this one is {self.stage}.")
        self.trigger_event(self.SubmittedForReview, by=by)

    class Approved(ChainedAggregate.Event):
        by: UUID
        revision: int
        comment: str

        def apply(self, aggregate: Any) -> None:
            a = cast(Article, aggregate)
            a.stage, a.approved_by = Stage.APPROVED, self.by

    class SentBack(ChainedAggregate.Event):
        by: UUID
        revision: int
        comment: str

        def apply(self, aggregate: Any) -> None:
            cast(Article, aggregate).stage = Stage.DRAFT

    def review(self, by: UUID, approve: bool, comment: str = "") -> None:
        if self.stage is not Stage.IN_REVIEW:
            raise InvalidTransition("Only an article submitted for review can be reviewed.")
        if by == self.revision_author:
            raise Forbidden("A second methodologist reviews: not the author of this revision.")
        if not approve and not comment.strip():
            raise InvalidInput("Say what to change when sending an article back.", ["comment"])
        event = self.Approved if approve else self.SentBack
        self.trigger_event(event, by=by, revision=self.revision, comment=comment.strip())

    class Published(ChainedAggregate.Event):
        by: UUID
        revision: int

        def apply(self, aggregate: Any) -> None:
            a = cast(Article, aggregate)
            a.stage, a.published_revision, a.published = Stage.PUBLISHED, self.revision, a.content

    def publish(self, by: UUID) -> None:
        if self.stage is not Stage.APPROVED:
            raise InvalidTransition("Only an approved revision can be published.")
        self.trigger_event(self.Published, by=by, revision=self.revision)

    class SelfPublished(Published):
        """Published with no second reviewer: the desk lets a methodologist publish a revision
        himself (`ReviewRule.SELF_PUBLISH`), and the history says so (who, when, unreviewed)."""

    def self_publish(self, by: UUID, rule: ReviewRule) -> None:
        """Publishes the current revision, a draft or one in review, that no second
        methodologist approved; only where the desk's rule allows it."""
        if rule is not ReviewRule.SELF_PUBLISH:
            raise Forbidden("This desk requires a second methodologist's review before "
                            "publication.")  # fmt: skip
        if self.stage not in (Stage.DRAFT, Stage.IN_REVIEW):
            raise InvalidTransition("Only a draft or a revision in review can be published "
                                    "without a review.")  # fmt: skip
        self.trigger_event(self.SelfPublished, by=by, revision=self.revision)

    class Archived(ChainedAggregate.Event):
        by: UUID
        reason: str

        def apply(self, aggregate: Any) -> None:
            cast(Article, aggregate).stage = Stage.ARCHIVED

    def archive(self, by: UUID, reason: str = "") -> None:
        if self.stage is Stage.ARCHIVED:
            raise InvalidTransition("This article is already archived.")
        self.trigger_event(self.Archived, by=by, reason=reason.strip())

    class Helped(ChainedAggregate.Event):
        """A requester said this article answered his question: a request not filed."""

        revision: int

        def apply(self, aggregate: Any) -> None:
            pass

    def helped(self) -> None:
        if self.published is None or self.stage is Stage.ARCHIVED:
            raise InvalidTransition("Only a published article can be marked helpful.")
        self.trigger_event(self.Helped, revision=self.published_revision)


class ReviewRule(StrEnum):
    """How the desk's knowledge base is reviewed before publication."""

    SECOND_REVIEWER = "second_reviewer"  # another methodologist approves every revision
    SELF_PUBLISH = "self_publish"  # a methodologist may also publish unreviewed (recorded)


KNOWLEDGE_SETUP_ID = uuid5(UUID("5d0c2a53-5bd1-4c39-9a57-6b2f1d8f2a11"), "suz:knowledge-setup")


class KnowledgeSetup(SetupDocument):
    """The knowledge base's set-up: its review rule (a second reviewer until changed)."""

    FIXED_ID = KNOWLEDGE_SETUP_ID

    if TYPE_CHECKING:
        review: ReviewRule

    class Started(ChainedAggregate.Created):
        def apply(self, aggregate: Any) -> None:
            cast(KnowledgeSetup, aggregate).review = ReviewRule.SECOND_REVIEWER

    class ReviewRuleSet(ChainedAggregate.Event):
        by: UUID | None
        review: ReviewRule

        def apply(self, aggregate: Any) -> None:
            cast(KnowledgeSetup, aggregate).review = self.review

    def set_review(self, by: UUID | None, review: ReviewRule) -> None:
        """Sets the rule; the same rule again records nothing."""
        review = ReviewRule(review)
        if review is not self.review:
            self.trigger_event(self.ReviewRuleSet, by=by, review=review)
