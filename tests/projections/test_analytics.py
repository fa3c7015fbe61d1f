"""Analytics from a synthetic month of desk activity: every figure equals the hand-computed one.

The events' timestamps come from a controlled clock, so each request's delays are known exactly
(March 2026; the 2nd is a Monday). Figures are `Fraction`s: compared with `==`, never approximately.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction as F
from uuid import UUID

import pytest
from eventsourcing.domain import CanCreateTimestamp

from domain.errors import DeskError
from projections import analytics_queries as aq
from projections.analytics import Fact
from projections.analytics_days import holders_of
from projections.system import Projections
from tests.world import World


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, tzinfo=UTC)

    def at(self, day: int, hour: int, minute: int = 0, month: int = 3) -> None:
        self.now = datetime(2026, month, day, hour, minute, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    c = Clock()
    monkeypatch.setattr(CanCreateTimestamp, "create_timestamp", staticmethod(c))
    yield c


def month(world: World, clock: Clock) -> dict[str, UUID]:
    """Ten requests in March (and one either side); the comments give each one's delays."""
    d, agent, eng, req = world.desk, world.agent, world.engineer, world.requester
    t: dict[str, UUID] = {}

    def file(name: str, day: int, hour: int, minute: int = 0, month: int = 3) -> UUID:
        clock.at(day, hour, minute, month)
        t[name] = d.file_ticket(req, world.contracts, name, "Ошибка подписи.",
                                {"contract_number": "1234567890123456789"}).id  # fmt: skip
        return t[name]

    def at(day: int, hour: int, minute: int = 0, month: int = 3) -> None:
        clock.at(day, hour, minute, month)

    x = file("before", 28, 23, 59, month=2)  # outside the period
    at(28, 23, 59, month=2)
    d.reply(agent, x, "Ответ")

    x = file("T1", 2, 9)  # FR 2 h, resolved in 4 h on line 1, rated 5
    at(2, 11)
    d.reply(agent, x, "Проверьте сертификат")
    at(2, 13)
    d.resolve(agent, x, "Готово")
    d.rate(req, x, 5)

    x = file("T2", 2, 10)  # information requested after 30 min, resolved in 24 h, rated 4
    at(2, 10, 10)  # taken: held 20 min, waits 10:30-12:00, held again until resolved
    d.assign(agent, x, world.line1, agent.id)
    at(2, 10, 30)
    d.request_information(agent, x, (), ("Какой ИНН?",), "Уточните")
    at(2, 12)
    d.provide_information(req, x, {}, ("7707083893",))
    at(3, 10)
    d.resolve(agent, x, "Готово")
    d.rate(req, x, 4)

    x = file("T3", 3, 9)  # FR 1 h, escalated to line 2, resolved there in 24 h, rated 3
    at(3, 10)
    d.reply(agent, x, "Передаём инженерам")
    at(3, 11)
    d.escalate(agent, x, world.line2, "Нужен инженер")
    at(4, 9)
    d.resolve(eng, x, "Исправлено")
    d.rate(req, x, 3)

    x = file("T4", 9, 9)  # transferred to the line 2 group: FR 3 h, resolved in 6 h, unrated
    at(9, 9, 15)
    d.transfer(agent, x, world.line2, "Не наш вопрос", eng.id)
    at(9, 12)
    d.reply(eng, x, "Смотрю")
    at(9, 15)
    d.resolve(eng, x, "Готово")

    x = file("T5", 10, 9)  # resolved in 8 h, rated 2, reopened, resolved again: 27 h, rated 1
    at(10, 17)
    d.resolve(agent, x, "Готово")
    d.rate(req, x, 2)
    at(11, 9)
    d.reopen(req, x, "Не помогло")
    at(11, 10)
    d.reply(agent, x, "Ещё раз")
    at(11, 12)
    d.resolve(agent, x, "Теперь готово")
    d.rate(req, x, 1)

    x = file("T6", 16, 9)  # a first-response breach; FR 5 h, resolved in 24 h, unrated
    at(16, 12)
    d.raise_sla_alarm(x, "first_response_breach", clock.now, "Стандарт")
    at(16, 14)
    d.reply(agent, x, "Извините за задержку")
    at(17, 9)
    d.resolve(agent, x, "Готово")

    x = file("T7", 16, 10)  # FR 1 h, still open
    at(16, 11)
    d.reply(agent, x, "Работаем")

    file("T8", 23, 9)  # never answered

    x = file("T9", 30, 9)  # two information requests (the first after 6 minutes), waiting
    at(30, 9, 6)
    d.request_information(agent, x, (), ("Номер?",), "Уточните")
    at(30, 10)
    d.provide_information(req, x, {}, ("42",))
    at(30, 12)
    d.request_information(agent, x, (), ("Дата?",), "Уточните")

    x = file("T10", 31, 9)  # FR 30 min, resolved in 1 h, rated 5, closed next day
    at(31, 9, 30)
    d.reply(agent, x, "Готовим")
    at(31, 10)
    d.resolve(agent, x, "Готово")
    d.rate(req, x, 5)
    at(1, 9, month=4)
    d.close_ticket(agent, x)

    file("after", 1, 0, month=4)  # outside the period
    return t


