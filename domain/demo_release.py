"""The demo's release (release readiness, domain/release.py): an EIS update three days ago about
electronic signatures and contracts, prepared with line 1 (three questions: one answered by a
published article, one by a draft still in writing, one without an article yet), a trigger the
analyst watches for it, and a few requests since release day, so /releases shows live figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.access import Actor
from domain.article import Audience, Content, Kind
from domain.desk import Desk
from domain.incidents import Criteria
from domain.people import GroupKind
from domain.release import Scope
from domain.setup.releases import (
    AddReleaseQuestion,
    AddReleaseWatch,
    LinkQuestionArticle,
    PlanRelease,
)

CERTIFICATE = Content(
    "Сертификат не виден после обновления 14.2",
    "The certificate is not shown after update 14.2",
    "После обновления 14.2 ЕИС проверяет сертификат по новому списку доверенных центров. "
    "Установите обновлённый плагин и корневые сертификаты, затем перезапустите браузер.",
    "Since update 14.2 the system checks certificates against the new list of trusted "
    "authorities. Install the updated plug-in and root certificates, then restart the browser.",
    Audience.PUBLIC,
    tags=("14.2", "сертификат"),
)
RESIGN = Content(
    "Как переподписать контракт, отклонённый после обновления",
    "How to sign again a contract refused after the update",
    "Черновик: откройте карточку контракта, выберите «Подписать повторно»...",
    "Draft: open the contract's card, choose 'Sign again'...",
    Audience.PUBLIC,
)


def prepare_release(
    desk: Desk, people: dict[str, Actor], cats: list[UUID], groups: dict[GroupKind, UUID]
) -> None:
    method, analyst, agent = people["method"], people["analyst"], people["agent1"]
    day = datetime.now(UTC).date() - timedelta(days=3)
    scope = Scope("ЕИС 14.2: подпись и контракты", day,
                  ("Подписание", "Реестр контрактов", "Личный кабинет заказчика"),
                  (cats[1], cats[3]), ("14.2",), 14)  # fmt: skip
    release = desk.handle(method, PlanRelease(scope)).id
    published = desk.draft_article(method, Kind.ARTICLE, CERTIFICATE).id
    desk.submit_article(method, published)
    desk.review_article(people["admin"], published, True, "Проверено")
    desk.publish_article(method, published)
    draft = desk.draft_article(method, Kind.ARTICLE, RESIGN).id
    for text, keywords in (
        ("Почему не виден сертификат после обновления?", ("сертификат",)),
        ("Как переподписать контракт, отклонённый после обновления?", ("переподпис", "отклон")),
        ("Где теперь кнопка «Сформировать отчёт»?", ("сформировать", "кнопк")),
    ):
        desk.handle(agent, AddReleaseQuestion(release, text, keywords))
    questions = desk.repository.get(release).questions
    for question, article in zip(questions, (published, draft), strict=False):
        desk.handle(method, LinkQuestionArticle(release, question.id, article))
    alert = (groups[GroupKind.DEVELOPMENT], groups[GroupKind.OPERATIONS])
    desk.handle(analyst, AddReleaseWatch(release, "всплеск обращений о подписи",
                                         Criteria(category_id=cats[1]), 10, 60, alert))  # fmt: skip
    seen = desk.file_ticket(people["petrov"], cats[1], "После обновления 14.2 не виден сертификат",
                            "Сертификат установлен, но ЕИС его не видит.",
                            {"certificate_serial": "01D7A3F9"})  # fmt: skip
    desk.reply(agent, seen.id, f"Инструкция: /help/{published}")
    desk.resolve(agent, seen.id, "Установили обновлённый плагин, сертификат виден.")
    refused = desk.file_ticket(people["ivanova"], cats[3], "Контракт отклонён после обновления",
                               "Сведения о контракте отклонены с ошибкой подписи.",
                               {"contract_number": "2770708389323000044"})  # fmt: skip
    desk.escalate(agent, refused.id, groups[GroupKind.LINE_2], "Отклонение на стороне ЕИС")
    desk.mark_helpful(people["smirnov"], published)
