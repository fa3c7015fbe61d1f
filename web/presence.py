"""Presence: who is viewing a ticket and who is typing, pushed live, never stored as events.

Each web process keeps a board of fresh announcements (they expire after TTL seconds unless
renewed). With PostgreSQL, announcements travel through NOTIFY so every process's board agrees.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from enum import StrEnum

TTL = 30.0


class State(StrEnum):
    VIEWING = "viewing"
    TYPING_NOTE = "typing_note"  # an internal note: staff only
    TYPING_PUBLIC = "typing_public"  # a reply the requester will read
    LEFT = "left"


@dataclass(frozen=True)
class Presence:
    ticket_id: str
    account_id: str
    name: str
    state: State
    staff: bool
    at: float


class Board:
    """The live presence of one process, with asyncio queues for the sockets that watch it."""

    def __init__(self) -> None:
        self._tickets: dict[str, dict[str, Presence]] = {}
        self._watchers: set[asyncio.Queue[str]] = set()

    def apply(self, p: Presence) -> None:
        here = self._tickets.setdefault(p.ticket_id, {})
        if p.state is State.LEFT:
            here.pop(p.account_id, None)
        else:
            here[p.account_id] = p
        for queue in list(self._watchers):
            if not queue.full():  # a socket that stopped reading must not stop the others
                queue.put_nowait(p.ticket_id)

    def of(self, ticket_id: str, *, staff: bool, now: float | None = None) -> list[dict[str, str]]:
        """Who is there, as the viewer may see it: requesters see only public typing."""
        now = now if now is not None else time.time()
        here = self._tickets.get(ticket_id, {})
        for account, p in list(here.items()):
            if now - p.at > TTL:
                del here[account]
        return [
            {"account": p.account_id, "name": p.name, "state": p.state.value}
            for p in sorted(here.values(), key=lambda p: p.name)
            if staff or (p.state is State.TYPING_PUBLIC)
        ]

    def watch(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        self._watchers.add(queue)
        return queue

    def unwatch(self, queue: asyncio.Queue[str]) -> None:
        self._watchers.discard(queue)


def encode(p: Presence) -> str:
    import orjson

    return orjson.dumps(asdict(p)).decode()


def decode(payload: str) -> Presence:
    import orjson

    d = orjson.loads(payload)
    return Presence(d["ticket_id"], d["account_id"], d["name"], State(d["state"]),
                    bool(d["staff"]), float(d["at"]))  # fmt: skip
