"""The desk's filtered list over ~5,000 requests on PostgreSQL, timed in the server (issue 18):
`python -m scripts.bench_desk_filters [--tickets 5000] [--runs 40]`.

A throw-away schema, the cast, then `--tickets` requests filed through the real commands (a
third escalated to line 2, a quarter assigned, a tenth resolved, priorities mixed), the app
in-process with its views running, three saved views (their counts are on every page). Each
page is asked for `--runs` times in a row; its server time is taken around the ASGI call, as
scripts/bench_ticket_page.py does.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from domain.desk import Desk
from domain.settings import Settings
from domain.ticket import Priority
from scripts.bench_machine import DEFAULT_PG_URL, load, pct, table, temp_schema
from scripts.bench_ticket_page import Timed, signed_in
from suz.bootstrap import web_app
from tests.web.desk_site import ORIGIN, migrate

URGENCIES = (Priority.LOW, Priority.HIGH, Priority.CRITICAL)
PAGES = (
    ("everything, newest first", "/desk?queue=filter"),
    ("active", "/desk?status=active"),
    ("active on line 2", "/desk?status=active&line=2"),
    ("mine, active", "/desk?status=active&assignee=me"),
    ("unassigned, high or critical", "/desk?assignee=none&priority=high&priority=critical"),
    ("active by priority", "/desk?status=active&sort=priority"),
    ("active by SLA deadline", "/desk?status=active&sort=sla"),
    ("SLA breached", "/desk?sla=breached"),
    ("filed on one day", "/desk?from={day}&to={day}"),
    ("the list's live refresh", "/desk?part=list&status=active&line=2"),
    ("the sidebar's live counts", "/desk?part=counts&queue=filter"),
)


def build(settings: Settings, tickets: int) -> str:
    world = migrate(settings)
    world.desk = Desk(settings.store_env())
    rng = random.Random(18)
    try:
        for n in range(tickets):
            filed = world.file(f"Заявка {n}")
            version, group = filed.version, world.line1
            if rng.random() < 0.3:
                group = world.line2
                version = world.desk.escalate(world.agent, filed.id, world.line2, "Нужен инженер",
                                              expected_version=version).version  # fmt: skip
            if rng.random() < 0.3:
                version = world.desk.change_priority(world.agent, filed.id,
                                                     rng.choice(URGENCIES),
                                                     expected_version=version).version  # fmt: skip
            if rng.random() < 0.25:
                version = world.desk.assign(world.agent, filed.id, group, world.agent.id,
                                            expected_version=version).version  # fmt: skip
            if rng.random() < 0.1:
                world.desk.resolve(world.agent, filed.id, "Готово", expected_version=version)
        return time.strftime("%Y-%m-%d")
    finally:
        world.desk.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--url", default=DEFAULT_PG_URL)
    args = parser.parse_args()
    with temp_schema(args.url, "bench_desk") as schema, TemporaryDirectory() as folder:
        os.environ["SUZ_DATABASE_SCHEMA"] = schema
        settings = Settings(data_dir=Path(folder) / "data", database_url=args.url)
        started = time.perf_counter()
        day = build(settings, args.tickets)
        print(f"filed {args.tickets} requests in {time.perf_counter() - started:.0f} s")
        app = web_app(replace(settings, origins=ORIGIN), run_views=True)
        timer = Timed(app)
        with signed_in(timer, "agent") as client:
            for name, query in (("Линия 2", "status=active&line=2"),
                                ("Мои", "status=active&assignee=me"),
                                ("Срочные", "priority=critical&status=active")):  # fmt: skip
                r = client.post("/desk/views", data={"name": name, "query": query, "shared": "1"},
                                headers={"Origin": ORIGIN, "X-CSRF-Token": csrf(client)},
                                follow_redirects=False)  # fmt: skip
                assert r.status_code == 303, r.text[:300]
            client.get(f"/desk?after={head(settings)}")  # the views caught up
            rows = []
            for name, path in PAGES:
                path = path.format(day=day)
                times = []
                for _ in range(args.runs):
                    r = client.get(path)
                    assert r.status_code == 200, (path, r.status_code)
                    times.append(timer.last)
                listed = r.text.count("<tr data-ticket=")
                rows.append([name, f"{listed}", f"{pct(times, 50) * 1e3:,.1f}",
                             f"{pct(times, 95) * 1e3:,.1f}"])  # fmt: skip
    print(f"load {load()}")
    print(table(["page", "rows", "p50 ms", "p95 ms"], rows))


def csrf(client: Any) -> str:
    page: str = client.get("/desk").text
    return page.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]


def head(settings: Settings) -> int:
    desk = Desk(settings.store_env())
    try:
        return desk.recorder.max_notification_id() or 0
    finally:
        desk.close()


if __name__ == "__main__":
    main()