def test_a_month_of_activity_gives_the_hand_computed_figures(
    world: World, projections: Projections, clock: Clock
) -> None:
    t = month(world, clock)
    projections.catch_up()
    with projections.db.read() as tx:
        r = aq.report(tx, date(2026, 3, 1), date(2026, 3, 31), "week",
                      now=datetime(2026, 3, 31, 18, tzinfo=UTC))  # fmt: skip
    total = r.total
    assert total.filed == 10
    with projections.db.read() as tx:
        behind = aq.requests(tx, date(2026, 3, 1), date(2026, 3, 31), "week", None)
    assert sorted(f.ticket_id for f in behind) == sorted(str(t[f"T{i}"]) for i in range(1, 11))
    # first responses (h): 2, 0.5, 1, 3, 8, 5, 1, 0.1, 0.5 (T8 has none)
    assert total.first_response == aq.Stats(9, F(211, 90), F(1), F(8))
    # resolutions (h) of the 7 resolved: 4, 24, 24, 6, 27, 24, 1
    assert total.resolution == aq.Stats(7, F(110, 7), F(24), F(27))
    # held by an agent (h): T2 22 1/3 (not while waiting), T4 5.75 (transferred to a person)
    assert total.handling == aq.Stats(7, F(337, 84), F(0), F(67, 3))
    assert (total.resolved, total.line1, total.line1_share) == (7, 5, F(5, 7))
    assert (total.reopened, total.ever_resolved, total.reopen_rate) == (1, 7, F(1, 7))
    assert (total.info_requests, total.info_per_request) == (3, F(3, 10))
    assert (total.within_sla, total.sla_compliance) == (6, F(6, 7))
    assert (total.rated, total.csi, total.response_rate) == (5, F(18, 5), F(5, 7))
    assert total.ratings == {1: 1, 2: 0, 3: 1, 4: 1, 5: 2}
    assert r.backlog == [("< 1 day", 0), ("1-3 days", 1), ("3-7 days", 0),
                         ("7-30 days", 2), ("> 30 days", 0)]  # fmt: skip

    weeks = {f.key: f for f in r.rows}
    assert list(weeks) == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]
    assert [f.filed for f in weeks.values()] == [3, 2, 2, 1, 2]
    first = weeks["2026-03-02"]  # T1 2 h, T2 0.5 h, T3 1 h; resolved in 4, 24, 24 h
    assert first.first_response == aq.Stats(3, F(7, 6), F(1), F(2))
    assert first.resolution == aq.Stats(3, F(52, 3), F(24), F(24))
    assert (first.line1_share, first.csi, first.ratings[4]) == (F(2, 3), F(4), 1)
    second = weeks["2026-03-09"]  # T4 3 h / 6 h, T5 8 h / 27 h: even counts take the midpoint
    assert second.first_response == aq.Stats(2, F(11, 2), F(11, 2), F(8))
    assert second.resolution == aq.Stats(2, F(33, 2), F(33, 2), F(27))
    assert (second.reopen_rate, second.line1_share) == (F(1, 2), F(1, 2))
    third = weeks["2026-03-16"]
    assert (third.sla_compliance, third.resolved, third.filed) == (F(0), 1, 2)


