"""The websocket channel /live: subscribe to topics, get what was missed, then live changes.

The client sends {"subscribe": [topics], "after": last_position}; the server checks each topic
against the caller, then streams {"position", "ticket", "event", "version"}, re-checking for every
change that the caller may see that event. A client that reconnects with its last position gets
exactly what it missed, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from typing import Any
from uuid import UUID

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from domain.access import Actor
from domain.errors import DeskError
from projections import feed
from projections.feed import Change
from web.auth import Caller, authenticate, services
from web.csrf import check_websocket
from web.errors import ApiError
from web.presence import Presence, State, encode
from web.throttle import SOCKETS_PER_SESSION, address_key

MAX_PER_SESSION = SOCKETS_PER_SESSION  # across hosts over PostgreSQL (svc.socket_limit)
MAX_MESSAGE = 16_384
SESSION_CHECK = 10.0  # seconds between checks that a socket's session still holds
VIEW_WAIT = 5.0  # seconds of one wait for the timeline view (waits repeat until it has a change)
STAFF_TOPICS = ("activity", "queues", "presence", "kb", "article:", "group:", "line:", "assignee:",
                "incidents", "mentioned:")  # fmt: skip


def allowed_topic(conn_actor: Actor, topic: str, services_: Any) -> bool:
    if topic.startswith("ticket:"):  # asked of the aggregate: a just-filed ticket counts
        try:
            services_.desk.ticket(conn_actor, UUID(topic.removeprefix("ticket:")))
        except (ValueError, DeskError):
            return False
        return True
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
    # Only the timeline knows whether a change is public; until it has the change we wait,
    # however long: answering "not public" for a change not yet projected would drop it for
    # good (the client's resume point moves past it). The socket stays open meanwhile.
    positions = svc.projections.positions
    while not await positions.wait_async("timeline", change.position, VIEW_WAIT):
        pass
    return await asyncio.to_thread(_public, svc, change)


def _public(svc: Any, change: Change) -> bool:
    with svc.projections.db.read() as tx:
        return feed.public(tx, change)


async def live(ws: WebSocket) -> None:
    svc = services(ws)
    try:
        check_websocket(ws.headers.get("origin"), svc.origins)
        who = await authenticate(ws)
    except (DeskError, ApiError):
        await ws.close(code=1008)
        return
    place = await svc.socket_limit.acquire(_owner(who, ws))
    if place is None:
        await ws.close(code=1008, reason="too many connections")
        return
    svc.metrics.live_sockets += 1
    try:
        await ws.accept()
        await _serve(ws, who, svc)
    except WebSocketDisconnect:
        pass
    finally:
        svc.metrics.live_sockets -= 1
        await svc.socket_limit.release(place)


def _owner(who: Caller, ws: WebSocket) -> str:
    """Whose sockets this one counts among (MAX_PER_SESSION each): its session's, else its API
    token's account's, else its private link's request's, else its address's."""
    if who.token:
        return who.token
    if who.actor.id is not None:
        return f"account:{who.actor.id}"
    if who.actor.visitor_ticket_id is not None:
        return f"link:{who.actor.visitor_ticket_id}"
    return f"address:{address_key(ws.client.host if ws.client else 'unknown')}"


