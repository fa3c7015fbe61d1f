"""The demo's quarter (`suz demo`): three months of a procurement system's support desk, written
through the real commands in date order, so every page, chart and report has figures to show.

Requests arrive on working days' hours (fewer at weekends) by every channel (the cabinet, the
public form, e-mail, phone calls line 1 registers, the API) across the categories and the
organisations; line 1 takes and answers them, asks for data, escalates some to line 2 and a few
on to line 3; requesters answer, reopen and rate; low ratings get their follow-ups; late answers
get the SLA alarms the SLA process would have raised; mass incidents bring bursts of requests
that the incident's resolution answers; methodologists write and publish articles, some to
close the knowledge gaps line 1 raises, and requesters mark them helpful; the quality group
reviews a sample. What would happen after `end` is not written: those requests are the backlog.

Each step is a command sent through `Desk.handle` (or the Desk's own way in for filings and
calls) with the clock set to its moment (domain/bulk.py `backdated`); the saves are kept and
written in transactions of 2,000 events (domain/bulk.py `Deferred`). Random choices come from
one seeded generator: the same seed and the same `end` give the same desk (apart from the ids).
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain import demo_texts as tx
from domain.access import Actor
from domain.article import Audience, Content, Kind
from domain.bulk import Deferred
from domain.calls import RegisterCall
from domain.category import FieldSpec, FieldType
from domain.desk import SYSTEM, Desk
from domain.errors import DeskError
from domain.incidents import Criteria
from domain.people import Group, GroupKind, Role
from domain.quality import DEFAULT_ITEMS, LOW_RATING
from domain.setup.knowledge import RaiseKnowledgeGap
from domain.ticket import Channel, Contact, Urgency
from domain.tickets.commands import CloseUnanswered, RaiseSlaAlarm, Unchanged

QUARTER_DAYS = 91
FLUSH_EVENTS = 20_000  # events kept in memory before they are written (bulk.CHUNK a transaction)
WORK_START, WORK_END = 6, 15  # line 1's hours in UTC (9:00-18:00 Moscow time)
CHANNELS = ((Channel.CABINET, 0.52), (Channel.EMAIL, 0.2), (Channel.PHONE, 0.16),
            (Channel.PUBLIC_FORM, 0.08), (Channel.API, 0.04))  # fmt: skip


EXTRA_CATEGORIES: list[tuple[str, str, GroupKind, tuple[FieldSpec, ...]]] = [
    ("Вход в личный кабинет", "Signing in to the cabinet", GroupKind.LINE_1, (
        FieldSpec("browser", "Браузер", "Browser", FieldType.CHOICE, False,
                  ("Chromium-Gost", "Яндекс.Браузер", "Firefox")),)),
    ("Протоколы и заявки участников", "Protocols and bids", GroupKind.LINE_1, (
        FieldSpec("notice_number", "Номер извещения", "Notice number", FieldType.NOTICE_NUMBER,
                  True),)),
]  # fmt: skip


class Clock:
    """The moment events are stamped with (domain/bulk.py `backdated`)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Base:
    """What the demo's set-up made: accounts by login, groups by kind, the categories' ids and
    their Russian names (in the same order)."""

    people: dict[str, Actor]
    groups: dict[GroupKind, UUID]
    cats: list[UUID]
    names: list[str]


@dataclass
class Figures:
    """What the quarter wrote."""

    requests: int = 0
    commands: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    incidents: int = 0
    articles: int = 0
    gaps: int = 0


@dataclass
class Story:
    """One request as it goes: who filed it, where it is."""

    id: UUID
    cat: int
    requester: Actor | None
    fields: dict[str, Any]
    filed: datetime
    line: int = 1
    agent: Actor | None = None
    incident: UUID | None = None


def working(at: datetime, rnd: random.Random) -> datetime:
    """`at`, or the start of the next working period (plus a little) when it falls outside."""
    t = at
    for _ in range(10):
        if t.weekday() < 5 and WORK_START <= t.hour < WORK_END:
            return t
        if t.weekday() < 5 and t.hour < WORK_START:
            t = t.replace(hour=WORK_START, minute=0, second=0, microsecond=0)
        else:
            t = (t + timedelta(days=1)).replace(hour=WORK_START, minute=0, second=0,
                                                 microsecond=0)  # fmt: skip
            continue
        return t + timedelta(minutes=rnd.randint(1, 50))
    return t


