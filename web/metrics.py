"""Prometheus metrics (prometheus-client): requests by route and status, latency, commands by kind
and outcome, live sockets and the database pools of every worker process, and, read from the
store at each scrape, views' lag and failures and the mail outbox. Off unless SUZ_METRICS_TOKEN
is set; then readable with that bearer token only (docs/metrics.md).

`suz serve --workers N` runs N processes: each writes its own counters into the multiprocess
folder (PROMETHEUS_MULTIPROC_DIR, which `suz serve` makes fresh when it is not given) and a
scrape, answered by any worker, adds up all of them. Without that folder (the tests' in-process
apps) the counters live in this process's registry.

Commands are counted where the web process hands them to the desk (`count_commands` wraps the
`Desk.handle` of the process's desk): the domain knows nothing of metrics."""

from __future__ import annotations

import hmac
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import DeskError
from projections import health_queries
from projections.failures import failures

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "WS"})
POOL_SAMPLE = 1.0  # seconds between samples of the pools by one process


class Metrics:
    """The metrics of one process's service (one registry per `Services`: the tests' apps in one
    process count apart; in a server each worker has one, added up through the folder)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("suz_http_requests", "HTTP requests answered, by method, route "
                                "template and status", ["method", "route", "status"],
                                registry=r)  # fmt: skip
        self.latency = Histogram("suz_http_request_seconds", "Seconds from a request's arrival to "
                                 "the end of its answer, by route template", ["route"],
                                 buckets=BUCKETS, registry=r)  # fmt: skip
        self.commands = Counter("suz_commands", "Commands handed to the desk, by kind (the "
                                "command's class) and outcome (ok, unchanged, conflict, "
                                "forbidden, ..., error)", ["kind", "outcome"],
                                registry=r)  # fmt: skip
        self.sockets = Gauge("suz_live_sockets", "Open /live websockets",
                             multiprocess_mode="livesum", registry=r)  # fmt: skip
        self.pool = Gauge("suz_db_pool_connections", "PostgreSQL connections of the pools "
                          "(events: the event store's; views: views, sessions, processes), by "
                          "state (in_use, idle)", ["pool", "state"], multiprocess_mode="livesum",
                          registry=r)  # fmt: skip
        self.pool_waiting = Gauge("suz_db_pool_waiting", "Callers waiting for a pooled "
                                  "connection", ["pool"], multiprocess_mode="livesum",
                                  registry=r)  # fmt: skip
        self._sockets = 0
        # each (method, route template, status)'s two children (a few hundred at most: templates)
        self._by_request: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.pools: dict[str, Any] = {}  # name: a psycopg pool (`sample_pools`)
        self._sampled = 0.0

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"  # a client may send any token
        key = (method, route, status)
        child = self._by_request.get(key)
        if child is None:  # `labels` takes a lock and builds its key each time: once per kind
            child = self._by_request[key] = (self.requests.labels(method, route, str(status)),
                                             self.latency.labels(route))  # fmt: skip
        child[0].inc()
        child[1].observe(seconds)

    @property
    def live_sockets(self) -> int:
        return self._sockets

    @live_sockets.setter
    def live_sockets(self, value: int) -> None:  # on the event loop only
        self.sockets.inc(value - self._sockets)
        self._sockets = value

    def sample_pools(self, *, now: float | None = None) -> None:
        """The pools' use now, at most every POOL_SAMPLE seconds (after each request)."""
        now = time.monotonic() if now is None else now
        if now - self._sampled < POOL_SAMPLE:
            return
        self._sampled = now
        for name, pool in self.pools.items():
            stats = pool.get_stats()
            size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
            self.pool.labels(name, "in_use").set(max(0, size - idle))
            self.pool.labels(name, "idle").set(idle)
            self.pool_waiting.labels(name).set(stats.get("requests_waiting", 0))


def _outcome(error: BaseException) -> str:
    if type(error).__name__ == "Unchanged":  # domain/tickets/commands.py: a signal
        return "unchanged"
    if isinstance(error, DeskError):  # NotFound -> not_found, InvalidInput -> invalid_input
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()
    return "error"


def count_commands(desk: Any, metrics: Metrics) -> None:
    """Counts every command this process's `desk` handles (the web's and the processes'
    running here), by kind and outcome."""
    handle: Callable[[Any, Any], Any] = desk.handle
    if getattr(handle, "counted", False):
        return

    def counted(actor: Any, command: Any) -> Any:
        kind = type(command).__name__
        try:
            written = handle(actor, command)
        except BaseException as e:
            metrics.commands.labels(kind, _outcome(e)).inc()
            raise
        metrics.commands.labels(kind, "ok").inc()
        return written

    counted.counted = True  # type: ignore[attr-defined]
    desk.handle = counted