async def _serve(ws: WebSocket, who: Caller, svc: Any) -> None:
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
    actor = who.actor
    refused = await asyncio.to_thread(
        lambda: [t for t in topics if not allowed_topic(actor, t, svc)]
    )
    if refused:
        await ws.send_bytes(orjson.dumps({"error": "not allowed", "topics": refused}))
        await ws.close(code=1008)
        return
    me = await _me(actor, svc)
    watching = svc.presence.watch()  # before the answer: no announcement may slip between
    try:
        await ws.send_bytes(orjson.dumps({"subscribed": topics, "after": after}))
    except BaseException:
        svc.presence.unwatch(watching)
        raise
    # Whichever ends first ends the socket: the client leaving, the session ending, a failure.
    tasks = {
        asyncio.create_task(_receive(ws, me, topics, svc)),
        asyncio.create_task(_push(ws, actor, svc, topics, after)),
        asyncio.create_task(_push_presence(ws, actor, svc, topics, watching)),
        asyncio.create_task(_watch_session(ws, who, svc)),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        for topic in topics:
            if topic.startswith("ticket:") and me is not None:
                await announce(svc, replace(me, ticket_id=topic[7:], state=State.LEFT))


async def _push(ws: WebSocket, actor: Actor, svc: Any, topics: list[str], after: int) -> None:
    async for change in svc.hub.subscribe(topics, after):
        if await _visible(actor, change, svc):
            await ws.send_bytes(orjson.dumps({"position": change.position,
                                              "ticket": change.ticket_id,
                                              "event": change.event,
                                              "version": change.version}))  # fmt: skip


async def _me(actor: Actor, svc: Any) -> Presence | None:
    """This socket's presence template (None for an anonymous visitor)."""
    if actor.id is None:
        return None
    account = await asyncio.to_thread(svc.desk.account_by_id, actor.id)
    return Presence("", str(actor.id), account.display_name, State.VIEWING, actor.is_staff, 0.0)


async def _receive(ws: WebSocket, me: Presence | None, topics: list[str], svc: Any) -> None:
    """Client messages: {"presence": state, "ticket": id} for a subscribed ticket."""
    last, last_state = 0.0, State.LEFT
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text") or (message.get("bytes") or b"").decode(errors="replace")
        if len(text) > MAX_MESSAGE or me is None:
            continue
        try:
            said = orjson.loads(text)
            state, ticket = State(said["presence"]), str(said["ticket"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        if f"ticket:{ticket}" not in topics or (state is State.TYPING_NOTE and not me.staff):
            continue
        now = time.time()
        if state is last_state and now - last < 0.5:
            continue  # a repeated announcement at most twice a second; a change always passes
        last, last_state = now, state
        await announce(svc, replace(me, ticket_id=ticket, state=state, at=now))


async def announce(svc: Any, p: Presence) -> None:
    """Puts an announcement on every process's board (through NOTIFY on PostgreSQL)."""
    if svc.projections.db.dialect != "postgres":
        svc.presence.apply(p)
        return
    payload = f"{svc.settings.schema or 'public'}|{encode(p)}"

    def notify() -> None:
        with svc.projections.db.read() as tx:
            tx.execute("SELECT pg_notify('suz_presence', %s)", (payload,))

    await asyncio.to_thread(notify)


async def _push_presence(
    ws: WebSocket, actor: Actor, svc: Any, topics: list[str], queue: asyncio.Queue[str]
) -> None:
    watching = {t[7:] for t in topics if t.startswith("ticket:")}
    everything = "presence" in topics and actor.is_staff
    try:
        for ticket in sorted(watching):  # who is already there
            who = svc.presence.of(ticket, staff=actor.is_staff)
            if who:
                await ws.send_bytes(orjson.dumps({"presence": ticket, "who": who}))
        while True:
            ticket = await queue.get()
            if ticket in watching or everything:
                who = svc.presence.of(ticket, staff=actor.is_staff)
                await ws.send_bytes(orjson.dumps({"presence": ticket, "who": who}))
    finally:
        svc.presence.unwatch(queue)


async def _watch_session(ws: WebSocket, who: Caller, svc: Any) -> None:
    """Closes the socket soon after its session (or the account) ends."""
    while True:
        await asyncio.sleep(SESSION_CHECK)
        if who.token is None and who.actor.id is None:
            continue
        alive = await asyncio.to_thread(_still_valid, who, svc)
        if not alive:
            await ws.close(code=1008, reason="session ended")
            return


def _still_valid(who: Caller, svc: Any) -> bool:
    if who.token is not None and svc.sessions.lookup(who.token) is None:
        return False
    try:
        svc.desk.actor_for(who.actor.id)
    except DeskError:
        return False
    return True


routes = [WebSocketRoute("/live", live)]