def test_dimensions_split_the_same_requests(
    world: World, projections: Projections, clock: Clock
) -> None:
    month(world, clock)
    projections.catch_up()
    with projections.db.read() as tx:

        def split(dim: str) -> dict[str, int]:
            r = aq.report(tx, date(2026, 3, 1), date(2026, 3, 31), dim)
            return {f.key: f.filed for f in r.rows}

        by_line = split("line")
        by_group = split("group")
        by_agent = split("agent")
        by_day = split("day")
        by_month = split("month")
        by_channel = split("channel")
        by_org = split("organisation")
        by_category = split("category")
        agents = aq.report(tx, date(2026, 3, 1), date(2026, 3, 31), "agent")
        resolved_by = {f.key: f.resolved for f in agents.rows}
        handled_by = {f.key: f.handling for f in agents.rows if f.handling.count}
        behind = aq.requests(tx, date(2026, 3, 1), date(2026, 3, 31), "line", "2")
    assert by_line == {"1": 9, "2": 1}
    assert by_group == {str(world.line1): 8, str(world.line2): 2}
    agent, eng = str(world.agent.id), str(world.engineer.id)
    assert resolved_by == {agent: 5, eng: 2, "": 0}
    # each agent's own held time: agent1 T2 (22 h 20 min), engineer2 T4 (5 h 45 min)
    assert handled_by == {agent: aq.Stats(1, F(67, 3), F(67, 3), F(67, 3)),
                          eng: aq.Stats(1, F(23, 4), F(23, 4), F(23, 4))}  # fmt: skip
    assert agents.total.handling.count == 7  # the total is per request, as in every split
    assert by_agent == {agent: 5, eng: 2, "": 3}
    days = {"02": 2, "03": 1, "09": 1, "10": 1, "16": 2, "23": 1, "30": 1, "31": 1}
    assert by_day == {f"2026-03-{d}": n for d, n in days.items()}
    assert by_month == {"2026-03": 10}
    assert by_channel == {"cabinet": 10}
    assert by_org == {str(world.org): 10}
    assert by_category == {str(world.contracts): 10}
    assert [f.number for f in behind] == [4]  # T3 (the request before March is number 1)


def test_bad_filters_are_refused() -> None:
    with pytest.raises(aq.BadFilter):
        aq.period("2026-03-31", "2026-03-01")
    with pytest.raises(aq.BadFilter):
        aq.period("March", "2026-03-01")
    with pytest.raises(aq.BadFilter):
        aq.dimension("weather")
    assert aq.period("2026-03-01", "2026-03-31") == (date(2026, 3, 1), date(2026, 3, 31))
    assert aq.hours(F(211, 90)) == "2.34" and aq.hours(F(5, 2), 0) == "3"
    assert aq.percent(F(5, 7)) == "71.4" and aq.hours(None) == ""


