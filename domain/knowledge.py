"""The Desk's knowledge-base commands: articles and templates, reviews, knowledge gaps, usage.

A mixin of the Desk application (it uses the Desk's _get/_save); kept apart so each file holds
one part of the desk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from domain.access import Actor, TicketScope, check, may_see
from domain.access import Command as TicketCommand
from domain.article import Article, Audience, Content, Kind, Stage
from domain.category import Category
from domain.chain import ChainedAggregate
from domain.claim import Claim
from domain.errors import Conflict, DeskError, Forbidden, InvalidInput, NotFound
from domain.people import Account, Role
from domain.results import FiledTicket, Written
from domain.ticket import ACTIVE_STATUSES, Channel, LinkKind, TemplateUse, Ticket, TicketKind

A = TypeVar("A", bound=ChainedAggregate)
EDITORS = (Role.METHODOLOGIST, Role.ADMIN)
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z0-9_]+))?\}")


class KnowledgeBase:
    """Commands of the knowledge base (mixed into Desk)."""

    if TYPE_CHECKING:

        def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...
        def _save(self, *aggregates: ChainedAggregate) -> int: ...
        def _written(self, aggregate: ChainedAggregate) -> Written: ...
        def _next_number(self) -> int: ...
        def _give_back_number(self, number: int) -> None: ...

    # -- articles -----------------------------------------------------------------------------
    def _editor(self, actor: Actor) -> UUID:
        if actor.id is None or not actor.has(*EDITORS):
            raise Forbidden("Only methodologists edit and publish the knowledge base.")
        return actor.id

    def draft_article(
        self, actor: Actor, kind: Kind, content: Content, gap_id: UUID | None = None
    ) -> Written:
        by = self._editor(actor)
        if gap_id is not None:
            gap = self._get(Ticket, gap_id, "knowledge gap")
            if gap.kind is not TicketKind.KNOWLEDGE_GAP:
                raise InvalidInput("That request is not a knowledge gap.", ["gap"])
        return self._written(Article.draft(by, kind, content, gap_id))

    def _change_article(
        self, actor: Actor, article_id: UUID, change: Callable[[Article, UUID], None]
    ) -> Written:
        by = self._editor(actor)
        article = self._get(Article, article_id, "article")
        change(article, by)
        return self._written(article)

    def revise_article(
        self, actor: Actor, article_id: UUID, based_on: int, content: Content, note: str = ""
    ) -> Written:
        def change(article: Article, by: UUID) -> None:
            article.revise(by, based_on, content, note)

        return self._change_article(actor, article_id, change)

    def submit_article(self, actor: Actor, article_id: UUID) -> Written:
        return self._change_article(actor, article_id, lambda a, by: a.submit(by))

    def review_article(
        self, actor: Actor, article_id: UUID, approve: bool, comment: str = ""
    ) -> Written:
        return self._change_article(actor, article_id,
                                    lambda a, by: a.review(by, approve, comment))  # fmt: skip

    def archive_article(self, actor: Actor, article_id: UUID, reason: str = "") -> Written:
        return self._change_article(actor, article_id, lambda a, by: a.archive(by, reason))

    def publish_article(self, actor: Actor, article_id: UUID) -> Written:
        """Publishes the approved revision; a knowledge gap it answers is resolved, and every
        request that raised the gap is linked to the article, all in one atomic save."""
        by = self._editor(actor)
        for _ in range(5):
            article = self._get(Article, article_id, "article")
            article.publish(by)
            changed: list[ChainedAggregate] = [article, *self._close_gap(article, by)]
            try:
                position = self._save_all(changed)
            except _Retry:
                continue
            return Written(article.id, position, article.version)
        raise Conflict(article_id, None, 0)

    def _close_gap(self, article: Article, by: UUID) -> list[Ticket]:
        if article.gap_id is None:
            return []
        gap = self._get(Ticket, article.gap_id, "knowledge gap")
        title = article.content.title_ru or article.content.title_en
        public = article.content.audience is Audience.PUBLIC and article.kind is Kind.ARTICLE
        touched = []
        for ticket in [gap, *(self._get(Ticket, other, "request") for other, kind in gap.links
                              if kind is LinkKind.KNOWLEDGE_GAP)]:  # fmt: skip
            if article.id not in ticket.articles:
                ticket.link_article(by, article.id, article.revision, title, public)
                touched.append(ticket)
        if gap.status in ACTIVE_STATUSES:
            gap.resolve(by, f"Answered by the knowledge-base article «{title}».")
            if gap not in touched:
                touched.append(gap)
        return touched

    def _save_all(self, aggregates: list[ChainedAggregate]) -> int:
        try:
            recordings = cast(Any, self).save(*aggregates)
        except IntegrityError:
            raise _Retry from None
        return int(recordings[-1].notification.id)

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

    def mark_helpful(self, actor: Actor, article_id: UUID) -> Written:
        """A requester's "this answered my question": a request deflected, counted."""
        for _ in range(5):
            article = self.article(actor, article_id)
            article.helped()
            try:
                return self._written(article)
            except Conflict:
                continue
        raise Conflict(article_id, None, 0)

    # -- knowledge gaps -----------------------------------------------------------------------
    def raise_knowledge_gap(
        self,
        actor: Actor,
        subject: str,
        description: str,
        methodology_group_id: UUID,
        from_ticket_ids: tuple[UUID, ...] = (),
        category_id: UUID | None = None,
    ) -> FiledTicket:
        """A staff member says the knowledge base lacks an answer: a request for methodologists,
        linked both ways to the requests that showed the gap."""
        if actor.id is None or not actor.is_staff or (actor.has(Role.AUDITOR) and len(
                actor.roles) == 1):  # fmt: skip
            raise Forbidden("Knowledge gaps are raised by the support staff.")
        sources = [self._get(Ticket, t, "request") for t in dict.fromkeys(from_ticket_ids)]
        for t in sources:
            check(actor, TicketCommand.LINK, TicketScope(t.id, t.requester_id, t.organisation_id))
        category = category_id or (sources[0].category_id if sources else None)
        if category is None:
            raise InvalidInput("Name the category the gap is about.", ["category"])
        self._get(Category, category, "category")
        for _ in range(20):
            number = self._next_number()
            try:
                gap, fresh = self._gap(actor, number, subject, description, category,
                                       methodology_group_id, sources)  # fmt: skip
            except DeskError:
                self._give_back_number(number)  # refused: nothing was stored
                raise
            try:
                position = self._save_all([Claim.take(f"ticket:{number}", gap.id), *fresh, gap])
            except _Retry:
                continue  # the number or a source changed meanwhile: decided again
            return FiledTicket(gap.id, position, gap.version, number)
        raise Conflict(uuid4(), None, 0)

    def _gap(self, actor: Actor, number: int, subject: str, description: str, category: UUID,
             group_id: UUID, sources: list[Ticket]) -> tuple[Ticket, list[Ticket]]:  # fmt: skip
        """The gap (numbered) and the current sources, linked both ways; nothing saved yet."""
        gap = Ticket.file(ticket_id=uuid4(), number=number, channel=Channel.API,
                          category_id=category, subject=subject, description=description,
                          fields={}, kind=TicketKind.KNOWLEDGE_GAP, raised_by=actor.id)  # fmt: skip
        gap.assign(actor.id, group_id, None)
        fresh = [self._get(Ticket, t.id, "request") for t in sources]
        for t in fresh:
            gap.link(actor.id, t.id, LinkKind.KNOWLEDGE_GAP)
            t.link(actor.id, gap.id, LinkKind.KNOWLEDGE_GAP)
        return gap, fresh

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


class _Retry(Exception):
    """A concurrent write got in first: decide again on fresh state."""
