"""Wires the views to a Desk: the pump and its runners, wake-ups, read-your-writes, and the
PostgreSQL listener."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import psycopg

from domain.desk import Desk
from domain.settings import Settings
from projections.activity import ActivityView
from projections.analytics import AnalyticsView
from projections.assign_queue import AssignView
from projections.base import View
from projections.caller_search import CallersView
from projections.catalog import CatalogView
from projections.db import ViewDB
from projections.incidents import IncidentsView
from projections.knowledge import KnowledgeView
from projections.notifications import NotificationsView
from projections.pump import Pump
from projections.quality import QualityView
from projections.queue_history import QueueHistoryView
from projections.queue_views import QueueViewsView
from projections.releases import ReleasesView
from projections.runner import Runner, migrate_views
from projections.search import SearchView
from projections.signals import Positions, Wakeup
from projections.sla import SlaView
from projections.tickets import TicketsView
from projections.timeline import TimelineView

log = logging.getLogger("suz.projections")


class Follower(Protocol):
    """A background process that follows the views (processes/): started after the pump."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


def all_views() -> list[View]:
    return [
        TicketsView(),
        TimelineView(),
        SearchView(),
        CatalogView(),
        CallersView(),
        KnowledgeView(),
        SlaView(),
        AssignView(),
        QueueHistoryView(),
        IncidentsView(),
        AnalyticsView(),
        ActivityView(),
        QualityView(),
        NotificationsView(),
        ReleasesView(),
        QueueViewsView(),
    ]


class Projections:
    """The read side of one process: views, their runners, and the positions they reached."""

    def __init__(self, desk: Desk, settings: Settings, views: list[View] | None = None) -> None:
        self.desk, self.settings = desk, settings
        self.db = ViewDB(settings)
        self.views = views if views is not None else all_views()
        self.positions, self.wakeup = Positions(), Wakeup()
        desk.on_saved.append(self.wakeup.notify)
        self.runners = [Runner(desk, self.db, v, self.positions, self.wakeup) for v in self.views]
        self.pump = Pump(desk, self.db, self.runners, self.positions, self.wakeup)
        # the process managers that follow the views; the composition root adds them
        # (processes/system.py `with_processes`), so the read side knows none of them
        self.followers: list[Follower] = []
        self.channels: dict[str, Callable[[str], None]] = {}  # more PostgreSQL channels to hear
        self._listening = threading.Event()
        self._listener: threading.Thread | None = None
        self._wake = f"suz_wake_{uuid.uuid4().hex}"  # told by `stop`: the listener ends at once

    def migrate(self) -> None:
        migrate_views(self.db, self.views)

    def runner(self, name: str) -> Runner:
        return next(r for r in self.runners if r.view.name == name)

    def catch_up(self) -> None:
        self.pump.catch_up()

    def start(self, *, run_views: bool = True) -> None:
        """Starts the pump (unless another process runs the views) and, on PostgreSQL, LISTEN."""
        if self.db.dialect == "postgres":
            self._listening.set()
            self._listener = threading.Thread(target=self._listen, name="pg-listen", daemon=True)
            self._listener.start()
        if run_views:
            self.pump.start()
            for follower in self.followers:
                follower.start()

    def stop(self) -> None:
        self._listening.clear()
        for follower in self.followers:
            follower.stop()
        self.pump.stop()
        if self._listener:
            try:  # the listener waits up to a second for a notification: this is one
                with self.db.tx() as tx:
                    tx.execute("SELECT pg_notify(%s, '')", (self._wake,))
            except psycopg.Error:
                pass  # the store is away: the listener still ends within its second
            self._listener.join(timeout=5)

    def wait_for(self, position: int, timeout: float = 5.0, views: list[str] | None = None) -> bool:
        """Read-your-writes: blocks until the views have reached `position` (False on timeout)."""
        names = views or [v.name for v in self.views]
        return all(self.positions.wait_for(n, position, timeout) for n in names)

    def _listen(self) -> None:
        """Wakes local runners on new events and learns positions reached by other processes."""
        channel = str(getattr(self.desk.recorder, "channel_name", "desk_events"))
        while self._listening.is_set():
            try:
                conn: Any = self.db.connect()
                with conn:
                    conn.execute(f'LISTEN "{channel}"')
                    conn.execute("LISTEN suz_views")
                    conn.execute(f'LISTEN "{self._wake}"')
                    for extra in self.channels:
                        conn.execute(f'LISTEN "{extra}"')
                    self._load_positions(conn)
                    while self._listening.is_set():
                        for note in conn.notifies(timeout=1.0):
                            if not self._listening.is_set():
                                break
                            self._heard(note.channel, note.payload)
            except psycopg.Error:
                log.exception("listener lost its connection; reconnecting")
                threading.Event().wait(1.0)

    def _heard(self, channel: str, payload: str) -> None:
        if channel == self._wake:
            return
        if channel in self.channels:
            self.channels[channel](payload)
        elif channel == "suz_views":
            scope, _, position = payload.rpartition(":")
            schema, _, view = scope.rpartition(":")  # other schemas' views share the channel
            if schema == (self.settings.schema or "public"):
                self.positions.moved(view, int(position))
        else:
            self.wakeup.notify()

    def _load_positions(self, conn: Any) -> None:
        for view, position in conn.execute("SELECT view, position FROM v_tracking").fetchall():
            self.positions.moved(view, int(position))