class Quarter:
    """Writes the quarter; `run` returns its `Figures`."""

    def __init__(self, desk: Desk, base: Base, clock: Clock, bulk: Deferred | None, *,
                 requests: int, days: int, end: datetime, seed: int,
                 progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
        self.desk, self.base, self.clock, self.bulk = desk, base, clock, bulk
        self.requests, self.days, self.end = requests, days, end
        self.start = end - timedelta(days=days)
        self.rnd = random.Random(seed)
        self.progress = progress
        self.figures = Figures()
        self._queue: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._step = "set-up"
        self._gap_share = max(0.004, 15 / max(requests, 1))  # a small quarter has a few too
        self.line1: list[Actor] = []
        self.line2: list[Actor] = []
        self.line3: list[Actor] = []
        self.requesters: list[Actor] = []
        self.contacts: dict[UUID, tuple[str, str]] = {}  # requester -> (e-mail, phone)
        self.org_inn: dict[UUID, str] = {}
        self.articles: dict[int, list[UUID]] = {}  # published, by category index
        self.templates: dict[int, UUID] = {}  # the answer template, by category index
        self.incident_of: dict[int, tuple[UUID, datetime]] = {}  # open, by category index
        self.methodologists: list[Actor] = []

    # -- the schedule -------------------------------------------------------------------------
    def at(self, when: datetime, act: Callable[..., None], *args: Any) -> None:
        """Runs `act(*args)` at `when`, unless that is after the quarter's end."""
        when = max(when, self.clock.now)  # never before what was written already
        if when <= self.end:
            self._seq += 1
            heapq.heappush(self._queue, (when, self._seq, act, args))

    def send(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One command at the clock's moment; a refusal is counted, never raised."""
        self.figures.commands += 1
        try:
            return call(*args, **kwargs)
        except Unchanged:
            return None
        except DeskError as e:
            self.figures.refused[f"{self._step}: {type(e).__name__}: {e}"] += 1
            return None

    def run(self) -> Figures:
        self._people()
        self._plan_requests()
        self._plan_incidents()
        self._plan_knowledge()
        shown = 0
        while self._queue:
            when, _, act, args = heapq.heappop(self._queue)
            self.clock.now = when
            self._step = act.__name__
            act(*args)
            if self.bulk is not None and len(self.bulk.pending) >= FLUSH_EVENTS:
                self.bulk.flush()
            day = min((when - self.start).days, self.days)
            if day > shown and self.progress is not None:
                self.progress(day - shown)
                shown = day
        return self.figures

    # -- people ------------------------------------------------------------------------------
    def _people(self) -> None:
        """The quarter's organisations, requesters and extra staff, registered before it starts."""
        d, rnd, p = self.desk, self.rnd, self.base.people
        self.clock.now = self.start - timedelta(days=1)
        orgs: list[UUID] = []
        for n in range(max(8, self.requests // 130)):
            name, inn, kpp, legal, postal, _ = tx.organisation(rnd, n + 1)
            w = self.send(d.register_organisation, SYSTEM, name, inn, kpp, legal, postal)
            if w is not None:
                orgs.append(w.id)
                self.org_inn[w.id] = inn
        logins: set[str] = set()
        for n in range(max(20, self.requests // 25)):
            name, latin = tx.person(rnd)
            login = f"{latin}{n}"
            org = orgs[int(len(orgs) * rnd.random() ** 2)]  # a few large, many small
            email, phone = (
                f"{latin}{n}@example.ru",
                f"+7 9{rnd.randint(10, 99)} {n:03d}-{rnd.randint(10, 99)}-{rnd.randint(10, 99)}",
            )
            w = self.send(d.register_account, SYSTEM, login, name, (Role.REQUESTER,), org, email,
                          phone)  # fmt: skip
            if w is not None:
                logins.add(login)
                actor = Actor(w.id, frozenset({Role.REQUESTER}), org, frozenset())
                self.requesters.append(actor)
                self.contacts[w.id] = (email, phone)
        staff = ((GroupKind.LINE_1, max(2, self.requests // 1200), self.line1, "l1"),
                 (GroupKind.LINE_2, max(1, self.requests // 4000), self.line2, "l2"),
                 (GroupKind.LINE_3, max(1, self.requests // 10000), self.line3, "l3"))  # fmt: skip
        for kind, count, into, prefix in staff:
            for n in range(count):
                name, latin = tx.person(rnd)
                w = self.send(
                    d.register_account,
                    SYSTEM,
                    f"{prefix}-{latin}{n}",
                    name,
                    (Role.AGENT,),
                    None,
                    f"{prefix}.{latin}{n}@desk.example.ru",
                )
                if w is not None:
                    self.send(d.add_to_group, SYSTEM, w.id, self.base.groups[kind])
                    into.append(d.actor_for(w.id))
        self.line1 += [p["agent1"], p["agent2"]]
        self.line2.append(p["engineer2"])
        self.line3.append(p["engineer3"])
        name, latin = tx.person(rnd)
        w = self.send(d.register_account, SYSTEM, "method2", name, (Role.METHODOLOGIST,), None,
                      "method2@desk.example.ru")  # fmt: skip
        if w is not None:
            self.send(d.add_to_group, SYSTEM, w.id, self.base.groups[GroupKind.METHODOLOGY])
            self.methodologists = [p["method"], d.actor_for(w.id)]
        else:
            self.methodologists = [p["method"], p["admin"]]

    # -- requests ----------------------------------------------------------------------------
    def _plan_requests(self) -> None:
        """Filing moments over the quarter: working days busier, office hours busiest."""
        rnd = self.rnd
        weights = []
        for n in range(self.days):
            day = self.start + timedelta(days=n)
            weights.append(1.0 if day.weekday() < 5 else 0.15)
        total = sum(weights)
        hours = [0.2] * 5 + [1, 2.5, 3, 3, 2.6, 2, 2.6, 2.8, 2.4, 1.8, 1, 0.6, 0.4] + [0.3] * 6
        spikes = int(self.requests * 0.05)  # the incidents' bursts are part of the total
        planned = self.requests - spikes
        for n in range(self.days):
            count = round(planned * weights[n] / total)
            day = (self.start + timedelta(days=n)).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)  # fmt: skip
            for _ in range(count):
                hour = rnd.choices(range(24), hours)[0]
                when = day + timedelta(hours=hour, seconds=rnd.randrange(3600))
                if self.start <= when:
                    self.at(when, self._file, self._category(), None)
        self._spikes = spikes

    def _category(self) -> int:
        return self.rnd.choices(range(len(self.base.cats)),
                                [8, 9, 7, 9, 5, 5, 6, 4][: len(self.base.cats)])[0]  # fmt: skip

    def _values(self, cat: int, requester: Actor | None) -> dict[str, Any]:
        rnd, name = self.rnd, self.base.names[cat]
        inn = self.org_inn.get(requester.organisation_id) if requester and \
            requester.organisation_id else None  # fmt: skip
        year = self.end.year
        values: dict[str, dict[str, Any]] = {
            "Регистрация в ЕИС": {"inn": inn or "7707083893",
                                  "role": rnd.choice(("Заказчик", "Поставщик"))},
            "Электронная подпись": {"certificate_serial": f"{rnd.getrandbits(32):08X}",
                                    "browser": rnd.choice(("Chromium-Gost", "Яндекс.Браузер"))},
            "Извещения о закупках": {
                "notice_number": f"0373200{rnd.randrange(10**8):08d}{year % 100:02d}00",
                "law": rnd.choices(("44-ФЗ", "223-ФЗ"), (5, 1))[0]},
            "Реестр контрактов": {"contract_number": f"277070838932{year % 100:02d}{rnd.randrange(10**5):05d}"},  # noqa: E501
            "Планы-графики": {"schedule_year": str(rnd.choice((year, year + 1)))},
            "Отчёты": {"report_type": rnd.choice(("Отчёт об исполнении контракта",
                                                  "Отчёт об объёме закупок у СМП")),
                       "period_end": f"{year}-{rnd.choice(('03-31', '06-30', '09-30'))}"},
            "Вход в личный кабинет": {"browser": rnd.choice(("Chromium-Gost", "Яндекс.Браузер",
                                                             "Firefox"))},
            "Протоколы и заявки участников": {
                "notice_number": f"0373200{rnd.randrange(10**8):08d}{year % 100:02d}00"},
        }  # fmt: skip
        return values.get(name, {})

    def _texts(self, cat: int) -> tuple[str, str]:
        subjects, bodies, _, _ = tx.TEXTS[self.base.names[cat]]
        body = self.rnd.choice(bodies).format(
            when="в понедельник", number=f"0373200{self.rnd.randrange(10**12):012d}",
            quarter="III квартал")  # fmt: skip
        return self.rnd.choice(subjects), body

    def _file(self, cat: int, incident: UUID | None) -> None:
        """Files one request by a channel drawn at random, then plans what happens to it."""
        d, rnd = self.desk, self.rnd
        channel = rnd.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        requester = None if channel is Channel.PUBLIC_FORM else rnd.choice(self.requesters)
        subject, body = self._texts(cat)
        values = self._values(cat, requester)
        category = self.base.cats[cat]
        urgency = rnd.choices((Urgency.NORMAL, Urgency.HIGH, Urgency.LOW), (8, 1.5, 0.5))[0]
        self.figures.requests += 1
        agent = rnd.choice(self.line1)
        if channel is Channel.PHONE:
            assert requester is not None and requester.id is not None
            agent = self._on_duty()
            outcome = rnd.random()
            call = RegisterCall(category, subject, f"Звонок: {body}", values,
                                caller_id=requester.id, phone=self.contacts[requester.id][1],
                                resolution=rnd.choice(tx.TEXTS[self.base.names[cat]][3])
                                if outcome < 0.55 and incident is None else None,
                                escalate_to=self.base.groups[GroupKind.LINE_2]
                                if 0.55 <= outcome < 0.7 and incident is None else None,
                                reason=rnd.choice(tx.ESCALATION_REASONS))  # fmt: skip
            filed = self.send(d.register_call, agent, call)
            if filed is None:
                return
            story = Story(filed.id, cat, requester, values, self.clock.now, agent=agent)
            if call.resolution is not None:
                self._after_resolution(story, self.clock.now)
                return
            if call.escalate_to is not None:
                story.line = 2
                self._line2(story, self.clock.now)
                return
        elif channel is Channel.EMAIL:
            assert requester is not None
            letter = f"q{self.figures.requests}.{rnd.getrandbits(40):x}@mail.example.ru"
            filed = self.send(d.file_ticket, requester, category, subject, body, {},
                              channel=Channel.EMAIL, letter=letter, urgency=urgency)  # fmt: skip
            if filed is None:
                return
            story = Story(filed.id, cat, requester, values, self.clock.now)
            if incident is None and d.ticket(SYSTEM, filed.id).requested_fields:  # data asked
                later = self.clock.now + timedelta(minutes=rnd.randint(20, 600))
                self.at(later, self._provide, story, True)
                return  # line 1 takes it once the data is in
        else:
            contact = None
            actor = requester or Actor.visitor()
            if requester is None:
                name, latin = tx.person(rnd)
                contact = Contact(name, f"{latin}@{rnd.choice(('mail.ru', 'yandex.ru'))}")
            filed = self.send(d.file_ticket, actor, category, subject, body, values,
                              channel, contact, urgency=urgency)  # fmt: skip
            if filed is None:
                return
            story = Story(filed.id, cat, requester, values, self.clock.now)
        if incident is not None:
            story.incident = incident
            self.at(self.clock.now + timedelta(minutes=rnd.randint(1, 5)), self._auto_link, story)
            return
        if self.desk.ticket(SYSTEM, story.id).line == 2:  # routed to line 2 (223-FZ notices)
            story.line = 2
            self._line2(story, self.clock.now)
            return
        self._plan_line1(story)

    def _on_duty(self) -> Actor:
        return self.rnd.choice(self.line1)

    def _plan_line1(self, story: Story) -> None:
        """Line 1 takes the request and answers; some ask for data, escalate or raise a gap."""
        rnd = self.rnd
        late = rnd.random() < 0.09  # a first answer after the SLA's 4 working hours
        delay = rnd.randint(300, 1500) if late else int(rnd.expovariate(1 / 45)) + 3
        taken = working(story.filed + timedelta(minutes=delay), rnd)
        story.agent = story.agent or rnd.choice(self.line1)
        self.at(taken, self._take, story)
        if late:
            due = story.filed + timedelta(hours=4)
            self.at(max(due, taken - timedelta(minutes=5)), self._alarm, story,
                    "first_response_breach", due)  # fmt: skip
        gap = rnd.random() < self._gap_share
        path = rnd.random()
        replied = taken + timedelta(minutes=rnd.randint(2, 30))
        if gap:
            self.at(replied, self._reply, story, None)
            self.at(replied + timedelta(minutes=rnd.randint(5, 60)), self._gap, story)
        elif path < 0.23:
            self.at(replied, self._reply, story, None)
            self.at(working(replied + timedelta(minutes=rnd.randint(10, 240)), rnd),
                    self._escalate, story)  # fmt: skip
        elif path < 0.33:
            self.at(replied, self._ask, story)
        else:
            self.at(replied, self._reply, story, None)
            resolved = working(replied + timedelta(minutes=int(rnd.expovariate(1 / 240)) + 5),
                               rnd)  # fmt: skip
            self.at(resolved, self._resolve, story)

    # -- the steps ---------------------------------------------------------------------------
    def _take(self, story: Story) -> None:
        group = self.base.groups[GroupKind.LINE_2 if story.line == 2 else GroupKind.LINE_1]
        assert story.agent is not None
        if self.desk.ticket(SYSTEM, story.id).assignee_id != story.agent.id:
            self.send(self.desk.assign, story.agent, story.id, group, story.agent.id)

    def _reply(self, story: Story, text: str | None) -> None:
        """Line 1's first answer: in its own words, or (one in four) from the category's answer
        template, filled for the request (the use is recorded on the reply)."""
        assert story.agent is not None
        template = self.templates.get(story.cat)
        if text is None and template is not None and self.rnd.random() < 0.25:
            filled = self.send(self.desk.render_template, story.agent, template, story.id)
            if filled is not None:
                body, use, _ = filled
                self.send(self.desk.reply, story.agent, story.id, body, template=use)
                return
        replies = tx.TEXTS[self.base.names[story.cat]][2]
        body = text or self.rnd.choice((*replies, *tx.GENERIC_REPLY))
        self.send(self.desk.reply, story.agent, story.id, body)

    def _alarm(self, story: Story, alarm: str, due: datetime) -> None:
        policy = "Регистрация" if self.base.names[story.cat] == "Регистрация в ЕИС" else "Стандарт"
        self.send(self.desk.send, RaiseSlaAlarm(story.id, None, alarm, due, policy))

    def _ask(self, story: Story) -> None:
        assert story.agent is not None
        rnd = self.rnd
        question = rnd.randrange(len(tx.QUESTIONS))
        self.send(self.desk.request_information, story.agent, story.id, (),
                  (tx.QUESTIONS[question],), "Уточните, пожалуйста, подробности.")  # fmt: skip
        if story.requester is not None or rnd.random() < 0.5:
            later = self.clock.now + timedelta(minutes=int(rnd.expovariate(1 / 300)) + 10)
            self.at(later, self._provide, story, False, question)

    def _provide(self, story: Story, fields: bool, question: int = 0) -> None:
        desk, rnd = self.desk, self.rnd
        if story.requester is None:
            return  # a visitor's answer needs his private link; the demo leaves it waiting
        if fields:
            self.send(desk.provide_information, story.requester, story.id, story.fields)
            self._plan_line1(story)
            return
        self.send(desk.provide_information, story.requester, story.id, {},
                  (tx.ANSWERS[question],))  # fmt: skip
        assert story.agent is not None
        resolved = working(self.clock.now + timedelta(minutes=rnd.randint(15, 300)), rnd)
        self.at(resolved, self._resolve, story)

    def _escalate(self, story: Story) -> None:
        assert story.agent is not None
        rnd = self.rnd
        self.send(self.desk.escalate, story.agent, story.id, self.base.groups[GroupKind.LINE_2],
                  rnd.choice(tx.ESCALATION_REASONS))  # fmt: skip
        story.line = 2
        self._line2(story, self.clock.now)

    def _line2(self, story: Story, since: datetime) -> None:
        rnd = self.rnd
        story.agent = rnd.choice(self.line2)
        taken = working(since + timedelta(minutes=rnd.randint(10, 300)), rnd)
        self.at(taken, self._take, story)
        self.at(taken + timedelta(minutes=rnd.randint(5, 90)), self._note, story)
        if rnd.random() < 0.22:
            self.at(working(taken + timedelta(hours=rnd.randint(2, 30)), rnd), self._to_line3,
                    story)  # fmt: skip
            return
        resolved = working(taken + timedelta(minutes=int(rnd.expovariate(1 / 900)) + 30), rnd)
        self.at(resolved, self._resolve, story)

    def _note(self, story: Story) -> None:
        assert story.agent is not None
        self.send(self.desk.note, story.agent, story.id, self.rnd.choice(tx.NOTES))
        if self.rnd.random() < 0.05:  # the curator takes part in the discussion
            self.send(self.desk.note, self.base.people["curator"], story.id,
                      "Прошу держать на контроле и сообщить о сроках.")  # fmt: skip

    def _to_line3(self, story: Story) -> None:
        rnd = self.rnd
        assert story.agent is not None
        self.send(self.desk.escalate, story.agent, story.id, self.base.groups[GroupKind.LINE_3],
                  rnd.choice(tx.LINE3_REASONS))  # fmt: skip
        story.line = 3
        story.agent = rnd.choice(self.line3)
        taken = working(self.clock.now + timedelta(hours=rnd.randint(1, 20)), rnd)
        self.at(taken, self._take3, story)
        days = rnd.randint(2, 12)
        if days > 6:
            due = story.filed + timedelta(days=2)
            self.at(max(due, self.clock.now), self._alarm, story, "resolution_breach", due)
        self.at(working(taken + timedelta(days=days), rnd), self._resolve, story)

    def _take3(self, story: Story) -> None:
        assert story.agent is not None
        self.send(self.desk.assign, story.agent, story.id, self.base.groups[GroupKind.LINE_3],
                  story.agent.id)  # fmt: skip

    def _resolve(self, story: Story) -> None:
        assert story.agent is not None
        resolutions = tx.TEXTS[self.base.names[story.cat]][3]
        articles = self.articles.get(story.cat)
        text = self.rnd.choice(resolutions)
        if articles and self.rnd.random() < 0.3:
            text += " Подробнее — в статье базы знаний."
        w = self.send(self.desk.resolve, story.agent, story.id, text)
        if w is not None:
            self._after_resolution(story, self.clock.now)

    def _after_resolution(self, story: Story, resolved: datetime) -> None:
        """The requester rates (or reopens); left resolved, the request is closed in 5 working
        days (7 calendar days) as the SLA process would; a sample gets a quality review."""
        rnd = self.rnd
        later = resolved + timedelta(minutes=int(rnd.expovariate(1 / 600)) + 5)
        if story.requester is not None and rnd.random() < 0.035 and story.incident is None:
            self.at(later, self._reopen, story)
            return
        if story.requester is not None and rnd.random() < 0.62:
            self.at(later, self._rate, story)
        self.at(resolved + timedelta(days=7, minutes=rnd.randint(0, 600)), self._close, story)
        if rnd.random() < 0.03:
            self.at(working(resolved + timedelta(days=rnd.randint(1, 5)), rnd), self._review,
                    story)  # fmt: skip

    def _reopen(self, story: Story) -> None:
        assert story.requester is not None
        self.send(self.desk.reopen, story.requester, story.id, self.rnd.choice(tx.REOPEN_REASONS))
        story.agent = story.agent or self.rnd.choice(self.line1)
        again = working(self.clock.now + timedelta(minutes=self.rnd.randint(30, 600)), self.rnd)
        self.at(again, self._resolve, story)

    def _rate(self, story: Story) -> None:
        assert story.requester is not None
        rnd = self.rnd
        weights = (3, 3, 8, 22, 64) if story.line == 1 else (5, 6, 12, 27, 50)
        score = rnd.choices((1, 2, 3, 4, 5), weights)[0]
        w = self.send(self.desk.rate, story.requester, story.id, score,
                      rnd.choice(tx.RATING_COMMENTS[score]))  # fmt: skip
        if w is not None and score <= LOW_RATING:
            self.send(self.desk.raise_follow_up, story.id, w.version, score)
            if rnd.random() < 0.8:
                when = working(self.clock.now + timedelta(hours=rnd.randint(2, 40)), rnd)
                self.at(when, self._follow_up, story, w.version)

    def _follow_up(self, story: Story, rated_version: int) -> None:
        """The lead of the group the request is in talks to the requester (line 3 has no lead
        in the demo: its follow-ups stay open on the quality page)."""
        group_id = self.desk.ticket(SYSTEM, story.id).group_id
        group = self.desk.repository.get(group_id) if group_id else None
        if not isinstance(group, Group) or group.lead is None:
            return
        self.send(self.desk.finish_follow_up, self.desk.actor_for(group.lead), story.id,
                  rated_version, self.rnd.choice(tx.FOLLOW_UP_NOTES))  # fmt: skip

    def _close(self, story: Story) -> None:
        self.send(self.desk.send, CloseUnanswered(story.id, None, tx.CLOSE_REASON))

    def _review(self, story: Story) -> None:
        rnd = self.rnd
        scores = {i.key: rnd.choices((0, 1, 2), (1, 3, 8))[0] for i in DEFAULT_ITEMS}
        self.send(
            self.desk.review_quality,
            self.base.people["quality"],
            story.id,
            scores,
            rnd.choice(("", "Ответ корректный.", "Можно было ответить подробнее.")),
        )

    # -- mass incidents ----------------------------------------------------------------------
    def _plan_incidents(self) -> None:
        """A few outages over the quarter, each a burst of one category's requests."""
        rnd = self.rnd
        count = max(1, min(7, self.requests // 2500))
        per = self._spikes // count if count else 0
        titles = {
            "Электронная подпись": "Сбой сервиса проверки подписи",
            "Вход в личный кабинет": "Недоступен вход через ЕСИА",
            "Реестр контрактов": "Не отправляются сведения в реестр контрактов",
            "Извещения о закупках": "Ошибка 500 при открытии извещений",
            "Протоколы и заявки участников": "Сбой обмена с электронными площадками",
        }
        choices = [i for i, n in enumerate(self.base.names) if n in titles]
        for n in range(count):
            day = self.start + timedelta(days=(n + 0.5) * self.days / count)
            day = working(day.replace(hour=WORK_START + rnd.randint(0, 5)), rnd)
            cat = choices[n % len(choices)]
            hours = rnd.randint(3, 8)
            self.at(day + timedelta(minutes=25), self._open_incident, cat,
                    titles[self.base.names[cat]], day, hours, per)  # fmt: skip

    def _open_incident(self, cat: int, title: str, since: datetime, hours: int, burst: int
                       ) -> None:  # fmt: skip
        rnd, p = self.rnd, self.base.people
        w = self.send(self.desk.open_incident, p["ops"], title,
                      "Мы знаем о проблеме и восстанавливаем работу сервиса.",
                      Criteria(category_id=self.base.cats[cat]), since)  # fmt: skip
        if w is None:
            return
        self.figures.incidents += 1
        for _ in range(burst):
            self.at(self.clock.now + timedelta(seconds=rnd.randrange(hours * 3600)), self._file,
                    cat, w.id)  # fmt: skip
        self.at(self.clock.now + timedelta(minutes=70), self._incident_update, w.id)
        self.at(self.clock.now + timedelta(hours=hours, minutes=5), self._resolve_incident, w.id)

    def _auto_link(self, story: Story) -> None:
        assert story.incident is not None
        if self.send(self.desk.auto_link, story.incident, (story.id,)) is not None and \
                story.requester is not None and self.rnd.random() < 0.4:  # fmt: skip
            self.at(self.clock.now + timedelta(hours=12), self._rate, story)

    def _incident_update(self, incident: UUID) -> None:
        self.send(
            self.desk.publish_incident_update,
            self.base.people["ops"],
            incident,
            "Причина найдена, идёт восстановление. Ориентировочно — в течение дня.",
        )

    def _resolve_incident(self, incident: UUID) -> None:
        self.send(self.desk.resolve_incident, self.base.people["dev"], incident,
                  "Работа сервиса восстановлена. Повторите, пожалуйста, действие.")  # fmt: skip

    # -- the knowledge base ------------------------------------------------------------------
    def _plan_knowledge(self) -> None:
        """Articles published over the quarter, and "this helped" marks on them."""
        rnd = self.rnd
        for cat, name in enumerate(self.base.names):
            subjects, _, replies, resolutions = tx.TEXTS[name]
            for n in range(min(3, len(subjects))):
                when = self.start + timedelta(days=rnd.uniform(0, self.days * 0.8))
                self.at(working(when, rnd), self._article, cat, subjects[n], resolutions[
                    n % len(resolutions)], None)  # fmt: skip
            when = self.start + timedelta(days=rnd.uniform(0, 5))  # line 1's answer template
            self.at(working(when, rnd), self._template, cat, subjects[0], replies[0])

    def _article(self, cat: int, title: str, body: str, gap: UUID | None) -> None:
        d, rnd = self.desk, self.rnd
        author, reviewer = self.methodologists if rnd.random() < 0.5 else \
            self.methodologists[::-1]  # fmt: skip
        content = Content(title, "", f"{body} Если ошибка повторяется, напишите в поддержку.",
                          "", Audience.PUBLIC, (self.base.cats[cat],),
                          tags=(self.base.names[cat].split()[0].lower(),))  # fmt: skip
        w = self.send(d.draft_article, author, Kind.ARTICLE, content, gap)
        if w is None:
            return
        self.send(d.submit_article, author, w.id)
        later = working(self.clock.now + timedelta(hours=rnd.randint(1, 30)), rnd)
        self.at(later, self._publish, cat, w.id, author, reviewer)

    def _template(self, cat: int, subject: str, reply: str) -> None:
        """An answer template for the category (line 1 answers from it now and then)."""
        d, (author, reviewer) = self.desk, self.methodologists
        content = Content(f"Ответ: {subject.lower()}", "", "{requester_name}, здравствуйте! По "
                          "обращению №{ticket_number}: " + reply, "",
                          category_ids=(self.base.cats[cat],))  # fmt: skip
        w = self.send(d.draft_article, author, Kind.ANSWER_TEMPLATE, content)
        if w is None:
            return
        self.send(d.submit_article, author, w.id)
        self.send(d.review_article, reviewer, w.id, True, "Проверено")
        if self.send(d.publish_article, author, w.id) is not None:
            self.templates[cat] = w.id

    def _publish(self, cat: int, article: UUID, author: Actor, reviewer: Actor) -> None:
        d, rnd = self.desk, self.rnd
        self.send(d.review_article, reviewer, article, True, "Проверено")
        if self.send(d.publish_article, author, article) is None:
            return
        self.figures.articles += 1
        self.articles.setdefault(cat, []).append(article)
        for _ in range(rnd.randint(3, 25)):
            when = self.clock.now + timedelta(days=rnd.uniform(0.1, self.days))
            self.at(when, self._helped, article)

    def _helped(self, article: UUID) -> None:
        self.send(self.desk.mark_helpful, self.rnd.choice(self.requesters), article)

    def _gap(self, story: Story) -> None:
        """Line 1 finds no article: a knowledge gap for the methodologists, answered later by
        an article that resolves it; the request is resolved once it is published."""
        assert story.agent is not None
        rnd = self.rnd
        subjects, _, _, resolutions = tx.TEXTS[self.base.names[story.cat]]
        subject = f"Нет статьи: {rnd.choice(subjects).lower()}"
        filed = self.send(self.desk.handle, story.agent, RaiseKnowledgeGap(
            subject, "Заявители спрашивают, а ответа в базе знаний нет.",
            self.base.groups[GroupKind.METHODOLOGY], (story.id,)))  # fmt: skip
        if filed is None:
            return
        self.figures.gaps += 1
        when = working(self.clock.now + timedelta(days=rnd.uniform(0.5, 6)), rnd)
        self.at(when, self._article, story.cat, subject.removeprefix("Нет статьи: ").capitalize(),
                rnd.choice(resolutions), filed.id)  # fmt: skip
        self.at(working(when + timedelta(days=1, hours=rnd.randint(1, 8)), rnd), self._resolve,
                story)  # fmt: skip
