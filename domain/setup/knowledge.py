"""The knowledge base's commands: drafting, revising, review, publication and archiving (the
methodologists'), publication without a second reviewer where the desk's review rule allows it
(`SelfPublishArticle`, `SetReviewRule`), a reader's "this helped", and a knowledge gap raised by
the staff.

Each article command that a button sends names it (`action`: the JSON API's
/api/v1/kb/articles/{id}/{action} and the editor's form), so no edge keeps a table of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID, uuid4

from domain.access import Actor, Setup, TicketScope, check
from domain.access import Command as TicketPolicy
from domain.article import Article, Audience, Content, Kind, ReviewRule
from domain.category import Category
from domain.chain import ChainedAggregate
from domain.claim import Claim
from domain.errors import Conflict, DeskError, InvalidInput
from domain.results import FiledTicket, Written
from domain.setup.base import Ports, SetupCommand, changed, handles, saved
from domain.setup.documents import replaced
from domain.ticket import ACTIVE_STATUSES, Channel, LinkKind, Ticket, TicketKind
from domain.tickets.commands import who

ATTEMPTS = 5


@dataclass(frozen=True)
class DraftArticle(SetupCommand):
    """A new article or template (revision 1, a draft); `gap_id`: the knowledge gap it answers."""

    kind: Kind
    content: Content
    gap_id: UUID | None = None

    policy = Setup.DRAFT_ARTICLE


@handles(DraftArticle)
def draft_article(desk: Ports, actor: Actor, c: DraftArticle) -> Written:
    if c.gap_id is not None:
        gap = desk._get(Ticket, c.gap_id, "knowledge gap")
        if gap.kind is not TicketKind.KNOWLEDGE_GAP:
            raise InvalidInput("That request is not a knowledge gap.", ["gap"])
    return desk._written(Article.draft(who(actor), c.kind, c.content, c.gap_id))


@dataclass(frozen=True)
class ArticleCommand(SetupCommand):
    article_id: UUID


@dataclass(frozen=True)
class ArticleChange(ArticleCommand):
    """A step the article alone decides, signed by the editor (`decide` calls its method); one
    handler loads the article, lets the command decide and saves (`change_article`)."""

    def decide(self, article: Article, by: UUID) -> None:
        raise NotImplementedError


def change_article(desk: Ports, actor: Actor, c: ArticleChange) -> Written:
    return changed(desk, Article, c.article_id, "article", lambda a: c.decide(a, who(actor)))


@dataclass(frozen=True)
class ReviseArticle(ArticleChange):
    """A new revision, written against the revision its editor loaded (`based_on`); a stale one
    is refused with what changed meanwhile (StaleRevision)."""

    based_on: int
    content: Content
    note: str = ""

    policy = Setup.REVISE_ARTICLE

    def decide(self, article: Article, by: UUID) -> None:
        article.revise(by, self.based_on, self.content, self.note)


@dataclass(frozen=True)
class SubmitArticle(ArticleChange):
    policy, action = Setup.SUBMIT_ARTICLE, "submit"

    def decide(self, article: Article, by: UUID) -> None:
        article.submit(by)


@dataclass(frozen=True)
class ReviewArticle(ArticleChange):
    """A second methodologist's review of the revision in review: approved, or sent back to its
    author saying why (the two commands below)."""

    comment: str = ""

    policy = Setup.REVIEW_ARTICLE
    approves: ClassVar[bool]

    def decide(self, article: Article, by: UUID) -> None:
        article.review(by, self.approves, self.comment)


@dataclass(frozen=True)
class ApproveArticle(ReviewArticle):
    action, approves = "approve", True


@dataclass(frozen=True)
class SendBackArticle(ReviewArticle):
    action, approves = "send-back", False


@dataclass(frozen=True)
class ArchiveArticle(ArticleChange):
    reason: str = ""

    policy, action = Setup.ARCHIVE_ARTICLE, "archive"

    def decide(self, article: Article, by: UUID) -> None:
        article.archive(by, self.reason)


for _kind in (ReviseArticle, SubmitArticle, ApproveArticle, SendBackArticle, ArchiveArticle):
    handles(_kind)(change_article)


@dataclass(frozen=True)
class PublishArticle(ArticleCommand):
    """Publishes the approved revision; a knowledge gap it answers is resolved, and every request
    that raised the gap is linked to the article, all in one atomic save."""

    policy, action = Setup.PUBLISH_ARTICLE, "publish"


@handles(PublishArticle)
def publish_article(desk: Ports, actor: Actor, c: PublishArticle) -> Written:
    return _published(desk, actor, c.article_id, lambda article, by: article.publish(by))


@dataclass(frozen=True)
class SelfPublishArticle(ArticleCommand):
    """Publishes the current revision with no second reviewer, where the desk's review rule
    lets a methodologist do so (a team of one); recorded as such (`Article.SelfPublished`).
    A knowledge gap it answers is resolved as by `PublishArticle`."""

    policy, action = Setup.PUBLISH_ARTICLE, "self-publish"


@handles(SelfPublishArticle)
def self_publish_article(desk: Ports, actor: Actor, c: SelfPublishArticle) -> Written:
    rule = desk.knowledge_setup().review
    return _published(desk, actor, c.article_id, lambda a, by: a.self_publish(by, rule))


def _published(desk: Ports, actor: Actor, article_id: UUID,
               publish: Callable[[Article, UUID], None]) -> Written:  # fmt: skip
    by = who(actor)
    for _attempt in range(ATTEMPTS):
        article = desk._get(Article, article_id, "article")
        publish(article, by)
        position = saved(desk, article, *_close_gap(desk, article, by))
        if position is not None:
            return Written(article.id, position, article.version)
    raise Conflict(article_id, None, 0)


@dataclass(frozen=True)
class SetReviewRule(SetupCommand):
    """The desk's review rule: a second methodologist approves every revision (as from the
    start), or a methodologist may also publish his own unreviewed (a team of one)."""

    review: ReviewRule
    expected_version: int | None = None

    policy = Setup.KB_REVIEW_RULE


@handles(SetReviewRule)
def set_review_rule(desk: Ports, actor: Actor, c: SetReviewRule) -> Written:
    return replaced(desk, desk.knowledge_setup(), c.expected_version,
                    lambda d: d.set_review(actor.id, c.review))  # fmt: skip


def _close_gap(desk: Ports, article: Article, by: UUID) -> list[Ticket]:
    if article.gap_id is None:
        return []
    gap = desk._get(Ticket, article.gap_id, "knowledge gap")
    title = article.content.title_ru or article.content.title_en
    public = article.content.audience is Audience.PUBLIC and article.kind is Kind.ARTICLE
    raised = [desk._get(Ticket, other, "request") for other, kind in gap.links
              if kind is LinkKind.KNOWLEDGE_GAP]  # fmt: skip
    touched = []
    for ticket in [gap, *raised]:
        if article.id not in ticket.articles:
            ticket.link_article(by, article.id, article.revision, title, public)
            touched.append(ticket)
    if gap.status in ACTIVE_STATUSES:
        gap.resolve(by, f"Answered by the knowledge-base article «{title}».")
        if gap not in touched:
            touched.append(gap)
    return touched


@dataclass(frozen=True)
class MarkHelpful(ArticleCommand):
    """A reader's "this answered my question": a request deflected, counted. Anybody who may
    read the article may say so."""

    policy, action = Setup.MARK_HELPFUL, "helped"


@handles(MarkHelpful)
def mark_helpful(desk: Ports, actor: Actor, c: MarkHelpful) -> Written:
    for _attempt in range(ATTEMPTS):
        article = desk.article(actor, c.article_id)
        article.helped()
        try:
            return desk._written(article)
        except Conflict:
            continue
    raise Conflict(c.article_id, None, 0)


@dataclass(frozen=True)
class RaiseKnowledgeGap(SetupCommand):
    """The knowledge base lacks an answer: a request for the methodologists, linked both ways to
    the requests that showed the gap. Answered with a `FiledTicket` (its number)."""

    subject: str
    description: str
    methodology_group_id: UUID
    from_ticket_ids: tuple[UUID, ...] = ()
    category_id: UUID | None = None

    policy = Setup.RAISE_KNOWLEDGE_GAP


@handles(RaiseKnowledgeGap)
def raise_knowledge_gap(desk: Ports, actor: Actor, c: RaiseKnowledgeGap) -> FiledTicket:
    sources = [desk._get(Ticket, t, "request") for t in dict.fromkeys(c.from_ticket_ids)]
    for t in sources:
        check(actor, TicketPolicy.LINK, TicketScope(t.id, t.requester_id, t.organisation_id))
    category = c.category_id or (sources[0].category_id if sources else None)
    if category is None:
        raise InvalidInput("Name the category the gap is about.", ["category"])
    desk._get(Category, category, "category")
    for _attempt in range(20):
        number = desk._next_number()
        try:
            gap, fresh = _gap(desk, actor, number, c, category, sources)
        except DeskError:
            desk._give_back_number(number)  # refused: nothing was stored
            raise
        position = saved(desk, Claim.take(f"ticket:{number}", gap.id), *fresh, gap)
        if position is not None:
            return FiledTicket(gap.id, position, gap.version, number)
        # the number or a source changed meanwhile: decided again
    raise Conflict(uuid4(), None, 0)


def _gap(desk: Ports, actor: Actor, number: int, c: RaiseKnowledgeGap, category: UUID,
         sources: list[Ticket]) -> tuple[Ticket, list[ChainedAggregate]]:  # fmt: skip
    """The gap (numbered) and the current sources, linked both ways; nothing saved yet."""
    gap = Ticket.file(ticket_id=uuid4(), number=number, channel=Channel.API,
                      category_id=category, subject=c.subject, description=c.description,
                      fields={}, kind=TicketKind.KNOWLEDGE_GAP, raised_by=actor.id)  # fmt: skip
    gap.assign(actor.id, c.methodology_group_id, None)
    fresh = [desk._get(Ticket, t.id, "request") for t in sources]
    for t in fresh:
        gap.link(actor.id, t.id, LinkKind.KNOWLEDGE_GAP)
        t.link(actor.id, gap.id, LinkKind.KNOWLEDGE_GAP)
    return gap, list(fresh)