def _random_desk(world: World, clock: Clock, seed: int, steps: int) -> None:
    """Requests filed over a week and moved at random: taken, transferred, escalated, waiting,
    resolved, reopened, rated, closed, breached. Refused moves are simply skipped."""
    rnd = random.Random(seed)
    d, agent, eng, req = world.desk, world.agent, world.engineer, world.requester
    tickets: list[UUID] = []
    minute = 0
    moves: list[Callable[[UUID], object]] = [
        lambda x: d.assign(agent, x, world.line1, rnd.choice((agent.id, None))),
        lambda x: d.transfer(agent, x, world.line2, "Не наш вопрос", eng.id),
        lambda x: d.escalate(agent, x, world.line2, "Нужен инженер"),
        lambda x: d.reply(rnd.choice((agent, eng)), x, "Ответ"),
        lambda x: d.request_information(agent, x, (), ("Номер?",), "Уточните"),
        lambda x: d.provide_information(req, x, {}, ("42",)),
        lambda x: d.write(req, x, "Ещё вопрос"),
        lambda x: d.resolve(rnd.choice((agent, eng)), x, "Готово"),
        lambda x: d.reopen(req, x, "Не помогло"),
        lambda x: d.rate(req, x, rnd.randint(1, 5)),
        lambda x: d.close_ticket(agent, x),
        lambda x: d.raise_sla_alarm(x, rnd.choice(("first_response_breach",
                                                   "resolution_breach")), clock.now, "Стандарт"),
    ]  # fmt: skip
    for _ in range(steps):
        minute += rnd.randint(1, 400)
        clock.now = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=minute)
        if not tickets or rnd.random() < 0.1:
            fields = {"contract_number": "1234567890123456789"}
            tickets.append(d.file_ticket(req, world.contracts, "Запрос", "Ошибка.", fields).id)
            continue
        with contextlib.suppress(DeskError):
            rnd.choice(moves)(rnd.choice(tickets[-6:]))


