"""The projection pump: one batch of the log for every view, in one transaction.

Exactly once across views: a batch several views have written rows for is rolled back whole by
a crash (an exception, or the process killed with SIGKILL), and the restart repeats nothing.
A view that lags or fails is set beside the pump and never holds the others back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from domain.settings import Settings
from projections.base import set_tracking
from projections.system import Projections
from tests.projections.stories import Crash, crash_the_last_replier, dump, positions
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]


def rebuilt(p: Projections) -> dict[str, list[tuple[object, ...]]]:
    for r in p.runners:
        r.rebuild()
    return dump(p)


def _work(world: World, n: int = 3) -> tuple[int, int]:
    """Tickets with replies and notes; returns (a reply's position, the last position)."""
    d, agent = world.desk, world.agent
    tickets = [world.file(subject=f"Заявка {i}").id for i in range(n)]
    for t in tickets:
        d.reply(agent, t, "Проверьте сертификаты")
        d.note(agent, t, "Сбой сертификата")
    target = d.reply(agent, tickets[1], "Ответ, на котором упадёт пампа").position
    last = d.write(world.requester, tickets[-1], "Спасибо, жду").position
    return target, last


def test_a_crash_in_a_later_view_rolls_back_the_rows_every_earlier_view_wrote(
    world: World, projections: Projections
) -> None:
    pump = projections.pump
    first = world.file(subject="Уже в видах").position
    pump.catch_up()
    target, last = _work(world)
    before, tracked = dump(projections), positions(projections)
    assert set(tracked.values()) == {first}
    order = [r.view.name for r in pump.in_step]
    crashing, seen = crash_the_last_replier(projections, target)  # the others wrote rows first
    assert order.index(crashing) > order.index("timeline") > order.index("tickets")
    with pytest.raises(Crash):
        pump.step()
    assert target in seen
    assert positions(projections) == tracked  # nobody moved
    assert dump(projections) == before  # the earlier views' rows were rolled back with it

    projections.runner(crashing).fault = None
    pump.catch_up()
    assert set(positions(projections).values()) == {last}
    assert dump(projections) == rebuilt(projections)


def test_the_pump_killed_mid_batch_leaves_every_view_where_it_was(
    world: World, projections: Projections, settings: Settings
) -> None:
    """SIGKILL from inside the batch, after several views handled the target event."""
    first = world.file(subject="Уже в видах").position
    projections.catch_up()
    target, last = _work(world)
    before, tracked = dump(projections), positions(projections)
    env = dict(os.environ, SUZ_DATA_DIR=str(settings.data_dir), PYTHONPATH=str(ROOT))
    if settings.database_url:
        env |= {"SUZ_DATABASE_URL": settings.database_url,
                "SUZ_DATABASE_SCHEMA": settings.schema or ""}  # fmt: skip
    else:
        env.pop("SUZ_DATABASE_URL", None)
    killer = KILL_AT.format(target=target)
    done = subprocess.run([sys.executable, "-c", killer], env=env, cwd=ROOT, timeout=120,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    views_before_kill = done.stdout.split()
    assert len(views_before_kill) >= 3, done.stdout  # several views had handled it
    assert set(positions(projections).values()) == {first}
    assert positions(projections) == tracked
    assert dump(projections) == before

    projections.catch_up()  # the restart
    assert set(positions(projections).values()) == {last}
    assert dump(projections) == rebuilt(projections)


KILL_AT = """
import os, signal, sys
from domain.desk import Desk
from domain.settings import Settings
from processes.system import read_side
settings = Settings.from_env()
desk = Desk(settings.store_env())
p = read_side(desk, settings)
handled = []
def fault(position, name):
    if position == {target}:
        handled.append(name)
        if len(handled) == 4:  # three views handled it and wrote their rows; the fourth dies
            print(" ".join(handled[:-1]), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
for r in p.runners:
    r.fault = lambda position, name=r.view.name: fault(position, name)
p.pump.catch_up()
sys.exit(3)  # not reached
"""


def test_a_view_far_behind_catches_up_beside_the_pump_while_the_others_keep_up(
    world: World, projections: Projections
) -> None:
    for i in range(30):
        world.file(subject=f"Заявка {i}")
    projections.catch_up()
    with projections.db.tx() as tx:  # `suz rebuild analytics` started from the log's start
        for table in projections.runner("analytics").view.tables:
            tx.execute(f"DELETE FROM {table}")
        set_tracking(tx, "analytics", 0)
    pump = projections.pump
    pump.batch = 10
    for r in projections.runners:
        r.batch = 10
    newest = world.file(subject="Свежая заявка").position
    pump.step()  # one batch: the tickets view is at the head, analytics set beside
    assert projections.positions.reached("tickets") == newest
    assert "analytics" in pump.beside and "analytics" not in [r.view.name for r in pump.in_step]
    pump.catch_up()
    assert "analytics" in [r.view.name for r in pump.in_step]  # rejoined once caught up
    assert set(positions(projections).values()) == {newest}
    assert dump(projections) == rebuilt(projections)


def test_a_held_view_stands_still_and_rejoins_when_released(
    world: World, projections: Projections
) -> None:
    pump = projections.pump
    start = world.file().position
    pump.catch_up()
    pump.hold("timeline")
    newer = world.file(subject="Пока лента стоит").position
    pump.catch_up()
    assert positions(projections)["timeline"] == start
    assert positions(projections)["tickets"] == newer
    pump.release("timeline")
    pump.catch_up()
    assert set(positions(projections).values()) == {newer}
    assert [r.view.name for r in pump.in_step] == [r.view.name for r in projections.runners]
