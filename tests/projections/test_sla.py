"""SLA clocks through the view and the process: deadlines from the tickets' own events, pauses
kept across a policy change, alarms raised once at the right moment with a controllable clock,
escalation on breach, and requests closed when their requester stays silent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from domain.sla_setup import CalendarSpec, Policy, SlaSetup
from domain.ticket import Priority, Status, Ticket
from processes.sla_timer import SlaTimer
from projections.sla import Row, deadlines, schedule, stamp
from projections.system import Projections
from tests.world import World

MSK = ZoneInfo("Europe/Moscow")
DAY = CalendarSpec("business", "Будни", holidays=(date(2026, 11, 4),))
ALWAYS = CalendarSpec("24x7", "Круглосуточно", always=True)


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK)


def setup_with(*policies: Policy, auto_close_days: int = 5) -> SlaSetup:
    setup = SlaSetup.start()
    setup.change(None, (DAY, ALWAYS), policies, auto_close_days)
    return setup


def test_a_weekend_wait_and_a_holiday_move_the_deadline_and_a_new_policy_keeps_the_pause() -> None:
    category = uuid4()
    policy = Policy(uuid4(), "Обычная", 60, 8 * 60, 75, category_id=category)
    row = Row(str(uuid4()), str(category), "normal", "new", 1, stamp(msk(6, 17)) or "")
    row.set_running(True, msk(6, 17))  # Friday 17:00
    row.answered_at = stamp(msk(6, 17, 30))
    row.set_running(False, msk(6, 17, 30))  # waiting for the requester over the weekend
    row.set_running(True, msk(9, 11))  # he answers on Monday 11:00
    schedule(row, setup_with(policy))
    # 8 working hours: 30 min on Friday, then Monday 11:00-18:00 (7 h), then 30 min on Tuesday
    assert row.res_due == stamp(msk(10, 9, 30))
    assert row.fr_due is None and row.next_kind == "resolution_warning"
    assert row.next_alarm == stamp(msk(9, 16, 30)), "75% of 8 h is 6 h: 30 min + 5.5 h"
    # a new policy mid-flight (24x7, 4 h) recomputes from the same intervals: 30 min already used
    faster = Policy(uuid4(), "Срочная", 30, 4 * 60, 50, category_id=category, calendar="24x7")
    schedule(row, setup_with(faster))
    assert row.res_due == stamp(msk(9, 14, 30)), "the weekend pause is not lost"
    # Tuesday 3 November -> the holiday on the 4th is skipped
    row2 = Row(str(uuid4()), str(category), "normal", "new", 1, stamp(msk(3, 17)) or "")
    row2.set_running(True, msk(3, 17))
    schedule(row2, setup_with(policy))
    assert row2.res_due == stamp(msk(5, 16))


def test_the_most_specific_policy_wins() -> None:
    category = uuid4()
    default = Policy(uuid4(), "По умолчанию", 60, 600)
    urgent = Policy(uuid4(), "Критичные", 15, 120, priority=Priority.CRITICAL)
    this = Policy(uuid4(), "Эта категория", 30, 300, category_id=category)
    both = Policy(uuid4(), "Эта, критичные", 10, 60, category_id=category,
                  priority=Priority.CRITICAL)  # fmt: skip
    setup = setup_with(default, urgent, this, both)
    assert setup.policy_for(category, Priority.CRITICAL) == both
    assert setup.policy_for(category, Priority.NORMAL) == this
    assert setup.policy_for(uuid4(), Priority.CRITICAL) == urgent
    assert setup.policy_for(uuid4(), Priority.LOW) == default


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def alarms(world: World, ticket: UUID) -> list[str]:
    return [e.alarm for e in world.desk.repository.event_store.get(ticket)
            if isinstance(e, Ticket.SlaAlarmed)]  # fmt: skip


def test_alarms_fire_once_at_their_moment_escalate_and_survive_a_restart(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    policy = Policy(uuid4(), "Контракты", 60, 240, 50, category_id=world.contracts,
                    calendar="24x7")  # fmt: skip
    desk.set_sla(world.admin, (DAY, ALWAYS), (policy,), 5)
    filed = world.file()
    projections.catch_up()
    clock = Clock()
    timer = SlaTimer(desk, projections.db, now=clock)
    assert timer.tick() == 0, "nothing is due yet"
    clock.now += timedelta(minutes=31)
    assert timer.tick() == 1 and alarms(world, filed.id) == ["first_response_warning"]
    assert timer.tick() == 0, "the view has not caught up, yet nothing fires twice"
    projections.catch_up()
    clock.now += timedelta(minutes=30)
    assert timer.tick() == 1
    projections.catch_up()
    assert alarms(world, filed.id) == ["first_response_warning", "first_response_breach"]
    # a restart: a new process with the same clock repeats nothing
    assert SlaTimer(desk, projections.db, now=clock).tick() == 0
    clock.now += timedelta(hours=4)  # resolution warning and breach are both due by now
    for _ in range(3):
        timer.tick()
        projections.catch_up()
    assert alarms(world, filed.id)[2:] == ["resolution_warning", "resolution_breach"]
    ticket = desk.ticket(world.admin, filed.id)
    assert ticket.line == 2 and ticket.group_id == world.line2, "a breach escalates per policy"
    with projections.db.read() as tx:
        shown = deadlines(tx, [str(filed.id)])[str(filed.id)]
    assert shown["policy"] == "Контракты" and "resolution_breach" in shown["fired"]


def test_waiting_pauses_the_clock_and_no_alarm_fires_while_it_waits(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    policy = Policy(uuid4(), "Контракты", 60, 120, 50, category_id=world.contracts,
                    calendar="24x7")  # fmt: skip
    desk.set_sla(world.admin, (DAY, ALWAYS), (policy,), 5)
    filed = world.file()
    desk.request_information(world.agent, filed.id, ("signed_on",), (), "Уточните дату")
    projections.catch_up()
    clock = Clock()
    clock.now += timedelta(days=3)
    timer = SlaTimer(desk, projections.db, now=clock)
    assert timer.tick() == 0 and alarms(world, filed.id) == [], "answered, then waiting"
    with projections.db.read() as tx:
        assert deadlines(tx, [str(filed.id)])[str(filed.id)]["res_due"] is None


def test_a_resolved_request_closes_by_itself_unless_reopened(
    world: World, projections: Projections
) -> None:
    desk = world.desk
    desk.set_sla(world.admin, (DAY, ALWAYS), (), 2)
    quiet, reopened = world.file().id, world.file().id
    for t in (quiet, reopened):
        desk.resolve(world.agent, t, "Готово")
    desk.reopen(world.requester, reopened, "Не помогло")
    projections.catch_up()
    clock = Clock()
    timer = SlaTimer(desk, projections.db, now=clock)
    assert timer.tick() == 0, "two working days have not passed"
    clock.now += timedelta(days=6)  # at least two working days, whatever today is
    assert timer.tick() == 1
    assert desk.ticket(world.admin, quiet).status is Status.CLOSED
    assert desk.ticket(world.admin, reopened).status is Status.OPEN
