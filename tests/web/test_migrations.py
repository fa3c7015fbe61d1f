"""Every table is made in one step, by `suz migrate` and at start-up: a fresh store then has
them all, and no module makes its own on first use (a table made lazily and remembered by the
`id()` of an object was once never made at all, after the id was reused)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from domain.settings import Settings
from projections.system import all_views
from suz import cli
from suz.bootstrap import web_app
from tests.web.desk_site import LEAKS, TestClient
from web.migrations import STEPS, VIEW_TABLES

ROOT = Path(__file__).resolve().parents[2]
WEB_TABLES = {"web_sessions", "web_api_tokens"}
AUDIT_TABLES = {"audit_checks", "audit_seals", "audit_seal_checks", "audit_seal_shipped"}


def _view_tables() -> set[str]:
    return {t for v in all_views() for t in v.tables} | {"v_tracking", "v_shapes"}


def _tables(settings: Settings) -> set[str]:
    """The tables that exist in every database of the store."""
    if settings.database_url is not None:
        with psycopg.connect(settings.database_url) as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (settings.schema,),
            ).fetchall()
        return {str(name) for (name,) in rows}
    found: set[str] = set()
    for name in ("events.sqlite", "views.sqlite", "web.sqlite"):
        with sqlite3.connect(settings.data_dir / name) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        found |= {str(n) for (n,) in rows}
    return found


def _use(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUZ_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("SUZ_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("SUZ_DATABASE_URL", raising=False)


def test_suz_migrate_makes_every_table_of_a_fresh_store(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(settings, monkeypatch)
    assert cli.main(["migrate"]) == 0
    assert capsys.readouterr().out.startswith("suz: store ready")
    tables = _tables(settings)
    events = {"desk_events", "desk_snapshots"} if settings.uses_postgres else {
        "stored_events", "stored_snapshots"}  # fmt: skip
    expected = _view_tables() | AUDIT_TABLES | WEB_TABLES | events
    assert expected - tables == set()
    assert cli.main(["migrate"]) == 0  # again: nothing to do, nothing fails
    assert _tables(settings) == tables


def test_the_step_lists_the_audit_tables_no_module_makes_on_first_use() -> None:
    made = " ".join(VIEW_TABLES)
    assert all(f"CREATE TABLE IF NOT EXISTS {t} " in made for t in AUDIT_TABLES)
    assert len(STEPS) >= 3
    lazy = []
    for module in ("web/audit_seals.py", "web/audit_export.py", "web/background.py",
                   "audit/seals.py", "audit/checks.py", "audit/shipping.py"):  # fmt: skip
        text = (ROOT / module).read_text()
        if "_ready" in text or "id(db)" in text:
            lazy.append(module)
    assert lazy == []


@LEAKS
def test_the_service_starting_on_a_store_never_migrated_makes_every_table(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = web_app(replace(settings, origins="http://testserver"), run_views=False)
    with TestClient(app) as client:
        assert client.get("/health").status_code in (200, 503)
    assert (_view_tables() | AUDIT_TABLES | WEB_TABLES) - _tables(settings) == set()
