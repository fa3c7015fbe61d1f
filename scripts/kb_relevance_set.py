"""A fixed set of knowledge-base articles and questions, Russian and English, to measure how well
suggestions (projections.knowledge.suggest) find the right article: read by
`python -m scripts.bench_kb_relevance` (the figures in docs/performance.md) and pinned by
tests/projections/test_kb_relevance.py.

Sixteen articles in four categories (two of them internal), and five sets of questions: Russian,
English, word forms (each form of a word must find the same articles), with a chosen category
(the category boosts, it does not filter) and the staff's (internal articles are theirs only).
Each question names the articles that answer it (`relevant`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any
from uuid import UUID

from domain.access import Actor
from domain.article import Audience, Content, Kind
from domain.desk import SYSTEM, Desk

CATEGORIES = {
    "contracts": ("Реестр контрактов", "Contracts register"),
    "plans": ("Планирование закупок", "Procurement planning"),
    "access": ("Доступ и подпись", "Access and signature"),
    "notices": ("Извещения и протоколы", "Notices and protocols"),
}


@dataclass(frozen=True)
class Item:
    category: str
    audience: Audience
    title_ru: str
    title_en: str
    body_ru: str
    body_en: str
    tags: tuple[str, ...] = ()


PUBLIC, INTERNAL = Audience.PUBLIC, Audience.INTERNAL
ARTICLES: dict[str, Item] = {
    "sign_contract": Item(
        "contracts", PUBLIC, "Ошибка подписи при публикации сведений о контракте",
        "Signature error when publishing contract information",
        "Если при подписании сведений о контракте возникает ошибка, проверьте срок действия "
        "сертификата и переустановите плагин, затем повторите публикацию.",
        "If signing contract information fails, check the certificate and reinstall the "
        "plug-in, then publish again.", ("подпись", "контракт")),
    "contract_execution": Item(
        "contracts", PUBLIC, "Отчёт об исполнении контракта", "Report on contract execution",
        "Отчёт об исполнении формируется в карточке контракта после приёмки и оплаты.",
        "The execution report is made in the contract's card after acceptance and payment."),
    "contract_termination": Item(
        "contracts", PUBLIC, "Расторжение контракта: сведения в реестр",
        "Contract termination: recording it in the register",
        "При расторжении укажите основание и дату, приложите соглашение о расторжении.",
        "On termination give the grounds and the date and attach the termination agreement."),
    "contract_changes": Item(
        "contracts", PUBLIC, "Изменение условий контракта", "Changing the terms of a contract",
        "Чтобы внести изменения в контракт, приложите дополнительное соглашение и направьте "
        "сведения об изменении в реестр.",
        "To amend a contract attach the supplementary agreement and send the change to the "
        "register."),
    "contract_treasury": Item(
        "contracts", INTERNAL, "Ручная переотправка контракта в казначейство",
        "Resending a contract to the treasury by hand",
        "Вторая линия переотправляет пакет через консоль интеграции казначейства.",
        "Line 2 resends the package through the treasury integration console."),
    "plan_publish": Item(
        "plans", PUBLIC, "План-график не публикуется", "The procurement schedule is not published",
        "Проверьте позиции плана-графика, подпишите его и повторите размещение.",
        "Check the schedule's positions, sign it and publish again."),
    "plan_change": Item(
        "plans", PUBLIC, "Как внести изменения в план-график",
        "How to amend the procurement schedule",
        "Создайте новую версию плана-графика, внесите изменения в позиции и утвердите её.",
        "Create a new version of the schedule, change its positions and approve it."),
    "plan_export": Item(
        "plans", INTERNAL, "Сбой выгрузки планов-графиков: порядок для второй линии",
        "Schedule export failure: what line 2 does",
        "Проверьте очередь выгрузки и журнал интеграции, перезапустите задание.",
        "Check the export queue and the integration log, restart the job."),
    "cert_browser": Item(
        "access", PUBLIC, "Сертификат не виден в браузере",
        "Certificate not visible in the browser",
        "Установите корневые сертификаты и перезапустите браузер.",
        "Install the root certificates and restart the browser."),
    "cert_expired": Item(
        "access", PUBLIC, "Истёк срок действия сертификата подписи",
        "The signing certificate has expired",
        "Получите новый сертификат в удостоверяющем центре и зарегистрируйте его в ЕИС.",
        "Get a new certificate from the certification authority and register it."),
    "login": Item(
        "access", PUBLIC, "Не удаётся войти в личный кабинет", "Cannot log in to the account",
        "Проверьте логин и пароль, очистите кэш браузера; пароль можно восстановить.",
        "Check your login and password and clear the cache; a password can be restored."),
    "user_rights": Item(
        "access", PUBLIC, "Добавление пользователя организации и его полномочий",
        "Adding an organisation's user and their rights",
        "Администратор организации добавляет пользователя и назначает ему полномочия.",
        "The organisation's administrator adds the user and grants the rights."),
    "notice_publish": Item(
        "notices", PUBLIC, "Ошибка при размещении извещения о закупке",
        "Error when publishing a procurement notice",
        "Проверьте обязательные поля извещения и сроки, затем разместите извещение снова.",
        "Check the notice's required fields and dates, then publish the notice again."),
    "notice_signature": Item(
        "notices", PUBLIC, "Ошибка подписи извещения", "Signature error on a notice",
        "Ошибка подписи при размещении извещения: обновите плагин подписи.",
        "A signature error when publishing a notice: update the signing plug-in."),
    "protocol_upload": Item(
        "notices", PUBLIC, "Не загружается файл протокола", "The protocol file will not upload",
        "Файл протокола должен быть в формате PDF и не больше 50 МБ.",
        "The protocol file must be a PDF of at most 50 MB."),
    "notice_deadline": Item(
        "notices", PUBLIC, "Продление срока подачи заявок", "Extending the deadline for bids",
        "Чтобы продлить срок подачи заявок, внесите изменения в извещение.",
        "To extend the deadline for bids, amend the notice."),
}  # fmt: skip


@dataclass(frozen=True)
class Question:
    text: str
    relevant: tuple[str, ...]
    category: str | None = None  # the category chosen on the form (a boost)
    staff: bool = False  # False: a requester's question (public articles only)


def q(text: str, *relevant: str, category: str | None = None, staff: bool = False) -> Question:
    return Question(text, relevant, category, staff)


QUESTIONS: dict[str, list[Question]] = {
    "русские вопросы": [
        q("контракт не подписывается, ошибка подписи", "sign_contract"),
        q("как сформировать отчёт об исполнении контракта", "contract_execution"),
        q("расторгли контракт, как отразить в реестре", "contract_termination"),
        q("заключили дополнительное соглашение к контракту", "contract_changes"),
        q("план-график не публикуется", "plan_publish"),
        q("внести изменения в план-график", "plan_change"),
        q("браузер не видит сертификат", "cert_browser"),
        q("истёк срок сертификата электронной подписи", "cert_expired"),
        q("не могу войти в личный кабинет, забыл пароль", "login"),
        q("как добавить нового пользователя организации", "user_rights"),
        q("ошибка при размещении извещения", "notice_publish", "notice_signature"),
        q("файл протокола не загружается", "protocol_upload"),
        q("продлить срок подачи заявок", "notice_deadline"),
        q(
            "Добрый день! При попытке подписать и отправить сведения о контракте выходит ошибка, "
            "что делать?",
            "sign_contract",
        ),
        q("Здравствуйте, у нас новый сотрудник, как дать ему полномочия в ЕИС", "user_rights"),
        q("не получается разместить извещение, пишет что не заполнены поля", "notice_publish"),
        q("как поменять позиции плана-графика после утверждения", "plan_change"),
        q("в реестре контрактов не отображается расторжение", "contract_termination"),
    ],
    "english questions": [
        q("contract signature error", "sign_contract"),
        q("report on the execution of contracts", "contract_execution"),
        q("how to record a contract termination", "contract_termination"),
        q("procurement schedule not published", "plan_publish"),
        q("amend the procurement schedule", "plan_change"),
        q("browser does not see my certificate", "cert_browser"),
        q("my certificate expired", "cert_expired"),
        q("cannot log in to my account", "login"),
        q("the protocol file fails to upload", "protocol_upload"),
        q("extend the deadline for bids", "notice_deadline"),
        q("Hello, we get an error every time we try to sign the contract data", "sign_contract"),
        q("how do I give a new colleague rights in our organisation", "user_rights"),
        q("where do I make the report after the contract was paid", "contract_execution"),
    ],
    "словоформы / word forms": [
        q("исполнение контракта", "contract_execution"),
        q("исполнения контрактов", "contract_execution"),
        q("исполнении контрактам", "contract_execution"),
        q("расторжение", "contract_termination"),
        q("расторжения", "contract_termination"),
        q("расторжением", "contract_termination"),
        q("протокол", "protocol_upload"),
        q("протокола", "protocol_upload"),
        q("протоколов", "protocol_upload"),
        q("плана-графика", "plan_publish", "plan_change"),
        q("планов-графиков", "plan_publish", "plan_change"),
        q("certificates browsers", "cert_browser"),
        q("certificate browser", "cert_browser"),
    ],
    "с категорией / with a category": [
        q("ошибка подписи", "notice_signature", category="notices"),
        q("ошибка подписи", "sign_contract", category="contracts"),
        q("внести изменения", "plan_change", category="plans"),
        q("внести изменения", "contract_changes", category="contracts"),
        q("signature error", "notice_signature", category="notices"),
        q("не загружается файл протокола", "protocol_upload", category="contracts"),
        q("браузер не видит сертификат", "cert_browser", category="plans"),
    ],
    "сотрудники / staff": [
        q("переотправить контракт в казначейство", "contract_treasury", staff=True),
        q("сбой выгрузки плана-графика", "plan_export", staff=True),
        q("resend the contract to the treasury", "contract_treasury", staff=True),
    ],
}
K = 3  # precision at the first K suggestions


Ids = dict[str, UUID]


def publish_all(desk: Desk, author: Actor, reviewer: Actor) -> tuple[Ids, Ids]:
    """The categories and the articles, each drafted, reviewed and published through the desk:
    (category ids, article ids) by their keys."""
    categories = {key: desk.define_category(SYSTEM, ru, en, ()).id
                  for key, (ru, en) in CATEGORIES.items()}  # fmt: skip
    ids = {}
    for key, a in ARTICLES.items():
        content = Content(a.title_ru, a.title_en, a.body_ru, a.body_en, a.audience,
                          (categories[a.category],), a.tags)  # fmt: skip
        article = desk.draft_article(author, Kind.ARTICLE, content).id
        desk.submit_article(author, article)
        desk.review_article(reviewer, article, True)
        desk.publish_article(author, article)
        ids[key] = article
    return categories, ids


@dataclass
class Figures:
    """One set's figures: precision at K and mean reciprocal rank, exact."""

    questions: int = 0
    precision: Fraction = Fraction(0)
    reciprocal: Fraction = Fraction(0)
    leaks: int = 0  # internal articles offered to a requester (must stay 0)
    misses: list[str] = field(default_factory=list)  # questions whose first answer is wrong

    @property
    def precision_at_k(self) -> float:
        return float(self.precision / self.questions) if self.questions else 0.0

    @property
    def mrr(self) -> float:
        return float(self.reciprocal / self.questions) if self.questions else 0.0


