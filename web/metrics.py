"""Prometheus metrics: requests by route and status, latency buckets, views' lag and failures,
live sockets. Off unless SUZ_METRICS_TOKEN is set; then readable with that bearer token only."""

from __future__ import annotations

import hmac
import threading
import time
from collections import Counter, defaultdict

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.failures import failures

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, float("inf"))


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency: Counter[tuple[str, float]] = Counter()
        self.latency_sum: defaultdict[str, float] = defaultdict(float)
        self.live_sockets = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[(method, route, status)] += 1
            self.latency_sum[route] += seconds
            for bound in BUCKETS:
                if seconds <= bound:
                    self.latency[(route, bound)] += 1


def _route_of(scope: Scope) -> str:
    for route in scope["app"].routes:
        if isinstance(route, Route) and route.matches(scope)[0] is not Match.NONE:
            return route.path
    return "unmatched"


class Measure:
    """Times every HTTP request; the route template (not the raw path) labels it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            scope["app"].state.services.metrics.observe(scope["method"], _route_of(scope), status,
                            time.perf_counter() - started)  # fmt: skip


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


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


async def metrics(request: Request) -> Response:
    """Prometheus text. Opt-in: 404 unless SUZ_METRICS_TOKEN is set, then 401 without
    `Authorization: Bearer <SUZ_METRICS_TOKEN>` (a bearer token rather than an address: behind a
    reverse proxy every caller comes from the proxy's address)."""
    svc = request.app.state.services
    refused = _allowed(request, svc.settings.metrics_token)
    if refused is not None:
        return refused
    m: Metrics = svc.metrics

    def read() -> tuple[int, dict[str, int]]:
        with svc.projections.db.read() as tx:
            counts = failures(tx)
        return svc.desk.recorder.max_notification_id() or 0, counts

    head, failed = await run_in_threadpool(read)
    processes = sorted(p for p in failed if p.startswith("process:"))
    lines = [
        "# TYPE suz_log_position gauge", f"suz_log_position {head}",
        "# TYPE suz_view_lag_events gauge",
        *(f'suz_view_lag_events{{view="{v.name}"}} '
          f"{head - svc.projections.positions.reached(v.name)}" for v in svc.projections.views),
        "# TYPE suz_view_failures gauge",  # consecutive failures; 0 while the view works
        *(f'suz_view_failures{{view="{v.name}"}} {failed.get(f"view:{v.name}", 0)}'
          for v in svc.projections.views),
        "# TYPE suz_process_failures gauge",
        *(f'suz_process_failures{{process="{_esc(p[8:])}"}} {failed[p]}' for p in processes),
        "# TYPE suz_live_sockets gauge", f"suz_live_sockets {m.live_sockets}",
        "# TYPE suz_http_requests_total counter",
    ]  # fmt: skip
    with m.lock:
        for (method, route, status), n in sorted(m.requests.items()):
            lines.append(f'suz_http_requests_total{{method="{method}",route="{_esc(route)}",'
                         f'status="{status}"}} {n}')  # fmt: skip
        lines.append("# TYPE suz_http_request_seconds histogram")
        routes = sorted({route for route, _ in m.latency})
        for route in routes:
            for bound in BUCKETS:
                le = "+Inf" if bound == float("inf") else str(bound)
                lines.append(f'suz_http_request_seconds_bucket{{route="{_esc(route)}",le="{le}"}} '
                             f"{m.latency[(route, bound)]}")  # fmt: skip
            lines.append(f'suz_http_request_seconds_sum{{route="{_esc(route)}"}} '
                         f"{m.latency_sum[route]:.6f}")  # fmt: skip
            lines.append(f'suz_http_request_seconds_count{{route="{_esc(route)}"}} '
                         f"{m.latency[(route, float('inf'))]}")  # fmt: skip
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


routes = [Route("/metrics", metrics)]
