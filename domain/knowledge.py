"""The Desk's knowledge base: reading articles, templates filled in for a request, and the
knowledge-base commands by method.

A mixin of the Desk application. The commands themselves (drafting, review, publication, gaps)
are data with their handlers in domain/setup/knowledge.py; the methods here only build one and
call `Desk.handle`, which consults the policy (domain/access.py) first.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from domain.access import EDITORS as EDITORS  # who edits: the policy's, named here for the pages
from domain.access import Actor, TicketScope, may_see
from domain.article import Article, Audience, Content, Kind, KnowledgeSetup, ReviewRule, Stage
from domain.category import Category
from domain.chain import ChainedAggregate
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.people import Account
from domain.results import FiledTicket, Written
from domain.setup import knowledge as k
from domain.setup.base import SetupCommand
from domain.ticket import TemplateUse, Ticket

A = TypeVar("A", bound=ChainedAggregate)
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z0-9_]+))?\}")


class KnowledgeBase:
    """The knowledge base's reads and commands by method (mixed into Desk)."""

    if TYPE_CHECKING:
        repository: Any

        def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...
        def handle(self, actor: Actor, command: SetupCommand) -> Written: ...

    def knowledge_setup(self) -> KnowledgeSetup:
        """The knowledge base's set-up (its review rule), as stored or as it starts."""
        return KnowledgeSetup.load(self.repository)

    # -- the knowledge base's commands (domain/setup/knowledge.py) by method, for callers that
    # hold plain values; each only builds the command and calls `handle` -----------------------
    def draft_article(
        self, actor: Actor, kind: Kind, content: Content, gap_id: UUID | None = None
    ) -> Written:
        """Builds `DraftArticle` and hands it to `handle`."""
        return self.handle(actor, k.DraftArticle(kind, content, gap_id))

    def revise_article(
        self, actor: Actor, article_id: UUID, based_on: int, content: Content, note: str = ""
    ) -> Written:
        """Builds `ReviseArticle` and hands it to `handle`."""
        return self.handle(actor, k.ReviseArticle(article_id, based_on, content, note))

    def submit_article(self, actor: Actor, article_id: UUID) -> Written:
        """Builds `SubmitArticle` and hands it to `handle`."""
        return self.handle(actor, k.SubmitArticle(article_id))

    def review_article(
        self, actor: Actor, article_id: UUID, approve: bool, comment: str = ""
    ) -> Written:
        """Builds `ApproveArticle` (or `SendBackArticle`) and hands it to `handle`."""
        review = k.ApproveArticle if approve else k.SendBackArticle
        return self.handle(actor, review(article_id, comment))

    def archive_article(self, actor: Actor, article_id: UUID, reason: str = "") -> Written:
        """Builds `ArchiveArticle` and hands it to `handle`."""
        return self.handle(actor, k.ArchiveArticle(article_id, reason))

    def publish_article(self, actor: Actor, article_id: UUID) -> Written:
        """Builds `PublishArticle` and hands it to `handle`."""
        return self.handle(actor, k.PublishArticle(article_id))

    def self_publish_article(self, actor: Actor, article_id: UUID) -> Written:
        """Builds `SelfPublishArticle` and hands it to `handle`."""
        return self.handle(actor, k.SelfPublishArticle(article_id))

    def set_review_rule(self, actor: Actor, review: ReviewRule,
                        expected_version: int | None = None) -> Written:  # fmt: skip
        """Builds `SetReviewRule` and hands it to `handle`."""
        return self.handle(actor, k.SetReviewRule(review, expected_version))

    def mark_helpful(self, actor: Actor, article_id: UUID) -> Written:
        """Builds `MarkHelpful` and hands it to `handle`."""
        return self.handle(actor, k.MarkHelpful(article_id))

    def raise_knowledge_gap(self, actor: Actor, subject: str, description: str,
                            methodology_group_id: UUID, from_ticket_ids: tuple[UUID, ...] = (),
                            category_id: UUID | None = None) -> FiledTicket:  # fmt: skip
        """Builds `RaiseKnowledgeGap` and hands it to `handle` (which answers the gap's number)."""
        filed = self.handle(actor, k.RaiseKnowledgeGap(subject, description, methodology_group_id,
                                                       from_ticket_ids, category_id))  # fmt: skip
        assert isinstance(filed, FiledTicket)
        return filed

    def article(self, actor: Actor, article_id: UUID) -> Article:
        """The article, if the actor may read it: staff all; others published public ones."""
        article = self._get(Article, article_id, "article")
        if actor.is_staff:
            return article
        published = article.published
        if published is None or article.stage is Stage.ARCHIVED:
            raise NotFound("No such article.")
        if published.audience is not Audience.PUBLIC or article.kind is not Kind.ARTICLE:
            raise NotFound("No such article.")
        return article

    # -- templates ----------------------------------------------------------------------------
    def _check_template(self, use: TemplateUse) -> Article:
        template = self._get(Article, use.article_id, "template")
        if template.kind is Kind.ARTICLE or template.published is None:
            raise InvalidInput("That is not a published template.", ["template"])
        if use.revision != template.published_revision:
            raise InvalidInput("The template was revised meanwhile; pick it again.", ["template"])
        return template

    def render_template(
        self, actor: Actor, template_id: UUID, ticket_id: UUID, language: str = "ru"
    ) -> tuple[str, TemplateUse, Article]:
        """The template's published text with the ticket's values filled in."""
        if not actor.is_staff:
            raise Forbidden("Templates are for the support staff.")
        template = self._get(Article, template_id, "template")
        use = TemplateUse(template.id, template.published_revision)
        self._check_template(use)
        ticket = self._get(Ticket, ticket_id, "request")
        if not may_see(actor, TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id)):
            raise NotFound("No such request.")
        content = template.published
        assert content is not None
        body = content.body_en if language == "en" and content.body_en else content.body_ru
        return self._fill(body or content.body_en, ticket, actor, language), use, template

    def _fill(self, text: str, ticket: Ticket, actor: Actor, language: str) -> str:
        category = self._get(Category, ticket.category_id, "category")
        requester = ticket.contact.name if ticket.contact else ""
        if ticket.requester_id is not None:
            requester = self._get(Account, ticket.requester_id, "account").display_name
        agent = self._get(Account, actor.id, "account").display_name if actor.id else ""
        values = {
            "requester_name": requester, "ticket_number": str(ticket.number),
            "category": category.name_en if language == "en" else category.name_ru,
            "agent_name": agent, "subject": ticket.subject,
        }  # fmt: skip

        def one(m: re.Match[str]) -> str:
            name, key = m.group(1), m.group(2)
            if name == "field" and key:
                return str(ticket.fields.get(key, "—"))
            return values.get(name, m.group(0))

        return PLACEHOLDER.sub(one, text)
