"""`suz views`: the singleton side of a desk in a process of its own, without HTTP.

It runs the views (the projection pump and its runners), the process managers (SLA timer,
assigner, incident process, quality follow-ups, the purges of expired sessions and held files)
and the sealer, until SIGTERM or SIGINT; the web processes then run with `suz serve
--no-views`. On PostgreSQL the pump holds its advisory lock (projections/locks.py), so a second
views process waits rather than doubles the work."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from domain.desk import Desk
from domain.keys import require_keys
from domain.settings import Settings
from suz.migrate import migrate

log = logging.getLogger("suz.views")


def run_views(settings: Settings, stop: threading.Event | None = None) -> int:
    """Runs until `stop` is set (by SIGTERM or SIGINT when run from the command line)."""
    from audit.seals import Sealer
    from processes.purges import with_purges
    from processes.system import read_side
    from suz.mail_in import with_mailbox
    from web.blobs import open_blob_store
    from web.sessions import open_session_store

    if not logging.getLogger().handlers:  # the command line: INFO lines on stderr
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                            "%(message)s")  # fmt: skip
    require_keys(settings)
    migrate(settings)
    stop = stop or _stop_on_signals()
    desk = Desk(settings.store_env())
    projections = with_mailbox(read_side(desk, settings), settings)
    sessions = open_session_store(settings, views=projections.db)  # expired ones purged here
    blobs = open_blob_store(settings, projections.db)  # a sent-back form's expired held files
    with_purges(
        projections, settings.session_purge_interval, sessions.purge_expired, blobs.purge_held
    )
    sealer = Sealer(settings, desk, projections.db) if settings.seal_interval > 0 else None
    store = "PostgreSQL" if settings.uses_postgres else str(settings.data_dir)
    projections.start(run_views=True)
    if sealer is not None:
        sealer.start()
    log.info("suz views: started: %d views and the processes over %s",
             len(projections.runners), store)  # fmt: skip
    try:
        while not stop.wait(1.0):  # a signal's handler runs between the waits
            pass
    finally:
        if sealer is not None:
            sealer.stop()
        projections.stop()
        sessions.close()
        projections.db.close_all()
        desk.close()
        log.info("suz views: stopped")
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("suz views: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
