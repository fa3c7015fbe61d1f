"""The page of a 1,000-entry ticket, timed in the server: `python -m scripts.bench_ticket_page`
(`--load` for a real server under concurrent clients instead).

For SQLite (a temporary data folder) and PostgreSQL (a throw-away schema): the cast, one request
with 1,000 entries (70 % replies, 30 % internal notes, as the paired benchmark against
django-helpdesk builds it: ../shared/peers/compare/bench_pair.py), then the app in-process with
its views running. Each page is asked for `--runs` times in a row; its server time is taken
around the ASGI call (from the request's arrival to its last byte), so the client's own work is
not counted. Then where one staff page's time goes: the timeline query, decoding its rows,
markdown of every entry shown, and the rest (jinja2, the side panel's queries).

Pages: the staff page (`/t/{id}`), its live refresh (`?part=timeline`, sent on every change),
the requester's page (`/r/{id}`) and his live refresh, and (where the page offers it) the first
"show earlier" step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson

from domain.desk import Desk
from domain.settings import Settings
from scripts.bench_machine import DEFAULT_PG_URL, load, pct, table, temp_schema
from scripts.bench_web import free_port, serving
from suz.bootstrap import web_app
from tests.web.desk_site import LOGINS, ORIGIN, PASSWORD, migrate
from web.markup import render as markdown

with warnings.catch_warnings():  # starlette prefers httpx2, which is not installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TARGET_MS = 20.0
WORDS = ("контракт", "подпись", "реестр", "ошибка", "публикация", "сертификат", "заказчик",
         "the", "signature", "register", "error", "check", "again", "please", "browser",
         "plugin", "version", "44-FZ", "документ", "отправить", "status", "заявка")  # fmt: skip

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                Awaitable[None]]  # fmt: skip


class Timed:
    """The app, timing each HTTP request from its arrival to its last byte sent."""

    def __init__(self, app: Any) -> None:
        self.app, self.last = app, 0.0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.perf_counter() - start


def text(rng: random.Random, words: int) -> str:
    """A message of about `words` words, now and then with markdown (emphasis, a list)."""
    said = " ".join(rng.choice(WORDS) for _ in range(words))
    if rng.random() < 0.2:
        said += "\n\n- **" + rng.choice(WORDS) + "**\n- `" + rng.choice(WORDS) + "`"
    return said.capitalize()


def build(settings: Settings, entries: int) -> tuple[str, int]:
    """The cast (with passwords) and one request with `entries` replies and notes."""
    world = migrate(settings)
    world.desk = Desk(settings.store_env())
    try:
        rng = random.Random(1)
        filed = world.file("[big] 1000")
        version, position = filed.version, filed.position
        for i in range(entries):
            if i % 10 < 7:
                w = world.desk.reply(world.agent, filed.id, text(rng, 40), expected_version=version)
            else:
                w = world.desk.note(world.agent, filed.id, text(rng, 40), expected_version=version)
            version, position = w.version, w.position
        return str(filed.id), position
    finally:
        world.desk.close()


@dataclass
class Row:
    page: str
    times: list[float] = field(default_factory=list)
    size: int = 0
    entries: int = 0

    def cells(self, backend: str) -> list[str]:
        p50, p95 = pct(self.times, 50) * 1e3, pct(self.times, 95) * 1e3
        return [backend, self.page, f"{len(self.times)}", f"{self.entries}",
                f"{self.size / 1024:,.0f}", f"{p50:,.1f}", f"{p95:,.1f}",
                "met" if p50 < TARGET_MS and p95 < TARGET_MS else "MISSED"]  # fmt: skip


def signed_in(app: Any, who: str) -> TestClient:
    client = TestClient(app)
    r = client.post("/api/v1/session", json={"login": LOGINS[who], "password": PASSWORD},
                    headers={"Origin": ORIGIN})  # fmt: skip
    r.raise_for_status()
    client.headers["Accept-Language"] = "ru"
    return client


def timed(timer: Timed, client: TestClient, name: str, path: str, runs: int,
          headers: dict[str, str] | None = None) -> Row:  # fmt: skip
    row = Row(name)
    for _ in range(runs):
        r = client.get(path, headers=headers or {})
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        row.times.append(timer.last)
        row.size = len(r.content)
        row.entries = len(re.findall(r'<li class="entry', r.text))
    return row


def live_refresh(ticket: str, page: str) -> str:
    """What the requester's page asks on a change, as if one bubble came since it was shown."""
    state = dict(re.findall(r'name="(since|answer|composer)" value="([^"]*)"', page))
    if "since" not in state:  # a page that re-renders the whole chat on each change
        found = re.search(r'hx-get="(/r/[^"]+\?part=timeline[^"]*)"', page)
        assert found, "the requester's page refreshes itself"
        return found.group(1).replace("&amp;", "&")
    state["since"] = str(int(state["since"]) - 1)
    return f"/r/{ticket}?part=timeline&" + "&".join(f"{k}={v}" for k, v in state.items())