Suggest = Callable[[Question], Sequence[str]]  # the article keys offered, best first


def measure(suggest: Suggest) -> dict[str, Figures]:
    """Each set's figures. Precision at K counts the relevant articles among the first K
    suggestions out of min(K, how many are relevant); the reciprocal rank is 1/rank of the first
    relevant one (0 when none is offered)."""
    found: dict[str, Figures] = {}
    internal = {k for k, a in ARTICLES.items() if a.audience is INTERNAL}
    for name, questions in QUESTIONS.items():
        f = found[name] = Figures()
        for question in questions:
            offered = list(suggest(question))
            f.questions += 1
            hits = sum(1 for key in offered[:K] if key in question.relevant)
            f.precision += Fraction(hits, min(K, len(question.relevant)))
            rank = next((i for i, key in enumerate(offered, 1) if key in question.relevant), None)
            f.reciprocal += Fraction(1, rank) if rank else 0
            if not question.staff:
                f.leaks += len(internal & set(offered))
            if rank != 1:
                f.misses.append(f"{question.text!r}: {offered[:K]}")
    return found


def keys_of(found: list[dict[str, Any]], ids: dict[str, UUID]) -> list[str]:
    """Suggestions (their ids) as the set's article keys."""
    by_id = {str(v): k for k, v in ids.items()}
    return [by_id.get(a["id"], a["id"]) for a in found]
