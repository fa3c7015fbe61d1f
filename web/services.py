"""Everything the web service uses, built once per process from the settings."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from domain.desk import Desk
from domain.keys import require_keys
from domain.settings import Settings
from projections.feed import FEED_VIEWS, FeedHub
from projections.system import Projections
from web.csrf import AllowedOrigins
from web.metrics import Metrics
from web.passwords import Passwords
from web.presence import Board, decode
from web.sessions import SessionStore, open_session_store
from web.throttle import RateLimiter, SignInThrottle

if TYPE_CHECKING:  # web.audit_seals serves routes, which need these services
    from web.audit_seals import Sealer


@dataclass
class Services:
    settings: Settings
    desk: Desk
    projections: Projections
    sessions: SessionStore
    passwords: Passwords
    throttle: SignInThrottle
    public_form_limit: RateLimiter
    origins: AllowedOrigins
    run_views: bool
    metrics: Metrics = field(default_factory=Metrics)
    presence: Board = field(default_factory=Board)
    hub: FeedHub | None = None  # set when started: it lives on the server's event loop
    _hub_task: asyncio.Task[None] | None = None
    sealer: Sealer | None = None  # seals the log's head where the views run

    @classmethod
    def build(cls, settings: Settings, *, run_views: bool = True) -> Services:
        from web.migrations import migrate  # it imports the web modules whose tables it makes

        require_keys(settings)  # production: refuse to start without both keys, kept apart
        migrate(settings)  # every table, before anything reads one
        desk = Desk(settings.store_env())
        origins = os.environ.get("SUZ_ORIGINS", "http://127.0.0.1:8000 http://localhost:8000")
        projections = Projections(desk, settings)
        return cls(
            settings=settings,
            desk=desk,
            projections=projections,
            sessions=open_session_store(settings, views=projections.db),  # one pool for both
            passwords=Passwords(),
            throttle=SignInThrottle(),
            public_form_limit=RateLimiter(limit=10, window=3600.0),
            origins=AllowedOrigins.parse(origins),
            run_views=run_views,
        )

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        schema = f"{self.settings.schema or 'public'}|"

        def heard(payload: str) -> None:  # on the listener thread
            if payload.startswith(schema):
                loop.call_soon_threadsafe(self.presence.apply, decode(payload[len(schema) :]))

        self.projections.channels["suz_presence"] = heard
        self.projections.start(run_views=self.run_views)
        if self.run_views and self.settings.seal_interval > 0:
            from web.audit_seals import Sealer

            self.sealer = Sealer(self.settings, self.desk, self.projections.db)
            self.sealer.start()
        writers = [v.name for v in self.projections.views if v.name in FEED_VIEWS]
        self.hub = FeedHub(self.projections.db, self.projections.positions, writers)
        self._hub_task = loop.create_task(self.hub.run())

    def stop(self) -> None:
        if self._hub_task is not None:
            self._hub_task.cancel()
        if self.sealer is not None:
            self.sealer.stop()
        self.projections.stop()
        self.projections.db.close_all()
        self.sessions.close()
        self.desk.close()
