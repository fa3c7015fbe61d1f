"""Everything the web service uses, built once per process from the settings (by
suz/bootstrap.py, the composition root), started and stopped by the app's lifespan."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from audit.seals import Sealer
from domain.desk import Desk
from domain.settings import Settings
from projections.analytics_prime import Primer
from projections.feed import FEED_VIEWS, FeedHub
from projections.system import Projections
from web.attachments import BlobStore
from web.csrf import AllowedOrigins
from web.filing_limit import FilingLimit
from web.metrics import Metrics
from web.passwords import Passwords
from web.presence import Board, decode
from web.sessions import CHANNEL as SESSIONS_CHANNEL
from web.sessions import SessionStore
from web.throttle import SOCKETS_PER_SESSION, LocalSocketLimit, SocketLimit, Throttle


@dataclass
class Services:
    settings: Settings
    desk: Desk
    projections: Projections
    sessions: SessionStore
    passwords: Passwords
    throttle: Throttle  # sign-in back-off (shared by every host over PostgreSQL)
    public_form_limit: FilingLimit  # filings per address without an account (filing_limit.py)
    origins: AllowedOrigins
    run_views: bool
    blobs: BlobStore  # the attachments' store (web/blobs.py)
    # /live sockets per session (web/live.py; shared by every host over PostgreSQL)
    socket_limit: SocketLimit = field(default_factory=lambda: LocalSocketLimit(SOCKETS_PER_SESSION))
    # keys of what the web signs (domain/links.py `derive`, from the chain key: bootstrap):
    # a sent-back form's held files (web/ui/held_files.py), proofs of work (web/filing_limit.py)
    held_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    proof_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    metrics: Metrics = field(default_factory=Metrics)
    presence: Board = field(default_factory=Board)
    hub: FeedHub | None = None  # set when started: it lives on the server's event loop
    _hub_task: asyncio.Task[None] | None = None
    sealer: Sealer | None = None  # seals the log's head where the views run
    primer: Primer | None = None  # primes the analytics cache (SUZ_ANALYTICS_PRIME, PostgreSQL)
    after_priming: Callable[[], None] | None = None  # run by the primer after its first round

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        schema = f"{self.settings.schema or 'public'}|"

        def heard(payload: str) -> None:  # on the listener thread
            if payload.startswith(schema):
                loop.call_soon_threadsafe(self.presence.apply, decode(payload[len(schema) :]))

        self.projections.channels["suz_presence"] = heard
        # revocations made by other processes: forgotten here too (web/caller_cache.py)
        self.projections.channels[SESSIONS_CHANNEL] = self.sessions.heard
        self.projections.start(run_views=self.run_views)
        if self.run_views and self.settings.seal_interval > 0:
            self.sealer = Sealer(self.settings, self.desk, self.projections.db)
            self.sealer.start()
        writers = [v.name for v in self.projections.views if v.name in FEED_VIEWS]
        self.hub = FeedHub(self.projections.db, self.projections.positions, writers)
        self._hub_task = loop.create_task(self.hub.run())
        settings = self.settings
        if settings.analytics_prime and settings.uses_postgres and settings.analytics_cache_mb > 0:
            head = self.desk.recorder.max_notification_id
            self.primer = Primer(self.projections.db, self.projections.positions,
                                 lambda: head() or 0, then=self.after_priming)  # fmt: skip
            self.primer.start()

    def stop(self) -> None:
        if self._hub_task is not None:
            self._hub_task.cancel()
        if self.sealer is not None:
            self.sealer.stop()
        if self.primer is not None:
            self.primer.stop()
        self.projections.stop()
        self.projections.db.close_all()
        self.sessions.close()
        self.desk.close()
