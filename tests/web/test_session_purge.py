"""Expired sessions are deleted on a schedule by the process that runs the views
(processes/purges.py): `suz views`, or `suz serve` with its views."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from uuid import UUID

from domain.settings import Settings
from processes.purges import SessionPurge
from suz.bootstrap import bootstrap
from suz.views_process import run_views
from tests.web.desk_site import LEAKS, migrate
from web.sessions import SessionStore, open_session_store

pytestmark = LEAKS
WAIT = 30.0  # seconds the purge may take on a busy machine (it runs every 0.1 s here)


def expired_and_live(settings: Settings) -> tuple[SessionStore, str]:
    """A session last seen nine hours ago (idle: 8 h) and a live one; the live one's token."""
    store = open_session_store(settings)
    live = store.create(UUID(int=2))
    old = time.time() - 9 * 3600
    store._run("INSERT INTO {s} (token_hash, account_id, csrf_token, created, last_seen) "
               "VALUES (?, ?, ?, ?, ?)", "0" * 64, "00000000-0000-0000-0000-000000000001",
               "csrf", old, old)  # fmt: skip
    assert len(store._run("SELECT token_hash FROM {s}")[0]) == 2
    return store, live


def wait_until_purged(store: SessionStore) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        hashes = [r[0] for r in store._run("SELECT token_hash FROM {s}")[0]]
        if "0" * 64 not in hashes:
            assert len(hashes) == 1  # the live one stays
            return
        time.sleep(0.05)
    raise AssertionError("the expired session was not purged")


def test_suz_views_purges_expired_sessions_on_its_schedule(settings: Settings) -> None:
    migrate(settings)
    store, live = expired_and_live(settings)
    stop = threading.Event()
    views = threading.Thread(target=run_views, args=(replace(settings, session_purge_interval=0.1),
                                                     stop), daemon=True)  # fmt: skip
    views.start()
    try:
        wait_until_purged(store)
        assert store.lookup(live) is not None
    finally:
        stop.set()
        views.join(30)
        store.close()
    assert not views.is_alive()


def test_serve_purges_where_its_views_run_and_zero_turns_it_off(settings: Settings) -> None:
    migrate(settings)
    with_views = bootstrap(settings, run_views=True)
    off = bootstrap(replace(settings, session_purge_interval=0), run_views=True)
    try:
        purges = [f for f in with_views.projections.followers if isinstance(f, SessionPurge)]
        assert len(purges) == 1 and purges[0].interval == settings.session_purge_interval
        assert not any(isinstance(f, SessionPurge) for f in off.projections.followers)
        store, _ = expired_and_live(settings)
        purges[0].interval = 0.1
        purges[0].start()  # as Projections.start does where the views run
        try:
            wait_until_purged(store)
        finally:
            purges[0].stop()
            store.close()
    finally:
        for services in (with_views, off):
            services.sessions.close()
            services.projections.db.close_all()
            services.desk.close()
