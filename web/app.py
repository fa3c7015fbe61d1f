"""The starlette application around a process's `Services`: routes, security headers, error
mapping, and its lifespan. The services are built by the composition root (suz/bootstrap.py)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.failures import Failing, failing
from web import (
    access,
    admin,
    analytics_api,
    api,
    audit_export,
    audit_seals,
    calls_api,
    files,
    history_api,
    incidents_api,
    kb,
    live,
    metrics,
    openapi,
    releases_api,
    routing_api,
    sla_api,
)
from web.errors import environment_fault
from web.handlers import HANDLERS
from web.http import json
from web.idempotency import Idempotency
from web.readiness import ready
from web.routing import IndexedRouter
from web.services import Services
from web.ui import i18n
from web.ui import routes as ui_routes

STATIC = Path(__file__).resolve().parents[1] / "static"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none';"
        b" base-uri 'none'; form-action 'self'",
    ),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
# Only over https: a browser remembers it for a year and then refuses plain http to the host.
HSTS = (b"strict-transport-security", b"max-age=31536000")
log = logging.getLogger("suz.web")


class SecurityHeaders:
    """Adds the security headers, and `Cache-Control: no-store` to every dynamic answer; HSTS
    when the request came over https (the scope's scheme: uvicorn's proxy headers set it from
    X-Forwarded-Proto when the proxy is trusted)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += SECURITY_HEADERS
                if scope.get("scheme") == "https":
                    headers.append(HSTS)
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def health(request: Request) -> Response:
    """Liveness: `status` is "ok", or "degraded" while a view or background process keeps failing
    (listed in `failing`: which, since when, how many times in a row, the last error's class) or
    the store cannot be read (`store`). Still 200: the process answers, and restarting it would
    mend nothing; what stalls is said in the body and in /metrics. Whether to send it traffic
    is /ready's answer (web/readiness.py)."""
    svc: Services = request.app.state.services

    def probe() -> tuple[int, list[Failing]]:
        with svc.projections.db.read() as tx:
            down = failing(tx)  # the view store answers, and says what keeps failing
        return svc.desk.recorder.max_notification_id() or 0, down

    try:
        head, down = await run_in_threadpool(probe)
    except Exception as e:
        if not environment_fault(e):
            raise
        return json({"status": "degraded", "store": f"unreachable ({type(e).__name__})"})
    lag = {v.name: head - svc.projections.positions.reached(v.name) for v in svc.projections.views}
    return json({
        "status": "degraded" if down else "ok", "log_position": head, "view_lag": lag,
        "failing": [{"kind": f.kind, "name": f.name, "since": f.since, "failures": f.failures,
                     "error": f.error} for f in down],
    })  # fmt: skip


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client closed the connection while its body was read: nobody hears an answer, and
    it is no fault of ours, so a line, not a traceback. 499 (the client's closed request, as
    nginx calls it) is what /metrics counts."""
    log.info("client closed the connection during %s %s", request.method, request.url.path)
    return Response(status_code=499)


def settle_heap() -> None:
    """What start-up made lives as long as the process: collected once and frozen, so that the
    collector stops re-walking it on every full collection (pauses that grew with the heap)."""
    gc.collect()
    gc.freeze()


def release_heap() -> None:
    """An app stopped inside a longer process can be collected again."""
    gc.unfreeze()


def create_app(services: Services) -> Starlette:
    """The app serving `services` (built by suz/bootstrap.py); its lifespan starts and stops
    them."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        metrics.count_commands(services.desk, services.metrics)  # by kind and outcome
        services.start()
        metrics.watch_pools(services)
        settle_heap()
        try:
            yield
        finally:
            release_heap()
            services.stop()
            metrics.process_ended(services.settings.metrics_dir)

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            *metrics.routes,
            *openapi.routes,
            *files.routes,
            *admin.routes,
            *routing_api.routes,
            *sla_api.routes,
            *incidents_api.routes,
            *kb.routes,
            *history_api.routes,
            *analytics_api.routes,
            *releases_api.routes,
            *audit_export.routes,
            *audit_seals.routes,
            *api.routes,
            *calls_api.routes,
            *live.routes,
            *ui_routes.routes,
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(access.Access),  # request id, access line, request metrics
            Middleware(i18n.Language),
            Middleware(SecurityHeaders),
            Middleware(Idempotency),
        ],
        exception_handlers={**HANDLERS, ClientDisconnect: client_gone},
        lifespan=lifespan,
    )
    # the same routes, found by their leading path segments, not tried one by one (web/routing.py)
    app.router = IndexedRouter(app.router.routes, lifespan=lifespan)
    app.state.services = services
    return app