def by_holder(expected: dict[str, aq.Figures], facts: list[Fact]) -> dict[str, aq.Figures]:
    """The agent split's handling time: per agent, the time they held each resolved request."""
    held: dict[str, list[int]] = {}
    for f in facts:
        if f.resolved_at is not None:
            for agent, micros in holders_of(f).items():
                held.setdefault(agent, []).append(micros)
    out = {k: replace(v, handling=aq.stats(held.get(k, []))) for k, v in expected.items()}
    for agent in held.keys() - out.keys():
        out[agent] = replace(aq.figures(agent, []), handling=aq.stats(held[agent]))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_the_per_day_table_gives_the_figures_of_the_requests_themselves(
    world: World, projections: Projections, clock: Clock, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests that move between days' rows many times (reopened, transferred, rated, ...): for
    every dimension, each row and the total equal the figures computed request by request; and
    a rebuild of the view from the log writes the same per-day table."""
    projections.runner("analytics").batch = 5  # facts change across batches, not only inside one
    if seed == 2:  # select every median and p90 with numpy, as big groups are
        monkeypatch.setattr(aq, "SMALL", 0)
    _random_desk(world, clock, seed, steps=300)
    projections.catch_up()
    start, end = date(2026, 3, 1), date(2026, 4, 30)

    def table() -> list[tuple[object, ...]]:
        with projections.db.read() as tx:
            return [
                tuple(r) for r in tx.all("SELECT * FROM v_analytics_days ORDER BY dim, day, key")
            ]

    with projections.db.read() as tx:
        facts = aq.requests(tx, start, end, "day", None)
        assert len(facts) > 20 and any(f.reopens for f in facts) and any(f.transfers for f in facts)
        assert any(f.handle_us for f in facts)
        # whole months (month rows of agents and organisations), a month and days, days only
        for a, b in ((start, end), (date(2026, 3, 5), end), (date(2026, 3, 5), date(2026, 4, 8))):
            some = [f for f in facts if a.isoformat() <= f.filed_day <= b.isoformat()]
            for dim in aq.DIMENSIONS:
                r = aq.report(tx, a, b, dim)
                groups: dict[str, list[Fact]] = {}
                for f in some:
                    groups.setdefault(aq.key_of(f, dim), []).append(f)
                expected = {k: aq.figures(k, v) for k, v in groups.items()}
                if dim == "agent":  # handling time: each agent's own, on what they held
                    expected = by_holder(expected, some)
                assert {g.key: g for g in r.rows} == expected, (a, b, dim)
                assert r.total == aq.figures("", some)
        for now in (datetime(2026, 3, 9, 7, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)):
            ages = dict.fromkeys((label for label, _ in aq.AGE_BUCKETS), 0)
            for f in facts:
                if f.status == "open":
                    age = now - datetime.fromisoformat(f.filed_at)
                    ages[next(lb for lb, lim in aq.AGE_BUCKETS if not lim or age < lim)] += 1
            assert aq.backlog(tx, start, end, now) == list(ages.items())
    before = table()
    projections.runner("analytics").rebuild()
    assert table() == before


def test_line_1_is_neither_escalated_nor_a_mass_incident_and_earlier_ratings_are_kept(
    world: World, projections: Projections
) -> None:
    """Resolved on line 1 (the one definition, `resolved_on_line1`): not a request escalated
    to line 2, nor one assigned straight to line 2's group, nor one resolved by a mass
    incident's answer, not one an agent resolved while it
    was linked to an incident; one taken out of the incident and resolved by line 1 is. A
    reopening keeps the earlier rating in the history: the standing one counts in CSI."""
    d, agent, eng, req = world.desk, world.agent, world.engineer, world.requester

    def file(subject: str) -> UUID:
        return d.file_ticket(req, world.contracts, subject, "Ошибка подписи.",
                             {"contract_number": "1234567890123456789"}).id  # fmt: skip

    own = file("Сами решили")
    d.resolve(agent, own, "Готово")
    up = file("Эскалация")
    d.escalate(agent, up, world.line2, "Нужен инженер")
    d.resolve(eng, up, "Исправлено")
    direct = file("Сразу на вторую линию")  # assigned to line 2's group, not escalated
    d.assign(agent, direct, world.line2, None)
    d.resolve(eng, direct, "Исправлено")
    by_incident, by_agent, taken_out = file("Сбой 1"), file("Сбой 2"), file("Сбой 3")
    incident = d.open_incident(world.developer, "Сбой ЭЦП", "Знаем, чиним.").id
    d.link_to_incident(world.agent, incident, (by_incident, by_agent, taken_out))
    d.resolve(agent, by_agent, "Решено обходным путём")  # while linked: the incident's work
    d.unlink_from_incident(world.agent, incident, taken_out)
    d.resolve(agent, taken_out, "Не связано со сбоем")
    d.resolve_incident(world.developer, incident, "Сбой устранён.")  # resolves `by_incident`
    d.rate(req, own, 2)
    d.reopen(req, own, "Не помогло")
    d.resolve(agent, own, "Теперь готово")
    d.rate(req, own, 5)
    reopened_unrated = file("Переоткрыт без новой оценки")
    d.resolve(agent, reopened_unrated, "Готово")
    d.rate(req, reopened_unrated, 3)
    d.reopen(req, reopened_unrated, "Снова не работает")
    projections.catch_up()
    today = datetime.now(UTC).date()
    with projections.db.read() as tx:
        facts = {f.ticket_id: f for f in aq.requests(tx, today, today, "day", None)}
        report = aq.report(tx, today, today, "line")
    line1 = {t for t, f in facts.items() if f.line1}
    assert line1 == {str(own), str(taken_out)}
    assert all(facts[str(t)].resolved_at for t in (own, up, direct, by_incident, by_agent,
                                                   taken_out))  # fmt: skip
    total = report.total
    assert (total.resolved, total.line1, total.line1_share) == (6, 2, F(1, 3))
    assert total == aq.figures("", list(facts.values()))  # the per-day table agrees
    assert (total.rated, total.csi, total.ratings[5]) == (1, F(5), 1)
    assert (total.earlier_ratings, total.earlier_csi, total.replaced_ratings) == (2, F(5, 2), 1)
