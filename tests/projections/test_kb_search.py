"""Search quality of the knowledge base: a small bilingual corpus with the expected top result
for each question, Russian and English word forms finding each other, on both stores."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.article import Audience, Content, Kind
from domain.desk import Desk
from projections.knowledge import suggest
from projections.system import Projections
from tests.world import World

CORPUS = {
    "signature": ("Ошибка подписи контракта", "Contract signature error",
                  "При подписании контракта возникает ошибка подписи: обновите сертификат.",
                  "Signing a contract fails: renew the certificate."),
    "schedule": ("План-график не публикуется", "The procurement schedule is not published",
                 "Проверьте позиции плана-графика и повторите размещение.",
                 "Check the schedule's positions and publish again."),
    "browser": ("Сертификат не виден в браузере", "Certificate not visible in the browser",
                "Установите корневые сертификаты и перезапустите браузер.",
                "Install the root certificates and restart the browser."),
    "report": ("Отчёт об исполнении контрактов", "Report on contract execution",
               "Отчёт формируется по всем контрактам за отчётный год.",
               "The report covers all contracts of the reporting year."),
}  # fmt: skip
QUESTIONS = [
    ("контракт не подписывается, ошибка подписи", "signature"),
    ("ошибка при подписании контракта", "signature"),
    ("signatures of contracts fail", "signature"),
    ("не публикуются планы-графики", "schedule"),
    ("schedules are not published", "schedule"),
    ("браузер не видит сертификаты", "browser"),
    ("отчёты по контрактам", "report"),
    ("reports on contracts", "report"),
]


def publish(desk: Desk, world: World, key: str, audience: Audience = Audience.PUBLIC) -> UUID:
    ru_title, en_title, ru_body, en_body = CORPUS[key]
    content = Content(ru_title, en_title, ru_body, en_body, audience)
    article = desk.draft_article(world.methodologist, Kind.ARTICLE, content).id
    desk.submit_article(world.methodologist, article)
    desk.review_article(world.admin, article, True)
    desk.publish_article(world.methodologist, article)
    return article


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_each_question_finds_its_article_first(
    world: World, projections: Projections, question: str, expected: str
) -> None:
    ids = {key: publish(world.desk, world, key) for key in CORPUS}
    projections.catch_up()
    with projections.db.read() as tx:
        found = suggest(tx, question, staff=False)
    assert found and found[0]["id"] == str(ids[expected]), [f["title"] for f in found]


def test_word_forms_find_each_other_and_internal_articles_stay_internal(
    world: World, projections: Projections
) -> None:
    report = publish(world.desk, world, "report")
    internal = publish(world.desk, world, "schedule", Audience.INTERNAL)
    projections.catch_up()
    with projections.db.read() as tx:
        for form in ("контракт", "контракта", "контрактов", "контрактам"):
            assert [f["id"] for f in suggest(tx, form, staff=False)] == [str(report)], form
        assert suggest(tx, "план-график", staff=False) == []
        assert [f["id"] for f in suggest(tx, "план-график", staff=True)] == [str(internal)]
        assert suggest(tx, "и в на", staff=False) == []  # stop words alone find nothing
