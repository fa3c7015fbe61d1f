"""`./scripts/bench projections`: how fast the views rebuild and follow the log, on PostgreSQL.

1. Generates a log with the Desk (tickets filed by the Desk, then notes and replies decided by
   the Ticket aggregate and saved by the Desk in batches of 25: the same events, chained and
   stored as commands store them, only fewer round trips), in a fresh schema.
2. Rebuilds each view (Runner.rebuild) and reads the same rows raw (select_notifications in
   batches of 1,000), with and without decoding them.
3. Measures the lag from a command's commit to a `projections.feed.follow` subscriber being
   told, idle and while another thread writes at a steady rate.
4. Queue and search queries over 1,000,000 synthetic tickets (scripts/bench_synthetic.py).
Targets (issue 3): rebuild >= 20,000 events/s; lag p99 < 20 ms idle, < 100 ms under load;
queue queries p95 < 20 ms; search p95 < 50 ms. Measured, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import threading
import time
from typing import Any
from uuid import UUID

from tqdm import tqdm

from domain.desk import Desk
from domain.ticket import Ticket
from projections.feed import follow
from projections.system import Projections
from scripts import bench_synthetic
from scripts.bench_machine import (
    DEFAULT_PG_URL,
    bench_desk,
    load,
    ms,
    pct,
    print_machine,
    table,
    verdict,
)
from tests.world import World

BODY = "Проверили подпись: сертификат истёк, ждём новый от заказчика. Certificate expired."


def generate(desk: Desk, world: World, events: int, tickets: int) -> list[UUID]:
    """Files `tickets` tickets, then notes and replies (batches of 25 per save) up to `events`."""
    ids: list[UUID] = []
    with tqdm(total=events, unit="event", desc="generating", file=sys.stderr) as bar:
        for i in range(tickets):
            ids.append(world.file(f"Контракт {i} не публикуется").id)
            bar.update(3)  # Filed, Assigned, the number's Claim
        written = 3 * tickets
        agent = world.agent.id
        assert agent is not None
        while written < events:
            for ticket_id in ids:
                ticket: Ticket = desk.repository.get(ticket_id)
                assert isinstance(ticket, Ticket)
                for k in range(25):
                    if k % 5 == 4:
                        ticket.reply(agent, f"Ответ {k}: {BODY}")
                    else:
                        ticket.add_note(agent, f"Заметка {k}: {BODY}")
                desk.save(ticket)
                written += 25
                bar.update(25)
                if written >= events:
                    break
    return ids


def rebuild_rows(desk: Desk, projections: Projections) -> list[list[str]]:
    head = desk.recorder.max_notification_id() or 0
    rows: list[list[str]] = []
    for runner in projections.runners:
        handled = 0
        with tqdm(total=head, unit="event", desc=f"rebuild {runner.view.name}",
                  file=sys.stderr) as bar:  # fmt: skip

            def progress(n: int, bar: Any = bar) -> None:
                nonlocal handled
                handled += n
                bar.update(n)

            started = time.perf_counter()
            runner.rebuild(progress)
            took = time.perf_counter() - started
        raw = raw_read(desk, runner.view.topics, head, decode=False)
        decoded = raw_read(desk, runner.view.topics, head, decode=True)
        rate = handled / took
        rows.append([runner.view.name, f"{handled:,}", f"{took:,.1f}", f"{rate:,.0f}",
                     f"{raw:,.0f}", f"{decoded:,.0f}", verdict(rate >= 20_000)])  # fmt: skip
    everything = raw_read(desk, None, head, decode=False)
    everything_decoded = raw_read(desk, None, head, decode=True)
    rows.append(["(whole log)", f"{head:,}", "", "", f"{everything:,.0f}",
                 f"{everything_decoded:,.0f}", ""])  # fmt: skip
    return rows


def raw_read(desk: Desk, topics: list[str] | None, head: int, *, decode: bool) -> float:
    """Events/s reading the log in batches of 1,000 (the runner's batch), optionally decoded."""
    count, start, started = 0, 1, time.perf_counter()
    while start <= head:
        batch = desk.recorder.select_notifications(
            start=start, limit=1000, stop=head, topics=topics or ()
        )
        if not batch:
            break
        if decode:
            for n in batch:
                desk.mapper.to_domain_event(n)
        count += len(batch)
        start = batch[-1].id + 1
    return count / (time.perf_counter() - started)


class Subscriber:
    """A `follow` consumer on its own event loop thread, noting when each position arrives."""

    def __init__(self, projections: Projections, topic: str, after: int) -> None:
        self.received: dict[int, float] = {}
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.ready = threading.Event()

        async def run() -> None:
            self.task = asyncio.current_task()  # type: ignore[assignment]
            self.ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                async for change in follow(projections.db, projections.positions, [topic], after):
                    self.received[change.position] = time.perf_counter()

        self.thread = threading.Thread(
            target=lambda: self.loop.run_until_complete(run()), daemon=True
        )
        self.thread.start()
        self.ready.wait()

    def stop(self) -> None:
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(timeout=5)


def lag_phase(
    desk: Desk, projections: Projections, world: World, ticket: UUID,
    samples: int, others: list[UUID] | None, rate: float,
) -> tuple[list[float], float]:  # fmt: skip
    """Lags (s) of `samples` notes on `ticket`; with `others`, a thread writes at `rate`/s."""
    commits: dict[int, float] = {}
    desk.on_saved.append(lambda p: commits.__setitem__(p, time.perf_counter()))
    subscriber = Subscriber(projections, f"ticket:{ticket}", desk.recorder.max_notification_id()
                            or 0)  # fmt: skip
    stop, written = threading.Event(), [0]

    def writer(ids: list[UUID]) -> None:
        started = time.perf_counter()
        while not stop.is_set():
            desk.note(world.agent, ids[written[0] % len(ids)], "Нагрузка: " + BODY)
            written[0] += 1
            pause = started + written[0] / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)

    load_thread = threading.Thread(target=writer, args=(others,), daemon=True) if others else None
    if load_thread:
        load_thread.start()
        time.sleep(1.0)
    began, mine = time.perf_counter(), []
    name = "lag under load" if others else "lag idle"
    for _ in tqdm(range(samples), desc=name, unit="cmd", file=sys.stderr):
        mine.append(desk.note(world.agent, ticket, "Проверка задержки").position)
        time.sleep(random.uniform(0.01, 0.03))
    elapsed = time.perf_counter() - began
    stop.set()
    if load_thread:
        load_thread.join()
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and not all(p in subscriber.received for p in mine):
        time.sleep(0.05)
    subscriber.stop()
    desk.on_saved.pop()
    lags = [subscriber.received[p] - commits[p] for p in mine if p in subscriber.received]
    lags += [float("inf")] * (len(mine) - len(lags))  # never told: counts as a miss
    return lags, (written[0] / elapsed if others else 0.0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench projections", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL",
                                                                 DEFAULT_PG_URL))  # fmt: skip
    parser.add_argument("--events", type=int, default=60_000, help="log size to generate")
    parser.add_argument("--tickets", type=int, default=300, help="tickets the log is spread over")
    parser.add_argument("--samples", type=int, default=200, help="commands per lag phase")
    parser.add_argument("--load-rate", type=float, default=200.0, help="writes/s under load")
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic tickets")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args(argv)
    url = args.database_url
    print("suz bench projections: PostgreSQL views\n")
    print_machine(url)
    with bench_desk(url, "bench_proj") as b:
        desk, projections = b.desk, b.projections
        world = World.build(desk)
        ids = generate(desk, world, args.events, args.tickets)
        rebuilt = rebuild_rows(desk, projections)
        projections.start()
        idle, _ = lag_phase(desk, projections, world, ids[0], args.samples, None, 0)
        loaded, achieved = lag_phase(desk, projections, world, ids[0], args.samples,
                                     ids[1:], args.load_rate)  # fmt: skip
    print("\nRebuild (Runner.rebuild, batches of 1,000) next to a raw read of the same rows")
    print(table(["view", "events handled", "s", "events/s", "raw SELECT/s", "SELECT+decode/s",
                 ">= 20,000/s"], rebuilt))  # fmt: skip
    print("\nLag from commit to a feed subscriber (projections.feed.follow on ticket:<id>), ms")
    lag_rows = [
        ["idle", f"{len(idle)}", ms(pct(idle, 50)), ms(pct(idle, 99)), ms(max(idle)),
         verdict(pct(idle, 99) < 0.020) + " (< 20)"],
        [f"writer at {achieved:,.0f}/s", f"{len(loaded)}", ms(pct(loaded, 50)),
         ms(pct(loaded, 99)), ms(max(loaded)), verdict(pct(loaded, 99) < 0.100) + " (< 100)"],
    ]  # fmt: skip
    print(table(["load", "samples", "p50", "p99", "max", "p99 target"], lag_rows))
    if not args.skip_synthetic:
        bench_synthetic.run(url, args.rows)
    print(f"\nload avg at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
