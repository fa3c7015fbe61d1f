"""Demo data: the procurement system's support desk with a few requests in flight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from domain.access import Actor
from domain.article import Audience, Content, Kind, Reference
from domain.bulk import backdated, deferred
from domain.calendar import russian_holidays
from domain.calls import RegisterCall
from domain.category import FieldSpec, FieldType
from domain.demo_quarter import EXTRA_CATEGORIES, QUARTER_DAYS, Base, Clock, Quarter
from domain.demo_release import prepare_release
from domain.desk import SYSTEM, Desk
from domain.incidents import Criteria, TriggerRule
from domain.people import GroupKind, Role
from domain.routing import Rule
from domain.sla_setup import CalendarSpec, Policy
from domain.ticket import Channel, Contact, Priority, Urgency
from domain.tickets.commands import ReceiveLetter

F = FieldType
CATEGORIES: list[tuple[str, str, GroupKind, tuple[FieldSpec, ...]]] = [
    (
        "Регистрация в ЕИС",
        "Registration in the system",
        GroupKind.LINE_1,
        (
            FieldSpec("inn", "ИНН организации", "Organisation INN", F.TEXT, True),
            FieldSpec(
                "role",
                "Полномочие",
                "Authority",
                F.CHOICE,
                True,
                ("Заказчик", "Поставщик", "Контролирующий орган"),
            ),
        ),
    ),
    (
        "Электронная подпись",
        "Electronic signature",
        GroupKind.LINE_1,
        (
            FieldSpec(
                "certificate_serial",
                "Серийный номер сертификата",
                "Certificate serial number",
                F.TEXT,
                True,
            ),
            FieldSpec(
                "browser",
                "Браузер",
                "Browser",
                F.CHOICE,
                False,
                ("Chromium-Gost", "Яндекс.Браузер", "Firefox"),
            ),
        ),
    ),
    (
        "Извещения о закупках",
        "Procurement notices",
        GroupKind.LINE_1,
        (
            FieldSpec("notice_number", "Номер извещения", "Notice number", F.REGISTRY_NUMBER, True),
            FieldSpec("law", "Закон", "Law", F.CHOICE, True, ("44-ФЗ", "223-ФЗ")),
        ),
    ),
    (
        "Реестр контрактов",
        "Contracts register",
        GroupKind.LINE_1,
        (
            FieldSpec(
                "contract_number",
                "Реестровый номер контракта",
                "Contract registry number",
                F.REGISTRY_NUMBER,
                True,
            ),
            FieldSpec("signed_on", "Дата заключения", "Date concluded", F.DATE, False),
            FieldSpec("amount", "Цена контракта", "Contract price", F.NUMBER, False),
        ),
    ),
    (
        "Планы-графики",
        "Procurement schedules",
        GroupKind.LINE_1,
        (FieldSpec("schedule_year", "Год плана-графика", "Schedule year", F.NUMBER, True),),
    ),
    (
        "Отчёты",
        "Reports",
        GroupKind.LINE_1,
        (
            FieldSpec("report_type", "Вид отчёта", "Report type", F.TEXT, True),
            FieldSpec("period_end", "Отчётная дата", "Reporting date", F.DATE, True),
        ),
    ),
]

PEOPLE: list[tuple[str, str, Role, str | None, GroupKind | None]] = [
    ("ivanova", "Мария Иванова", Role.REQUESTER, "customer", None),
    ("petrov", "Пётр Петров", Role.REQUESTER, "customer", None),
    ("smirnov", "Алексей Смирнов", Role.REQUESTER, "supplier", None),
    ("agent1", "Ольга Кузнецова (1 линия)", Role.AGENT, None, GroupKind.LINE_1),
    ("agent2", "Дмитрий Соколов (1 линия)", Role.AGENT, None, GroupKind.LINE_1),
    ("engineer2", "Игорь Попов (2 линия)", Role.AGENT, None, GroupKind.LINE_2),
    ("engineer3", "Анна Лебедева (3 линия)", Role.AGENT, None, GroupKind.LINE_3),
    ("method", "Елена Козлова (методолог)", Role.METHODOLOGIST, None, GroupKind.METHODOLOGY),
    ("analyst", "Сергей Новиков (аналитик)", Role.ANALYST, None, GroupKind.ANALYTICS),
    ("dev", "Никита Морозов (разработка)", Role.DEVELOPER, None, GroupKind.DEVELOPMENT),
    ("ops", "Павел Волков (эксплуатация)", Role.OPERATIONS, None, GroupKind.OPERATIONS),
    ("quality", "Татьяна Зайцева (качество)", Role.QUALITY, None, GroupKind.QUALITY),
    ("curator", "Виктор Павлов (куратор)", Role.CURATOR, None, None),
    ("auditor", "Ирина Семёнова (аудитор)", Role.AUDITOR, None, None),
    ("admin", "Администратор", Role.ADMIN, None, None),
]


def is_empty(desk: Desk) -> bool:
    return not desk.recorder.max_notification_id()


def demo_password(login: str) -> str:
    return f"suz-demo-{login}"


def load_demo(
    desk: Desk,
    *,
    only_if_empty: bool = False,
    set_password: Callable[[UUID, str], object] | None = None,
    quarter: int = 0,
    seed: int = 18,
    progress: Callable[[int], None] | None = None,
) -> bool:
    """Loads the demo desk; returns False when skipped because the store holds data.

    `set_password(account_id, password)` gives each demo account its password (the CLI
    passes one that stores the hash in the credentials table: hashes are not events).
    `quarter`: that many requests over the three months before now (domain/demo_quarter.py),
    written in large transactions, before the few stories of today; 0: the small demo only.
    `progress(days)` is told each simulated day of the quarter."""
    if only_if_empty and not is_empty(desk):
        if desk.account_by_login(PEOPLE[0][0]) is not None:
            print_logins("suz: demo accounts (unless their passwords were changed):")
        return False
    if not quarter:
        base = _setup(desk, set_password, CATEGORIES)
        _today(desk, base)
        print_logins("suz: demo data loaded. Sign in as (login / password):")
        return True
    end = datetime.now(UTC).replace(microsecond=0)
    days = QUARTER_DAYS
    clock = Clock(end - timedelta(days=days + 2))
    with deferred(desk) as bulk:
        with backdated(clock):
            base = _setup(desk, set_password, CATEGORIES + EXTRA_CATEGORIES)
            figures = Quarter(desk, base, clock, bulk, requests=quarter, days=days, end=end,
                              seed=seed, progress=progress).run()  # fmt: skip
        _today(desk, base)
    for refusal, count in figures.refused.most_common(5):
        print(f"suz demo: refused {count} times: {refusal}")
    print(
        f"suz: the quarter: {figures.requests} requests, {figures.commands} commands, "
        f"{figures.incidents} incidents, {figures.articles} articles, {figures.gaps} "
        f"knowledge gaps, {bulk.events_written} events in {bulk.transactions} transactions"
    )
    print_logins("suz: demo data loaded. Sign in as (login / password):")
    return True


def _setup(
    desk: Desk,
    set_password: Callable[[UUID, str], object] | None,
    categories: list[tuple[str, str, GroupKind, tuple[FieldSpec, ...]]],
) -> Base:
    """The organisations, groups, people, categories, service levels and triggers."""
    orgs = {
        "customer": desk.register_organisation(
            SYSTEM, "ГКУ «Центр закупок»", "7707083893", "770701001",
            "101000, г. Москва, ул. Мясницкая, д. 12", "101000, г. Москва, а/я 15").id,
        "supplier": desk.register_organisation(
            SYSTEM, "ООО «Поставщик»", "500100732259", "",
            "141400, Московская обл., г. Химки, ул. Ленина, д. 3").id,
    }  # fmt: skip
    groups = {
        kind: desk.form_group(SYSTEM, name, kind).id
        for kind, name in [
            (GroupKind.LINE_1, "1 линия"),
            (GroupKind.LINE_2, "2 линия"),
            (GroupKind.LINE_3, "3 линия"),
            (GroupKind.METHODOLOGY, "Методологи"),
            (GroupKind.ANALYTICS, "Аналитики"),
            (GroupKind.DEVELOPMENT, "Разработка"),
            (GroupKind.OPERATIONS, "Эксплуатация"),
            (GroupKind.QUALITY, "Контроль качества"),
        ]
    }
    people: dict[str, Actor] = {}
    for n, (login, name, role, org, group) in enumerate(PEOPLE):
        phone = f"+7 495 555-01-{n:02d}" if role is Role.REQUESTER else ""  # found by line 1
        account = desk.register_account(
            SYSTEM, login, name, (role,), orgs[org] if org else None, f"{login}@example.org", phone
        ).id
        if group is not None:
            desk.add_to_group(SYSTEM, account, groups[group])
        if set_password is not None:
            set_password(account, demo_password(login))
        people[login] = desk.actor_for(account)
    for kind, lead in ((GroupKind.LINE_1, "agent1"), (GroupKind.LINE_2, "engineer2")):
        desk.appoint_group_lead(SYSTEM, groups[kind], people[lead].id)
    cats = [
        desk.define_category(SYSTEM, ru, en, form, groups[kind]).id
        for ru, en, kind, form in categories
    ]
    _service_levels(desk, cats, groups)
    _triggers(desk, cats, groups)
    return Base(people, groups, cats, [ru for ru, *_ in categories])


def _today(desk: Desk, base: Base) -> None:
    """The stories of today: requests in every state, articles, an open incident."""
    _stories(desk, base.people, base.cats, base.groups)
    _knowledge(desk, base.people, base.cats)
    _incident(desk, base.people, base.cats)
    prepare_release(desk, base.people, base.cats, base.groups)  # domain/demo_release.py


def print_logins(heading: str) -> None:
    print(heading)
    for login, name, *_ in PEOPLE:
        print(f"  {login:10} {demo_password(login):22} {name}")


def _service_levels(desk: Desk, cats: list[UUID], groups: dict[GroupKind, UUID]) -> None:
    """SLA policies on Moscow working hours with the public holidays, and two routing rules."""
    holidays = tuple(sorted(russian_holidays(2026) | russian_holidays(2027)))
    business = CalendarSpec("business", "Рабочие дни, 9-18 (Москва)", holidays=holidays)
    always = CalendarSpec("24x7", "Круглосуточно", always=True)
    desk.set_sla(SYSTEM, (business, always), (
        Policy(uuid4(), "Стандарт", 4 * 60, 16 * 60),
        Policy(uuid4(), "Высокий приоритет", 60, 8 * 60, priority=Priority.HIGH),
        Policy(uuid4(), "Критичный (24x7)", 30, 4 * 60, priority=Priority.CRITICAL,
               calendar="24x7"),
        Policy(uuid4(), "Регистрация", 2 * 60, 8 * 60, category_id=cats[0]),
    ), auto_close_days=5)  # fmt: skip
    desk.set_routing_rules(SYSTEM, (
        Rule(uuid4(), "Извещения по 223-ФЗ → 2 линия", groups[GroupKind.LINE_2],
             category_id=cats[2], field_key="law", field_value="223-ФЗ"),
        Rule(uuid4(), "Обращения через API — высокий приоритет", groups[GroupKind.LINE_1],
             channel=Channel.API, priority=Priority.HIGH),
    ))  # fmt: skip


def _triggers(desk: Desk, cats: list[UUID], groups: dict[GroupKind, UUID]) -> None:
    """Trigger rules watching the signature category and the words of a server error."""
    alert = (groups[GroupKind.DEVELOPMENT], groups[GroupKind.OPERATIONS])
    desk.set_trigger_rules(SYSTEM, (
        TriggerRule(uuid4(), "Электронная подпись: всплеск обращений",
                    Criteria(category_id=cats[1]), threshold=5, window_minutes=10, groups=alert),
        TriggerRule(uuid4(), "Ошибка 500 в любых разделах", Criteria(words=("ошибка 500", "500")),
                    threshold=3, window_minutes=30, groups=alert),
    ))  # fmt: skip


def _incident(desk: Desk, p: dict[str, Actor], cats: list[UUID]) -> None:
    """An incident opened by hand about the signature category (the server's incident process
    links the open signature requests when it starts)."""
    desk.open_incident(
        p["dev"], "Сбой сервиса проверки сертификатов",
        "Сертификаты электронной подписи не отображаются при входе. Мы знаем о проблеме и "
        "восстанавливаем сервис.", Criteria(category_id=cats[1]),
        datetime.now(UTC) - timedelta(hours=1),
    )  # fmt: skip


def _stories(
    desk: Desk, p: dict[str, Actor], cats: list[UUID], groups: dict[GroupKind, UUID]
) -> None:
    a = desk.file_ticket(
        p["ivanova"],
        cats[3],
        "Контракт не отправляется на публикацию",
        "При подписании сведений о контракте возникает ошибка.",
        {"contract_number": "2770708389323000012"},
    )
    desk.request_information(
        p["agent1"], a.id, ("signed_on",), ("Какой текст ошибки?",), "Уточните, пожалуйста, данные."
    )
    desk.provide_information(
        p["ivanova"], a.id, {"signed_on": "2026-11-20"}, ("Ошибка формирования подписи",)
    )
    desk.escalate(p["agent1"], a.id, groups[GroupKind.LINE_2], "Нужен анализ логов подписи")
    desk.note(p["engineer2"], a.id, "В логах таймаут сервиса подписи; проверяю с эксплуатацией.")
    desk.resolve(p["engineer2"], a.id, "Сервис подписи восстановлен; повторите публикацию.")
    desk.rate(p["ivanova"], a.id, 5, "Спасибо!")
    desk.file_ticket(
        p["petrov"],
        cats[1],
        "Не виден сертификат в браузере",
        "Сертификат установлен, но не отображается при входе.",
        {"certificate_serial": "01D7A3F2"},
    )
    desk.file_ticket(
        p["smirnov"],
        cats[2],
        "Не открывается извещение",
        "Страница извещения выдаёт ошибку 500.",
        {"notice_number": "0373200041526000123", "law": "44-ФЗ"},
    )
    _more_stories(desk, p, cats, groups)


def _more_stories(
    desk: Desk, p: dict[str, Actor], cats: list[UUID], groups: dict[GroupKind, UUID]
) -> None:
    """Requests in every state, so every queue and page of the demo has something to show."""
    line1, line2, line3 = (
        groups[GroupKind.LINE_1],
        groups[GroupKind.LINE_2],
        groups[GroupKind.LINE_3],
    )
    # open, assigned to agent1, a conversation with an internal note
    b = desk.file_ticket(p["ivanova"], cats[5], "Не формируется отчёт об исполнении",
                         "Кнопка «Сформировать» не активна для отчёта за III квартал.",
                         {"report_type": "Отчёт об исполнении контракта",
                          "period_end": "2026-09-30"}, urgency=Urgency.HIGH)  # fmt: skip
    desk.assign(p["agent1"], b.id, line1, p["agent1"].id)
    desk.reply(p["agent1"], b.id, "Проверяем. Подскажите, под какой ролью вы вошли?")
    desk.write(p["ivanova"], b.id, "Под ролью «Специалист по закупкам».")
    desk.note(p["agent1"], b.id, "У роли нет права на отчёты; похоже на ошибку настройки ролей.")
    # waiting for the requester
    c = desk.file_ticket(p["petrov"], cats[4], "Не утверждается план-график",
                         "При утверждении плана-графика появляется ошибка валидации.",
                         {"schedule_year": "2027"})  # fmt: skip
    desk.assign(p["agent2"], c.id, line1, p["agent2"].id)
    desk.request_information(p["agent2"], c.id, (), ("Приложите снимок экрана с ошибкой.",),
                             "Нужны подробности.")  # fmt: skip
    # escalated to line 2 and being worked; escalated on to line 3
    d = desk.file_ticket(p["smirnov"], cats[0], "Ошибка при регистрации организации",
                         "После отправки заявки на регистрацию статус не меняется третьи сутки.",
                         {"inn": "500100732259", "role": "Поставщик"},
                         urgency=Urgency.HIGH)  # fmt: skip
    desk.change_priority(p["agent1"], d.id, Priority.CRITICAL, "Регистрация стоит у всех")
    desk.escalate(p["agent1"], d.id, line2, "Заявка зависла в интеграции с ФНС")
    desk.assign(p["engineer2"], d.id, line2, p["engineer2"].id)
    e = desk.file_ticket(p["petrov"], cats[3], "Дубли контрактов в реестре",
                         "Контракт отображается в реестре дважды.",
                         {"contract_number": "2770708389323000099"})  # fmt: skip
    desk.escalate(p["agent2"], e.id, line2, "Нужна проверка данных реестра")
    desk.escalate(p["engineer2"], e.id, line3, "Дубли в базе: нужна доработка")
    # resolved, waiting for a rating; closed; reopened
    f = desk.file_ticket(p["ivanova"], cats[1], "Истёк сертификат",
                         "Как продлить сертификат подписи?",
                         {"certificate_serial": "0A11B2C3"})  # fmt: skip
    desk.resolve(p["agent1"], f.id, "Сертификат продлевается в удостоверяющем центре; затем "
                 "добавьте новый сертификат в личном кабинете.")  # fmt: skip
    g = desk.file_ticket(p["petrov"], cats[2], "Где найти архив извещений?",
                         "Нужны извещения за 2024 год.",
                         {"notice_number": "0373200041524000001", "law": "223-ФЗ"})  # fmt: skip
    desk.resolve(p["agent2"], g.id, "Архив — в разделе «Поиск», фильтр «Архивные».")
    desk.close_ticket(p["agent2"], g.id, "Ответ дан")
    h = desk.file_ticket(p["smirnov"], cats[4], "План-график не публикуется",
                         "Статус «Ожидает публикации» уже сутки.",
                         {"schedule_year": "2026"})  # fmt: skip
    desk.resolve(p["agent1"], h.id, "Публикация прошла ночью; обновите страницу.")
    desk.reopen(p["smirnov"], h.id, "Статус не изменился.")
    # from the public form, without an account
    desk.file_ticket(Actor.visitor(), cats[0], "Как зарегистрироваться?",
                     "Мы новая организация, с чего начать регистрацию?",
                     {"inn": "7707083893", "role": "Заказчик"}, Channel.PUBLIC_FORM,
                     Contact("Анна Сергеевна", "anna@example.org"))  # fmt: skip
    _letters_and_calls(desk, p, cats, groups)


def _letters_and_calls(
    desk: Desk, p: dict[str, Actor], cats: list[UUID], groups: dict[GroupKind, UUID]
) -> None:
    """Requests that came by e-mail and by phone (issue 16), as the intake and line 1 file them."""
    # a letter from ivanova's address; her colleague answers the data request by letter too
    m = desk.file_ticket(p["ivanova"], cats[3], "Не подписывается контракт",
                         "Добрый день! При подписании контракта выходит ошибка 0x8010006E.",
                         {}, channel=Channel.EMAIL, letter="demo-1@example.org")  # fmt: skip
    desk.handle(SYSTEM, ReceiveLetter(
        m.id, None, "demo-2@example.org", "petrov@example.org", p["petrov"].id,
        "Номер контракта 2770708389323000042, ошибка повторяется у всех.",
        "> Добрый день! При подписании контракта выходит ошибка 0x8010006E."))  # fmt: skip
    # a letter from someone the desk does not know: a contact, acknowledged with the link
    vetrov = Contact("Олег Ветров", "o.vetrov@zakupki-region.ru")
    n = desk.file_ticket(Actor.visitor(), cats[0], "Регистрация обособленного подразделения",
                         "Как зарегистрировать обособленное подразделение в ЕИС?", {},
                         channel=Channel.EMAIL, contact=vetrov,
                         letter="demo-3@zakupki-region.ru")  # fmt: skip
    desk.reply(p["agent2"], n.id, "Подразделение регистрирует руководитель головной "
               "организации в личном кабинете, раздел «Организация».")  # fmt: skip
    # calls line 1 took: answered on the call, and one passed to line 2
    desk.register_call(p["agent1"], RegisterCall(
        cats[1], "Как продлить сертификат", "Звонок: спрашивает, где продлить сертификат.",
        {"certificate_serial": "0B22C3D4"}, caller_id=p["ivanova"].id, phone="+7 495 555-01-00",
        resolution="Подсказал порядок продления в удостоверяющем центре."))  # fmt: skip
    desk.register_call(p["agent2"], RegisterCall(
        cats[2], "Не открывается извещение по звонку", "Звонок: страница извещения не грузится.",
        {"notice_number": "0373200041526000777", "law": "44-ФЗ"}, caller_id=p["smirnov"].id,
        escalate_to=groups[GroupKind.LINE_2], reason="Нужен анализ логов портала"))  # fmt: skip


ARTICLES: list[tuple[Kind, int, Content]] = [
    (
        Kind.ARTICLE,
        3,
        Content(
            "Ошибка подписи при публикации сведений о контракте",
            "Signature error when publishing contract information",
            "Если при подписании сведений о контракте возникает ошибка, проверьте срок действия "
            "сертификата и переустановите плагин подписи. Затем повторите публикацию.",
            "If signing contract information fails, check the certificate's expiry date and "
            "reinstall the signing plug-in, then publish again.",
            Audience.PUBLIC,
            tags=("подпись", "контракт"),
            references=(Reference("44-ФЗ", "ст. 103"),),
        ),
    ),
    (
        Kind.ARTICLE,
        1,
        Content(
            "Сертификат не виден в браузере",
            "The certificate is not visible in the browser",
            "Установите корневые сертификаты и перезапустите браузер; используйте Chromium-Gost "
            "или Яндекс.Браузер.",
            "Install the root certificates and restart the browser; use Chromium-Gost or Yandex "
            "Browser.",
            Audience.PUBLIC,
            tags=("сертификат",),
        ),
    ),
    (
        Kind.ANSWER_TEMPLATE,
        3,
        Content(
            "Ответ: контракт опубликован повторно",
            "Answer: the contract was republished",
            "{requester_name}, по заявке №{ticket_number} сведения о контракте "
            "{field:contract_number} опубликованы повторно. Проверьте, пожалуйста, реестр.",
            "{requester_name}, the contract {field:contract_number} of request {ticket_number} "
            "was published again. Please check the register.",
        ),
    ),
    (
        Kind.INFO_REQUEST_TEMPLATE,
        3,
        Content(
            "Запрос: дата и текст ошибки",
            "Ask: date and error text",
            "Уточните, пожалуйста, дату заключения контракта и текст ошибки.",
            "Please tell us the date the contract was concluded and the error text.",
            fields=("signed_on",),
            questions=("Какой текст ошибки?",),
        ),
    ),
]


def _knowledge(desk: Desk, p: dict[str, Actor], cats: list[UUID]) -> None:
    for kind, category, content in ARTICLES:
        content = replace(content, category_ids=(cats[category],))
        article = desk.draft_article(p["method"], kind, content).id
        desk.submit_article(p["method"], article)
        desk.review_article(p["admin"], article, True, "Проверено")
        desk.publish_article(p["method"], article)