def _timed(parts: dict[str, float], name: str, work: Callable[[], Any], runs: int) -> Any:
    start = time.perf_counter()
    for _ in range(runs):
        result = work()
    parts[name] = (time.perf_counter() - start) / runs * 1e3
    return result


def breakdown(app: Any, ticket: str, runs: int) -> list[tuple[str, float]]:
    """Where a staff page's time goes, each part timed alone (mean ms): what reading the whole
    timeline costs (what every page view paid before paging), what a page of the newest costs,
    and what rendering markdown would cost the timeline view if it stored the HTML."""
    db = app.state.services.projections.db
    desk = app.state.services.desk
    parts: dict[str, float] = {}
    select = ("SELECT version, position, at, event, actor_id, data, public IS NULL"
              " FROM v_timeline WHERE ticket_id = %s ORDER BY version")  # fmt: skip

    def rows() -> list[Any]:
        with db.read() as tx:
            found: list[Any] = tx.all(select, (ticket,))
            return found

    whole = _timed(parts, "whole timeline: query", rows, runs)
    datas = _timed(parts, "whole timeline: decode", lambda: [orjson.loads(r[5]) for r in whole],
                   runs)  # fmt: skip
    texts = [d.get("body") or d.get("description") or "" for d in datas]
    _timed(parts, "whole timeline: markdown of every entry", lambda: [markdown(t) for t in texts],
           max(1, runs // 5))  # fmt: skip
    try:
        from projections.timeline import newest
        from web.ui.timeline_window import PAGE, MarkdownMemo
    except ImportError:  # the tree before paging
        return list(parts.items())

    def page() -> Any:
        with db.read() as tx:
            return newest(tx, ticket, staff=True, limit=PAGE + 1)

    shown = _timed(parts, f"newest {PAGE}: query and decode", page, runs)
    bodies = [e.data.get("body") or e.data.get("description") or "" for e in shown]
    memo = MarkdownMemo()
    _timed(parts, f"newest {PAGE}: markdown, first view", lambda: [markdown(t) for t in bodies],
           max(1, runs // 5))  # fmt: skip
    [memo(t) for t in bodies]
    _timed(parts, f"newest {PAGE}: markdown, kept (memo)", lambda: [memo(t) for t in bodies],
           runs)  # fmt: skip
    from projections.timeline import TimelineView

    events = list(desk.repository.event_store.get(UUID(ticket)))
    view = TimelineView()

    def record(render: bool) -> None:
        view.begin()
        for n, e in enumerate(events):
            view.recorded(None, e, n)  # type: ignore[arg-type]  # buffers; writes nothing
            if render and (text := getattr(e, "body", None) or getattr(e, "description", None)):
                markdown(text)

    _timed(parts, f"timeline view: record {len(events)} events", lambda: record(False), 3)
    _timed(parts, "  ... and render their markdown", lambda: record(True), 3)
    return list(parts.items())


def run(backend: str, settings: Settings, entries: int, runs: int) -> tuple[list[Row], Any]:
    started = time.perf_counter()
    ticket, position = build(settings, entries)
    print(f"{backend}: {entries} entries written in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)  # fmt: skip
    app = web_app(settings, run_views=True)
    timer = Timed(app)
    rows: list[Row] = []
    with TestClient(timer) as boot:  # runs the lifespan: the views catch up
        boot.get(f"/health?after={position}")
        agent, requester = signed_in(timer, "agent"), signed_in(timer, "requester")
        agent.get(f"/t/{ticket}?after={position}").raise_for_status()  # the views are there
        htmx = {"HX-Request": "true"}
        rows.append(timed(timer, agent, "staff page", f"/t/{ticket}", runs))
        page = agent.get(f"/t/{ticket}").text
        seen = int(re.findall(r'id="seen-version" name="version" value="(\d+)"', page)[0])
        rows.append(timed(timer, agent, "staff live refresh (1 new)",
                          f"/t/{ticket}?part=timeline&version={seen - 1}", runs, htmx))  # fmt: skip
        earlier = re.search(r'hx-get="(/t/[^"]*/earlier\?[^"]*)"', page)
        if earlier:
            path = earlier.group(1).replace("&amp;", "&")
            rows.append(timed(timer, agent, "staff show earlier", path, runs, htmx))
        rows.append(timed(timer, requester, "requester page", f"/r/{ticket}", runs))
        mine = requester.get(f"/r/{ticket}").text
        rows.append(timed(timer, requester, "requester live refresh (1 new)",
                          live_refresh(ticket, mine), runs, htmx))  # fmt: skip
        earlier = re.search(r'hx-get="(/r/[^"]*/earlier\?[^"]*)"', mine)
        if earlier:
            path = earlier.group(1).replace("&amp;", "&")
            rows.append(timed(timer, requester, "requester show earlier", path, runs, htmx))
        parts = breakdown(app, ticket, 20)
        parts.append(("staff page p50 (for comparison)", pct(rows[0].times, 50) * 1e3))
    return rows, parts


async def _clients(port: int, paths: list[str], clients: int, seconds: float,
                   cookies: list[dict[str, str]]) -> tuple[list[float], int]:  # fmt: skip
    """`clients` tasks asking for `paths` in turn for `seconds`: each answer's time, errors."""
    times: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def one(n: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                     cookies=cookies[n % len(cookies)]) as http:  # fmt: skip
            i = n
            while time.perf_counter() < stop:
                start = time.perf_counter()
                r = await http.get(paths[i % len(paths)])
                i += 1
                if r.status_code == 200:
                    times.append(time.perf_counter() - start)
                else:
                    errors += 1

    await asyncio.gather(*(one(n) for n in range(clients)))
    return times, errors


def under_load(url: str, entries: int, levels: list[int], seconds: float) -> list[list[str]]:
    """One `suz serve` process (views in it) on PostgreSQL, as in the paired benchmark of issue
    15: `levels` concurrent clients open the staff page, then the requester's, each for
    `seconds`; latency as the client sees it."""
    rows = []
    with temp_schema(url, "bench_page_load") as schema, tempfile.TemporaryDirectory() as tmp:
        os.environ["SUZ_DATABASE_SCHEMA"] = schema
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url)
        ticket, position = build(settings, entries)
        port = free_port()
        env = {**os.environ, "SUZ_DATABASE_URL": url, "SUZ_DATABASE_SCHEMA": schema,
               "SUZ_DATA_DIR": str(settings.data_dir),
               "SUZ_ORIGINS": f"http://127.0.0.1:{port}"}  # fmt: skip
        with serving(env, port, Path(tmp), []):
            base = f"http://127.0.0.1:{port}"
            cookies = {}
            for who in ("agent", "requester"):
                r = httpx.post(f"{base}/api/v1/session", headers={"Origin": base},
                               json={"login": LOGINS[who], "password": PASSWORD})  # fmt: skip
                r.raise_for_status()
                cookies[who] = dict(r.cookies)
            httpx.get(f"{base}/t/{ticket}?after={position}", cookies=cookies["agent"], timeout=60)
            for who, path in (("agent", f"/t/{ticket}"), ("requester", f"/r/{ticket}")):
                for clients in levels:
                    times, errors = asyncio.run(
                        _clients(port, [path], clients, seconds, [cookies[who]]))  # fmt: skip
                    rows.append([f"{who}'s page", f"{clients}", f"{len(times):,}",
                                 f"{len(times) / seconds:,.1f}", f"{pct(times, 50) * 1e3:,.1f}",
                                 f"{pct(times, 99) * 1e3:,.1f}", f"{errors}"])  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "all"), default="all")
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--pg-url", default=os.environ.get("SUZ_TEST_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--load", type=int, nargs="*", metavar="CLIENTS",
                        help="instead: a real server on PostgreSQL, 1 4 16 clients")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=10.0, help="per level of --load")
    args = parser.parse_args(argv)
    os.environ.setdefault("SUZ_MODE", "demo")
    print(f"load avg at start: {load()}")
    if args.load is not None:
        loaded = under_load(args.pg_url, args.entries, args.load or [1, 4, 16], args.seconds)
        print(f"load avg at end: {load()}\n")
        print(table(["page", "clients", "answers", "per s", "p50 ms", "p99 ms", "errors"], loaded))
        return
    results: list[tuple[str, list[Row], Any]] = []
    backends = ("sqlite", "postgres") if args.backend == "all" else (args.backend,)
    for backend in backends:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = None
            if backend == "postgres":
                schema = stack.enter_context(temp_schema(args.pg_url, "bench_page"))
                os.environ["SUZ_DATABASE_SCHEMA"] = schema
                url = args.pg_url
            settings = Settings(data_dir=tmp / "data", database_url=url)
            rows, parts = run(backend, settings, args.entries, args.runs)
            results.append((backend, rows, parts))
    print(f"load avg at end: {load()}\n")
    head = ["backend", "page", "runs", "entries shown", "KiB", "p50 ms", "p95 ms", "< 20 ms"]
    print(table(head, [r.cells(b) for b, rows, _ in results for r in rows], left=2))
    for backend, _, parts in results:
        print(f"\nwhere the staff page's time goes ({backend}, each part alone, mean ms):")
        print(table(["part", "ms"], [[k, f"{v:,.1f}"] for k, v in parts]))


if __name__ == "__main__":
    main()
