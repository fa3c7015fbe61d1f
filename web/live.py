"""The websocket channel /live: subscribe to topics, get what was missed, then live changes.

The client sends {"subscribe": [topics], "after": last_position}; the server checks each topic
against the caller, then streams {"position", "ticket", "event", "version"}, re-checking for every
change that the caller may see that event. A client that reconnects with its last position gets
exactly what it missed, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any
from uuid import UUID

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from domain.access import Actor, TicketScope, may_see
from domain.errors import DeskError
from projections import queues
from projections.feed import Change, follow
from web.auth import caller, services
from web.csrf import check_websocket
from web.errors import ApiError

MAX_PER_SESSION = 8
MAX_MESSAGE = 16_384
_open: Counter[str] = Counter()
STAFF_TOPICS = ("activity", "queues", "group:", "line:", "assignee:")


def allowed_topic(conn_actor: Actor, topic: str, services_: Any) -> bool:
    if topic.startswith("ticket:"):
        with services_.projections.db.read() as tx:
            row = queues.ticket_row(tx, topic.removeprefix("ticket:"))
        if row is None:
            return False
        scope = TicketScope(UUID(row.id), _u(row.requester_id), _u(row.organisation_id))
        return may_see(conn_actor, scope)
    if topic.startswith(STAFF_TOPICS):
        return conn_actor.is_staff
    if topic.startswith("requester:"):
        return conn_actor.id is not None and topic == f"requester:{conn_actor.id}"
    if topic.startswith("org:"):
        return (
            conn_actor.organisation_id is not None and topic == f"org:{conn_actor.organisation_id}"
        )
    return False


def _u(value: str | None) -> UUID | None:
    return UUID(value) if value else None


async def _visible(actor: Actor, change: Change, svc: Any) -> bool:
    if actor.is_staff:
        return True
    positions = svc.projections.positions
    await positions.wait_async("timeline", change.position, 5.0)
    with svc.projections.db.read() as tx:
        row = tx.one(
            "SELECT public IS NOT NULL FROM v_timeline WHERE ticket_id = %s AND version = %s",
            (change.ticket_id, change.version),
        )
    return bool(row and row[0])


async def live(ws: WebSocket) -> None:
    svc = services(ws)
    try:
        check_websocket(ws.headers.get("origin"), svc.origins)
        who = caller(ws)
    except (DeskError, ApiError):
        await ws.close(code=1008)
        return
    key = who.token or str(who.actor.id)
    if _open[key] >= MAX_PER_SESSION:
        await ws.close(code=1008, reason="too many connections")
        return
    _open[key] += 1
    svc.metrics.live_sockets += 1
    await ws.accept()
    try:
        await _serve(ws, who.actor, svc)
    except WebSocketDisconnect:
        pass
    finally:
        _open[key] -= 1
        svc.metrics.live_sockets -= 1


async def _serve(ws: WebSocket, actor: Actor, svc: Any) -> None:
    raw = await ws.receive_text()
    if len(raw) > MAX_MESSAGE:
        await ws.close(code=1009)
        return
    try:
        request = orjson.loads(raw)
        topics = [str(t) for t in request["subscribe"]][:50]
        after = int(request.get("after", 0))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        await ws.send_text('{"error": "send {\\"subscribe\\": [topics], \\"after\\": position}"}')
        await ws.close(code=1003)
        return
    refused = [t for t in topics if not allowed_topic(actor, t, svc)]
    if refused:
        await ws.send_bytes(orjson.dumps({"error": "not allowed", "topics": refused}))
        await ws.close(code=1008)
        return
    await ws.send_bytes(orjson.dumps({"subscribed": topics, "after": after}))
    # Wait for whichever ends first: the client leaving, or the push loop failing. Without the
    # race a departed client's loop would live on until the next change (up to 30 s idle), holding
    # one of the session's MAX_PER_SESSION slots.
    receiver = asyncio.create_task(_drain(ws))
    pusher = asyncio.create_task(_push(ws, actor, svc, topics, after))
    try:
        await asyncio.wait({receiver, pusher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (receiver, pusher):
            task.cancel()
        for task in (receiver, pusher):
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task


async def _push(ws: WebSocket, actor: Actor, svc: Any, topics: list[str], after: int) -> None:
    async for change in follow(svc.projections.db, svc.projections.positions, topics, after):
        if await _visible(actor, change, svc):
            await ws.send_bytes(orjson.dumps({"position": change.position,
                                              "ticket": change.ticket_id,
                                              "event": change.event,
                                              "version": change.version}))  # fmt: skip


async def _drain(ws: WebSocket) -> None:
    """Reads (and ignores) client messages so a disconnect is noticed."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


routes = [WebSocketRoute("/live", live)]
