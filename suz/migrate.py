"""`suz migrate`: every table of the store, made once; the commands that start on a fresh store
(init, views) run it first."""

from __future__ import annotations

from domain.desk import Desk
from domain.settings import Settings


def migrate(settings: Settings) -> None:
    """Creates every table once (web/migrations.py), so concurrent start-ups never race."""
    from web.credentials import adopt_legacy_hashes
    from web.migrations import migrate as make_tables
    from web.sessions import open_session_store

    make_tables(settings)
    desk = Desk(settings.store_env())
    sessions = open_session_store(settings)
    adopt_legacy_hashes(desk, sessions)  # old stores kept password hashes in events
    sessions.close()
    desk.close()
    print(f"suz: store ready ({'PostgreSQL' if settings.uses_postgres else settings.data_dir})")
