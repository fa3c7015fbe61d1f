"""The knowledge base's read side: knowledge gaps counted and timed by one definition (the usage
API, the analytics page and the report read the same figures), and the live feed's question
whether a change is public, on both stores."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from uuid import UUID

from domain.article import Content, Kind
from domain.ticket import Ticket
from projections import feed, kb_queries
from projections.analytics_queries import HOUR
from projections.system import Projections
from tests.world import World


def raise_gap(world: World, subject: str) -> UUID:
    (group,) = world.methodologist.group_ids
    raised = world.desk.raise_knowledge_gap(
        world.agent, subject, "Нет статьи.", group, (), world.contracts
    )
    return raised.id


def answer(world: World, gap: UUID) -> None:
    """An article drafted for the gap, reviewed and published: that resolves the gap."""
    desk, method = world.desk, world.methodologist
    content = Content("Ответ", "Answer", "Текст ответа.", "The answer.")
    article = desk.draft_article(method, Kind.ARTICLE, content, gap).id
    desk.submit_article(method, article)
    desk.review_article(world.admin, article, True)
    desk.publish_article(method, article)


def test_a_gap_is_answered_in_the_time_from_raising_to_its_resolution(
    world: World, projections: Projections
) -> None:
    answered = raise_gap(world, "Как подписать контракт?")
    raise_gap(world, "Как отменить закупку?")
    answer(world, answered)
    projections.catch_up()
    gap: Ticket = world.desk.repository.get(answered)
    took = gap.modified_on - gap.created_on
    expected = Fraction(took // timedelta(microseconds=1), HOUR)
    today = gap.created_on.date()

    with projections.db.read() as tx:
        every = kb_queries.gap_figures(tx)
        this_day = kb_queries.gap_figures(tx, today, today)
        before = kb_queries.gap_figures(tx, today - timedelta(days=7), today - timedelta(days=1))
        report = kb_queries.kb_figures(tx, today, today)

    assert every == kb_queries.GapFigures({"resolved": 1, "new": 1}, 2, 1, expected)
    assert this_day == every
    assert before == kb_queries.GapFigures({}, 0, 0, None)
    assert (report.gaps_opened, report.gaps_answered) == (2, 1)
    assert report.mean_hours_to_answer == expected


def test_the_usage_api_and_the_analytics_figures_time_gaps_alike(
    world: World, projections: Projections
) -> None:
    """Both read `gap_figures`: the API rounds the same exact mean to two places."""
    answer(world, raise_gap(world, "Где найти реестр?"))
    projections.catch_up()
    with projections.db.read() as tx:
        figures = kb_queries.kb_figures(tx, date(2000, 1, 1), date(2999, 12, 31))
        every = kb_queries.gap_figures(tx)
    assert figures.mean_hours_to_answer == every.mean_hours_to_answer is not None
    assert (figures.gaps_opened, figures.gaps_answered) == (every.raised, every.answered) == (1, 1)


def test_a_change_is_public_when_the_requester_reads_it_on_the_timeline(
    world: World, projections: Projections
) -> None:
    ticket = world.file().id
    reply = world.desk.reply(world.agent, ticket, "Проверьте сертификат.")
    note = world.desk.note(world.agent, ticket, "Похоже на сбой подписи.")
    projections.catch_up()
    with projections.db.read() as tx:
        shown = {c.version: feed.public(tx, c) for c in feed.changes(tx, [f"ticket:{ticket}"], 0)}
        unknown = feed.public(tx, feed.Change(10**9, str(ticket), "Replied", 999))
    assert shown[reply.version] is True
    assert shown[note.version] is False
    assert unknown is False
