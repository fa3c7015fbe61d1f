"""The access line and the request id: one `suz.access` log line per HTTP request (and per
websocket, when it ends), and the request's measurements for /metrics (web/metrics.py).

The line says the request id, the method, the route's template (`/r/{ticket_id}`, never the raw
path or its query: a private link's key travels in the query), the status, the duration in
milliseconds and the actor's account id (never a name, e-mail, cookie or token; "-" for nobody).
The request id is the caller's X-Request-Id when that is a sane token (letters, digits, `._:-`,
up to 64), else a new one; the answer carries it back in X-Request-Id, and every log line
written while the request is answered carries it (suz/logs.py)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web import request_id

log = logging.getLogger("suz.access")
NOTE = "suz.access"  # the scope's key of the request's `Note`


@dataclass
class Note:
    """What the handlers tell the access line: who the request turned out to be."""

    request_id: str
    actor: Any = None  # the account id (a UUID) once authenticated


def note_actor(scope: Scope, actor_id: Any) -> None:
    """Records the authenticated account's id for the request's access line (web/auth.py)."""
    note = scope.get(NOTE)
    if isinstance(note, Note) and actor_id is not None:
        note.actor = actor_id


def route_of(scope: Scope) -> str:
    """The template of the route that answered (or would answer) the request; "unmatched"."""
    route = scope.get("route")
    if route is None:
        app = scope.get("app")
        for candidate in getattr(app, "routes", ()):
            if candidate.matches(scope)[0] is not Match.NONE:
                route = candidate
                break
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class Access:
    """Gives each request its id, times it, writes its access line and counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        note = Note(request_id.from_headers(scope.get("headers")))
        scope[NOTE] = note
        token = request_id.current.set(note.request_id)
        websocket = scope["type"] == "websocket"
        status = 500
        echo = (b"x-request-id", note.request_id.encode())

        async def noted(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), echo]
            elif kind == "websocket.accept":
                status = 101
                message["headers"] = [*message.get("headers", []), echo]
            elif kind == "websocket.close" and status == 500:
                status = 403  # closed before accepting: uvicorn answers the handshake 403
            elif kind == "websocket.http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            request_id.current.reset(token)
            seconds = time.perf_counter() - started
            route, method = route_of(scope), "WS" if websocket else scope["method"]
            services = getattr(getattr(scope.get("app"), "state", None), "services", None)
            if services is not None:
                if not websocket:
                    services.metrics.observe_request(method, route, status, seconds)
                services.metrics.sample_pools()
            actor = str(note.actor) if note.actor is not None else "-"
            log.info("%s %s %s %.1fms actor=%s id=%s", method, route, status, seconds * 1000,
                     actor, note.request_id,
                     extra={"request_id": note.request_id, "actor": actor, "method": method,
                            "route": route, "status": status,
                            "duration_ms": round(seconds * 1000, 1)})  # fmt: skip
