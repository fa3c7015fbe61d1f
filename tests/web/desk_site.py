"""A running desk for the API tests: the app in a TestClient, the World's cast with passwords."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import httpx
import pytest

from domain.desk import SYSTEM, Desk
from domain.settings import Settings
from suz import bootstrap
from suz.bootstrap import web_app
from tests.store_copies import migrated
from tests.world import World
from web import app as app_module
from web.auth import COOKIE
from web.credentials import set_password_hash
from web.migrations import migrate as make_tables
from web.passwords import Passwords
from web.services import Services
from web.sessions import open_session_store

with warnings.catch_warnings():  # starlette 1.10 prefers httpx2, which is not installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "correct horse battery staple"
FAST = {"time_cost": 1, "memory_cost_kib": 8192, "parallelism": 1}  # argon2id, cheap for tests
ORIGIN = "http://testserver"
CONTRACT = "1234567890123456789"
CAST = ("requester", "colleague", "stranger", "agent", "engineer", "developer",
        "methodologist", "quality", "curator", "auditor", "admin")  # fmt: skip
LOGINS = {"requester": "ivanova", "colleague": "petrov", "stranger": "sidorov",
          "agent": "agent1", "engineer": "engineer2", "developer": "dev",
          "methodologist": "method", "quality": "quality", "curator": "curator",
          "auditor": "auditor", "admin": "admin"}  # fmt: skip


__all__ = ["TestClient"]


@dataclass
class Person:
    """One signed-in browser: its own client (cookie jar) and the session's CSRF token."""

    client: TestClient
    csrf: str
    token: str

    def headers(self, version: int | None = None) -> dict[str, str]:
        h = {"X-CSRF-Token": self.csrf, "Origin": ORIGIN}
        if version is not None:
            h["If-Match"] = f'"{version}"'
        return h

    def post(self, path: str, body: Any = None, version: int | None = None) -> httpx.Response:
        r: httpx.Response = self.client.post(path, json=body or {}, headers=self.headers(version))
        return r

    def get(self, path: str) -> httpx.Response:
        r: httpx.Response = self.client.get(path)
        return r

    def command(self, ticket: str, name: str, version: int, **body: Any) -> httpx.Response:
        return self.post(f"/api/v1/tickets/{ticket}/{name}", body, version)

    def ticket(self, ticket: str, after: int = 0) -> dict[str, Any]:
        r = self.get(f"/api/v1/tickets/{ticket}?after={after}")
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data


@dataclass
class Site:
    client: TestClient  # runs the lifespan (the view runners)
    world: World

    @property
    def services(self) -> Services:
        s: Services = self.client.app.state.services  # type: ignore[attr-defined]
        return s

    def new_client(self) -> TestClient:
        return TestClient(self.client.app)

    def sign_in(self, who: str) -> Person:
        client = self.new_client()
        r = client.post("/api/v1/session", json={"login": LOGINS[who], "password": PASSWORD})
        assert r.status_code == 200, r.text
        return Person(client, r.json()["csrf_token"], r.cookies[COOKIE])

    def filing(self, **fields: str) -> dict[str, Any]:
        return {
            "category": str(self.world.contracts),
            "subject": "Контракт не публикуется",
            "description": "При публикации ошибка подписи.",
            "fields": {"contract_number": CONTRACT, **fields},
        }

    def file(self, person: Person, **fields: str) -> dict[str, Any]:
        r = person.post("/api/v1/tickets", self.filing(**fields))
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


def migrate(settings: Settings) -> World:
    """Creates the store's, views' and sessions' tables; builds the World with passwords (a copy
    of a store made so once per test process, when the test's store may be one:
    tests/store_copies.py)."""
    return migrated(settings, build_store)


def build_store(settings: Settings) -> World:
    """What `migrate` makes, made: every table (as `suz migrate` makes them), then the World
    with passwords."""
    make_tables(settings)
    desk = Desk(settings.store_env())
    sessions = open_session_store(settings)
    world = World.build(desk)
    hashed = Passwords(**FAST).hash(PASSWORD)
    for name in CAST:
        actor_id = getattr(world, name).id
        set_password_hash(desk, sessions, SYSTEM, actor_id, hashed)
    sessions.close()
    desk.close()
    return world


@cache
def _fast_passwords() -> Passwords:
    """One hasher with the cheap parameters for every site of the process (it holds nothing but
    its parameters and a dummy hash, which costs a hash to make)."""
    return Passwords(**FAST)


@contextmanager
def open_site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with started_site(settings, monkeypatch, migrate(settings)) as site:
        yield site


@contextmanager
def started_site(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, world: World
) -> Iterator[Site]:
    """The app over a store already migrated for `world` (by `migrate`). Its password hasher
    has the cheap parameters the cast's passwords are stored with (FAST): the default's dummy
    hash, made when the app is built, costs ~0.2 s of CPU for each of several hundred sites;
    tests/web/test_passwords.py checks the defaults."""
    monkeypatch.setattr(bootstrap, "Passwords", _fast_passwords)
    # The heap is the test process's, not the app's: the app's start-up collection and freeze
    # (web/app.py settle_heap) walked all of it at every start and again after its unfreeze,
    # ~80 ms a full collection, 44 % of a web test file's CPU. Here one collection after each
    # site scans only what the test made, and freezes what outlives it (caches, modules).
    monkeypatch.setattr(app_module, "settle_heap", lambda: None)
    monkeypatch.setattr(app_module, "release_heap", lambda: None)
    app = web_app(replace(settings, origins=f"{ORIGIN} http://127.0.0.1:8000"), run_views=True)
    with TestClient(app) as client:
        site = Site(client, world)
        world.desk = site.services.desk
        yield site
    gc.collect()  # the views' per-thread connections, reported while LEAKS (below) applies
    gc.freeze()


# The view store keeps one connection per thread and no one closes those of the threads the test
# clients start; psycopg warns when they are collected.
LEAKS = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <function BaseConnection.__del__"
    ":pytest.PytestUnraisableExceptionWarning"
)