def watch_pools(svc: Any) -> None:
    """The PostgreSQL pools of `svc` whose use the metrics sample (none on SQLite)."""
    m: Metrics = svc.metrics
    store = getattr(getattr(svc.desk.recorder, "datastore", None), "pool", None)
    if hasattr(store, "get_stats"):
        m.pools["events"] = store
    if svc.settings.uses_postgres:
        m.pools["views"] = svc.projections.db.pool
    m.sample_pools(now=float("inf"))


def process_ended(metrics_dir: object) -> None:
    """A worker stops: its live gauges (sockets, pools) leave the sums."""
    if metrics_dir is not None:
        mark_process_dead(os.getpid(), str(metrics_dir))  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class StoreReading:
    """What one scrape reads from the store."""

    head: int
    reached: dict[str, int]
    views: list[str]
    failed: dict[str, int]
    outbox: dict[str, int]


class StoreCollector(Collector):
    """The store's gauges of one scrape: the same for every worker, so read once, not summed."""

    def __init__(self, r: StoreReading) -> None:
        self.r = r

    def collect(self) -> Iterator[Metric]:
        r = self.r
        yield GaugeMetricFamily("suz_log_position", "The event log's last position", r.head)
        lag = GaugeMetricFamily("suz_view_lag_events", "Events a view has still to handle",
                                labels=["view"])  # fmt: skip
        failing = GaugeMetricFamily("suz_view_failures", "A view's failures in a row (0: works)",
                                    labels=["view"])  # fmt: skip
        for view in r.views:
            lag.add_metric([view], max(0, r.head - r.reached.get(view, 0)))
            failing.add_metric([view], r.failed.get(f"view:{view}", 0))
        processes = GaugeMetricFamily("suz_process_failures", "A background process's failures "
                                      "in a row (0: works)", labels=["process"])  # fmt: skip
        for part, n in sorted(r.failed.items()):
            if part.startswith("process:"):
                processes.add_metric([part.removeprefix("process:")], n)
        outbox = GaugeMetricFamily(
            "suz_mail_outbox_letters",
            "Letters in the mail outbox, by state (pending: to send; dead: given up)",
            labels=["state"],
        )
        for state, n in sorted(r.outbox.items()):
            outbox.add_metric([state], n)
        yield from (lag, failing, processes, outbox)


def read_store(svc: Any) -> StoreReading:
    head = svc.desk.recorder.max_notification_id() or 0
    with svc.projections.db.read() as tx:
        reached = health_queries.positions(tx)
        failed = failures(tx)
        outbox = health_queries.outbox_backlog(tx)
    views = [v.name for v in svc.projections.views]
    return StoreReading(head, reached, views, failed, outbox)


def _allowed(request: Request, token: str | None) -> Response | None:
    """None when the caller may read the metrics; else the answer: 404 while they are off (no
    token configured: nothing says they exist), 401 for a missing or wrong token."""
    if token is None:
        return Response("Not Found", 404, media_type="text/plain")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return Response("Send the metrics token as Authorization: Bearer <token>.\n", 401,
                    {"www-authenticate": 'Bearer realm="metrics"'}, "text/plain")  # fmt: skip


def exposition(svc: Any, reading: StoreReading) -> bytes:
    """Every worker's metrics (summed through the multiprocess folder) and the store's."""
    svc.metrics.sample_pools(now=float("inf"))
    if svc.settings.metrics_dir is not None:
        workers = CollectorRegistry()
        MultiProcessCollector(workers, path=str(svc.settings.metrics_dir))  # type: ignore[no-untyped-call]
    else:
        workers = svc.metrics.registry
    store = CollectorRegistry()
    store.register(StoreCollector(reading))
    return generate_latest(workers) + generate_latest(store)


async def metrics(request: Request) -> Response:
    """Prometheus text. Opt-in: 404 unless SUZ_METRICS_TOKEN is set, then 401 without
    `Authorization: Bearer <SUZ_METRICS_TOKEN>` (a bearer token rather than an address: behind a
    reverse proxy every caller comes from the proxy's address)."""
    svc = request.app.state.services
    refused = _allowed(request, svc.settings.metrics_token)
    if refused is not None:
        return refused
    reading = await run_in_threadpool(read_store, svc)
    body = await run_in_threadpool(exposition, svc, reading)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics)]
