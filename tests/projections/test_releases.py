"""Release readiness's view: requests about a release (its words, categories, questions' keywords,
within its watched period), questions asked, articles that answered or helped, its triggers'
firings and line-1 resolution, kept incrementally and matched again when the release changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from uuid import UUID

from domain.article import Audience, Content, Kind
from domain.incidents import Criteria
from domain.release import Scope
from domain.setup import releases as sr
from domain.ticket import TemplateUse
from processes.incidents import IncidentProcess
from projections import releases
from projections.system import Projections
from tests.world import World

TODAY = datetime.now(UTC).date()


def published(world: World, kind: Kind = Kind.ARTICLE) -> UUID:
    desk = world.desk
    content = Content("Подпись после 14.2", "", "Обновите плагин.", "", Audience.PUBLIC)
    article = desk.draft_article(world.methodologist, kind, content).id
    desk.submit_article(world.methodologist, article)
    desk.review_article(world.admin, article, True)
    desk.publish_article(world.methodologist, article)
    return article


def filed(world: World, subject: str, description: str = "Нет подробностей.") -> UUID:
    return world.desk.file_ticket(world.requester, world.contracts, subject, description,
                                  {"contract_number": "1234567890123456789"}).id  # fmt: skip


def read(projections: Projections, release: UUID) -> tuple[releases.ReleaseRow, releases.Live]:
    projections.catch_up()
    with projections.db.read() as tx:
        row = releases.release(tx, str(release))
        assert row is not None
        return row, releases.live(tx, row)


def test_a_release_counts_its_requests_questions_articles_and_line_1(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    early = filed(world, "После обновления 14.2 не открывается реестр")  # before it was planned
    other = filed(world, "Не публикуется контракт")  # neither its words nor its category
    scope = Scope("ЕИС 14.2", TODAY - timedelta(days=1), ("Реестр контрактов",), (), ("14.2",))
    release = desk.handle(world.methodologist, sr.PlanRelease(scope)).id
    article = published(world)
    desk.handle(world.agent, sr.AddReleaseQuestion(release, "Почему не подписывается контракт?",
                                                   ("подпис",)))  # fmt: skip
    row, live = read(projections, release)
    question = str(row.questions[0].id)
    assert live.total.requests == 1 and live.latest == [str(early)], "matched when planned"
    assert live.questions[question].asked == 0

    signing = filed(world, "Ошибка ПОДПИСИ контракта")  # the question's keyword, any case
    desk.handle(world.methodologist, sr.LinkQuestionArticle(release, row.questions[0].id, article))
    desk.reply(world.agent, signing, f"Смотрите статью: https://desk.example/help/{article}")
    desk.resolve(world.agent, signing, "Обновили плагин.")
    desk.escalate(world.agent, early, world.line2, "Нужна 2 линия")
    desk.resolve(world.engineer, early, "Исправлено.")
    desk.mark_helpful(world.requester, article)
    row, live = read(projections, release)
    assert (live.total.requests, live.total.resolved, live.total.line1) == (2, 2, 1)
    assert live.total.line1_share == Fraction(1, 2) and live.total.meets_aim is False
    assert live.questions[question] == releases.Asked(question, 1, 1, 1)
    assert set(live.latest) == {str(early), str(signing)}

    # its category added: the request that matched nothing is about it now, from the view alone
    widened = replace(scope, categories=(world.contracts,))
    desk.handle(world.curator, sr.EditRelease(release, widened))
    row, live = read(projections, release)
    assert live.total.requests == 3 and str(other) in live.latest
    assert [(t.key, t.requests) for t in live.topics] == [(str(world.contracts), 3)]

    # a release whose day has not come counts nothing yet
    later = desk.handle(
        world.admin, sr.PlanRelease(replace(scope, name="ЕИС 15", day=TODAY + timedelta(days=1)))
    ).id
    _, nothing = read(projections, later)
    assert nothing.total.requests == 0 and not nothing.questions
    with projections.db.read() as tx:
        listed = releases.releases(tx)
    assert [(r.scope.name, r.requests) for r in listed] == [("ЕИС 15", 0), ("ЕИС 14.2", 3)]


def test_a_template_answers_a_question_and_a_reopened_request_is_not_resolved(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    template = published(world, Kind.ANSWER_TEMPLATE)
    scope = Scope("ЕИС 14.3", TODAY, (), (), ("14.3",))
    release = desk.handle(world.curator, sr.PlanRelease(scope)).id
    desk.handle(world.methodologist, sr.AddReleaseQuestion(release, "Где кнопка?", ("кнопк",),
                                                           template))  # fmt: skip
    t = filed(world, "Пропала кнопка «Подписать»")
    desk.reply(world.agent, t, "Ответ по шаблону.", template=TemplateUse(template, 1))
    desk.resolve(world.agent, t, "Готово.")
    desk.reopen(world.requester, t, "Не помогло")
    row, live = read(projections, release)
    q = str(row.questions[0].id)
    assert (live.questions[q].asked, live.questions[q].answered) == (1, 1)
    assert (live.total.requests, live.total.resolved, live.total.line1) == (1, 0, 0)

    # a mass incident's request resolved by line 1 is the developers' work, not line 1's
    massive = filed(world, "Версия 14.3: массовый сбой")
    incident = desk.open_incident(world.developer, "Сбой 14.3", "Чиним.").id
    desk.link_to_incident(world.developer, incident, (massive,))
    desk.resolve(world.agent, massive, "Исправлено разработкой.")
    desk.resolve(world.agent, t, "Готово снова.")
    _, live = read(projections, release)
    assert (live.total.requests, live.total.resolved, live.total.line1) == (2, 2, 1)


def test_a_watched_trigger_fires_through_the_incident_process(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    release = desk.handle(world.admin, sr.PlanRelease(
        Scope("ЕИС 14.4", TODAY, (), (world.contracts,)))).id  # fmt: skip
    desk.handle(world.admin, sr.AddReleaseWatch(release, "Подпись", Criteria(words=("подпис",)),
                                                2, 60, (world.line2,)))  # fmt: skip
    assert [r.name for r in desk.triggers().rules] == ["ЕИС 14.4: Подпись"]
    for i in range(2):
        filed(world, f"Не подписывается контракт {i}")
    process = IncidentProcess(desk, projections.db)
    for _ in range(5):
        projections.catch_up()
        if not process.tick():
            break
    row, live = read(projections, release)
    assert [f.rule_id for f in live.firings] == list(row.watches) and live.firings[0].count == 2
    desk.handle(world.admin, sr.RemoveReleaseWatch(release, UUID(row.watches[0])))
    row, live = read(projections, release)
    assert row.watches == () and live.firings == [] and desk.triggers().rules == ()


def test_the_view_rebuilt_from_the_log_counts_the_same(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    release = desk.handle(world.admin, sr.PlanRelease(Scope("ЕИС 14.5", TODAY, (), (),
                                                            ("14.5",)))).id  # fmt: skip
    for i in range(3):
        t = filed(world, f"Версия 14.5: вопрос {i}")
        if i:
            desk.resolve(world.agent, t, "Ответили.")
    _, before = read(projections, release)
    view = next(v for v in projections.views if v.name == "releases")
    with projections.db.tx() as tx:
        for table in view.tables:
            tx.execute(f"DELETE FROM {table}")
        tx.execute("UPDATE v_tracking SET position = 0 WHERE view = 'releases'")
    _, after = read(projections, release)
    assert before == after and after.total.requests == 3 and after.total.line1 == 2
