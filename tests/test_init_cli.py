"""A desk installed for real: `suz init` and `suz create-admin` on an empty store (no demo data),
production refusing to start without its keys, and `suz views` as a process of its own."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from domain.desk import SYSTEM, Desk
from domain.people import GroupKind, Role
from domain.settings import Settings
from suz import cli
from suz.bootstrap import web_app
from suz.init import existing_structure
from tests.conftest import PG_URL
from tests.web.desk_site import LEAKS
from web.sessions import open_session_store

with warnings.catch_warnings():  # starlette prefers httpx2, which is not installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "http://testserver"
SECRET = "a-long-enough-secret"
DEADLINE = 60.0  # seconds a subprocess gets to start, catch up or stop


def _use(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment `suz` reads, pointed at the store of `settings`."""
    monkeypatch.setenv("SUZ_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("SUZ_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("SUZ_DATABASE_URL", raising=False)
    monkeypatch.delenv("SUZ_ADMIN_PASSWORD", raising=False)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _head(settings: Settings) -> int:
    desk = Desk(settings.store_env())
    try:
        return desk.recorder.max_notification_id() or 0
    finally:
        desk.close()


@LEAKS
def test_init_and_create_admin_make_a_desk_an_administrator_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(settings, monkeypatch)
    code, out, _ = _run(["init"], capsys)
    assert code == 0 and "made group «1 линия», group «2 линия», group «3 линия», " \
        "category «Общие вопросы»" in out  # fmt: skip
    head = _head(settings)
    code, out, _ = _run(["init"], capsys)  # again: nothing to make
    assert code == 0 and "already set up; nothing changed" in out
    assert _head(settings) == head

    monkeypatch.setenv("SUZ_ADMIN_PASSWORD", SECRET)
    code, out, err = _run(["create-admin", "--login", "boss", "--name", "Начальник",
                           "--email", "boss@example.org"], capsys)  # fmt: skip
    assert code == 0, err
    assert "administrator boss" in out and SECRET not in out + err
    desk = Desk(settings.store_env())
    try:
        groups, categories = existing_structure(desk)
        assert set(groups) == {GroupKind.LINE_1, GroupKind.LINE_2, GroupKind.LINE_3}
        assert categories == 1
        boss = desk.account_by_login("boss")
        assert boss is not None and boss.email == "boss@example.org"
        assert desk.account_by_login("admin") is None  # no demo account, no demo data
    finally:
        desk.close()

    app = web_app(replace(settings, origins=ORIGIN), run_views=True)
    with TestClient(app) as client:
        r = client.post("/api/v1/session", json={"login": "boss", "password": SECRET})
        assert r.status_code == 200, r.text
        page = client.get("/admin/routing")
        assert page.status_code == 200 and "/login" not in str(page.url)
        # the desk accepts a first request: a visitor files one in the general category
        head = client.get("/health").json()["log_position"]
        (general,) = client.get(f"/api/v1/categories?after={head}").json()
        assert (general["name_ru"], general["default_group_id"]) == (
            "Общие вопросы",
            str(groups[GroupKind.LINE_1]),
        )
        visitor = TestClient(app)
        body = {"category": general["id"], "subject": "Не могу войти", "fields": {},
                "description": "Пишет, что пароль неверный.", "contact_name": "Анна",
                "contact_email": "anna@example.org"}  # fmt: skip
        r = visitor.post("/api/v1/tickets", json=body, headers={"Origin": ORIGIN})
        assert r.status_code == 201, r.text


def test_create_admin_refuses_a_short_password_and_writes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(settings, monkeypatch)
    assert _run(["init"], capsys)[0] == 0
    head = _head(settings)
    for password in ("short", "boss-login"):  # too short; the login itself
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{password}\n"))
        code, _, err = _run(["create-admin", "--login", "Boss-Login", "--name", "Начальник",
                             "--password-stdin"], capsys)  # fmt: skip
        assert code == 2
        assert "suz create-admin: refused: The password must" in err
    # without a terminal, nothing to ask: a password must be given
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = _run(["create-admin", "--login", "boss", "--name", "Начальник"], capsys)
    assert code == 2 and "--password-stdin or SUZ_ADMIN_PASSWORD" in err
    assert _head(settings) == head
    desk = Desk(settings.store_env())
    sessions = open_session_store(settings)
    try:
        assert desk.account_by_login("boss-login") is None
        assert desk.account_by_login("boss") is None
    finally:
        sessions.close()
        desk.close()


def test_create_admin_asks_in_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from suz.init import run_create_admin
    from web.credentials import check_password
    from web.passwords import Passwords

    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    _use(settings, monkeypatch)
    assert _run(["init"], capsys)[0] == 0
    answers = iter(["boss", "Начальник", "boss@example.org"])
    secrets = iter([SECRET, SECRET + "x"])  # the two differ: refused
    code = run_create_admin(settings, None, None, None, False, ask=lambda _: next(answers),
                            ask_secret=lambda _: next(secrets), interactive=True)  # fmt: skip
    assert code == 2 and "the two passwords differ" in capsys.readouterr().err
    answers = iter(["boss", "Начальник", "boss@example.org"])
    secrets = iter([SECRET, SECRET])
    code = run_create_admin(settings, None, None, None, False, ask=lambda _: next(answers),
                            ask_secret=lambda _: next(secrets), interactive=True)  # fmt: skip
    assert code == 0
    desk, sessions = Desk(settings.store_env()), open_session_store(settings)
    try:
        boss = desk.account_by_login("boss")
        assert boss is not None
        assert check_password(sessions, Passwords(), boss, SECRET)
    finally:
        sessions.close()
        desk.close()


def _env(settings: Settings, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUZ_")}
    env |= {"SUZ_DATA_DIR": str(settings.data_dir), "PYTHONUNBUFFERED": "1", **more}
    if settings.database_url:
        env["SUZ_DATABASE_URL"] = settings.database_url
    if settings.schema:
        env["SUZ_DATABASE_SCHEMA"] = settings.schema
    return env


def test_production_refuses_to_start_without_keys_and_never_loads_the_demo(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    env = _env(settings, SUZ_MODE="production")
    served = subprocess.run([sys.executable, "-m", "suz.cli", "serve", "--port", "0"], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE)  # fmt: skip
    assert served.returncode != 0
    assert "SUZ_CHAIN_KEY is not set" in served.stderr
    assert "open http" not in served.stdout + served.stderr
    demo = subprocess.run([sys.executable, "-m", "suz.cli", "demo", "--if-empty"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE)  # fmt: skip
    assert demo.returncode == 2 and "demo mode only" in demo.stderr
    assert not (settings.data_dir / "events.sqlite").exists()  # nothing loaded, nothing made


@pytest.mark.postgres
@LEAKS
def test_suz_views_moves_the_views_of_commands_another_desk_writes(
    tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tests.conftest import settings_for

    settings = settings_for("postgres", tmp_path, request)
    _use(settings, monkeypatch)
    assert _run(["init"], capsys)[0] == 0
    log = tmp_path / "views.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "suz.cli", "views"],
                                   env=_env(settings, SUZ_MODE="demo"), cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait(lambda: "suz views: started" in log.read_text(), process, log, "start")
        desk = Desk(settings.store_env())  # another process's desk writes a command
        try:
            written = desk.register_account(SYSTEM, "agent1", "Агент", (Role.AGENT,))
        finally:
            desk.close()
        schema = settings.schema
        assert schema is not None

        def caught_up() -> bool:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                rows = conn.execute(f"SELECT position FROM {schema}.v_tracking").fetchall()
            return bool(rows) and min(r[0] for r in rows) >= written.position

        _wait(caught_up, process, log, "catch up")
        process.send_signal(signal.SIGTERM)
        assert process.wait(DEADLINE) == 0, log.read_text()
        assert "suz views: stopped" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(DEADLINE)


def _wait(done: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Polls `done` until it holds, failing if the process exits or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while not done():
        if process.poll() is not None:
            raise AssertionError(f"suz views exited ({process.returncode}):\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"suz views did not {what} in {DEADLINE} s:\n{log.read_text()}")
        time.sleep(0.05)
