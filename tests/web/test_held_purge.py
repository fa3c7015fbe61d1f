"""A sent-back form's held files are deleted once expired, by the process that runs the views
(processes/purges.py): `suz views`, or `suz serve` with its views; on both stores."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace

from domain.settings import Settings
from processes.purges import HeldFilesPurge
from projections.db import ViewDB
from suz.bootstrap import bootstrap
from suz.views_process import run_views
from tests.web.desk_site import LEAKS, migrate
from web.attachments import BlobStore
from web.blobs import open_blob_store
from web.migrations import migrate as make_tables

pytestmark = LEAKS
WAIT = 30.0  # seconds the purge may take on a busy machine (it runs every 0.1 s here)


def expired_and_live(store: BlobStore) -> tuple[str, str]:
    """A held file expired a minute ago and one held for an hour: their ids."""
    gone = store.stage(io.BytesIO(b"given up")).hold(time.time() - 60)
    live = store.stage(io.BytesIO(b"being corrected")).hold(time.time() + 3600)
    return gone, live


def wait_until_purged(store: BlobStore) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if store.holding() == 1:
            return
        time.sleep(0.05)
    raise AssertionError("the expired held file was not purged")


def test_suz_views_purges_expired_held_files(settings: Settings) -> None:
    migrate(settings)
    make_tables(settings)  # the blobs' too, before a file is held here
    views_db = ViewDB(settings)
    store = open_blob_store(settings, views_db)
    _, live = expired_and_live(store)
    stop = threading.Event()
    views = threading.Thread(target=run_views, args=(replace(settings, session_purge_interval=0.1),
                                                     stop), daemon=True)  # fmt: skip
    views.start()
    try:
        wait_until_purged(store)
        with store.held(live) as f:
            assert f.read() == b"being corrected"  # the live one stays
    finally:
        stop.set()
        views.join(30)
        views_db.close_all()
    assert not views.is_alive()


def test_serve_purges_held_files_where_its_views_run(settings: Settings) -> None:
    migrate(settings)
    with_views = bootstrap(settings, run_views=True)
    off = bootstrap(replace(settings, session_purge_interval=0), run_views=True)
    try:
        purges = [f for f in with_views.projections.followers if isinstance(f, HeldFilesPurge)]
        assert len(purges) == 1 and purges[0].interval == settings.session_purge_interval
        assert not any(isinstance(f, HeldFilesPurge) for f in off.projections.followers)
        expired_and_live(with_views.blobs)
        purges[0].interval = 0.1
        purges[0].start()  # as Projections.start does where the views run
        try:
            wait_until_purged(with_views.blobs)
        finally:
            purges[0].stop()
    finally:
        for services in (with_views, off):
            services.sessions.close()
            services.projections.db.close_all()
            services.desk.close()
