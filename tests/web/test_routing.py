"""The router tries only the routes its request's leading path segments allow (web/routing.py):
it must find the very route that trying all of them in order finds, and answer 405, the
trailing-slash redirect and 404 as before."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from tests.conftest import settings_for
from tests.web.desk_site import Site, open_site
from web.routing import IndexedRouter

PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


@pytest.fixture
def site(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[Site]:  # fmt: skip
    with open_site(settings_for("sqlite", tmp_path, request), monkeypatch) as s:
        yield s


def sample(template: str) -> str:
    """A path `template` matches: each parameter given a value of its kind."""
    kinds = {"path": "a/b.js", "int": "7", "float": "1.5"}
    return PARAM.sub(lambda m: kinds.get(m.group(2) or "", str(uuid.uuid4())), template)


def found(routes: Sequence[BaseRoute], scope: Scope) -> tuple[BaseRoute | None, BaseRoute | None]:
    """The first route that matches fully, and the first that matches partly (a 405)."""
    full = partial = None
    for route in routes:
        match, _ = route.matches(dict(scope))
        if match is Match.FULL and full is None:
            full = route
        elif match is Match.PARTIAL and partial is None:
            partial = route
    return full, partial


def test_the_index_finds_the_route_that_trying_every_route_finds(site: Site) -> None:
    router = site.client.app.router  # type: ignore[attr-defined]
    assert isinstance(router, IndexedRouter)
    templates = [t for r in router.routes if isinstance(t := getattr(r, "path", None), str)]
    paths = {sample(t) for t in templates} | {sample(t) + "/" for t in templates} | {
        "/", "", "/favicon.ico", "/api", "/api/", "/api/v1", "/api/v1/nothing", "/static",
        "/static/", "/t", "/analytics.csv", "/analytics.csv/x", "//", "/%20", "/api//v1",
    }  # fmt: skip
    assert len(paths) > 300
    checked = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "DELETE"):
            scope: Scope = {"type": "http", "method": method, "path": path, "root_path": "",
                     "headers": [], "query_string": b""}  # fmt: skip
            candidates = router.candidates(scope)
            assert found(candidates, scope) == found(router.routes, scope), (method, path)
            checked += found(router.routes, scope)[0] is not None
        ws = {"type": "websocket", "path": path, "root_path": "", "headers": []}
        assert found(router.candidates(ws), ws) == found(router.routes, ws), path
    assert checked > 150  # most templates' samples matched a route: the check compared routes


def test_answers_other_than_a_match_are_starlettes(site: Site) -> None:
    client = site.client
    assert client.get("/api/v1/me").status_code == 401  # matched: not signed in
    assert client.put("/api/v1/me").status_code == 405  # the path matched, not the method
    assert client.get("/no/such/page").status_code == 404
    moved = client.get("/health/", follow_redirects=False)  # the trailing slash redirected
    assert moved.status_code == 307 and moved.headers["location"].endswith("/health")
    assert client.get("/static/js/htmx.min.js").status_code == 200
    n = len(site.client.app.router.routes)  # type: ignore[attr-defined]
    site.client.app.router.add_route("/zz-added", lambda request: None)  # type: ignore[attr-defined]
    assert len(site.client.app.router.routes) == n + 1  # type: ignore[attr-defined]
    scope = {"type": "http", "method": "GET", "path": "/zz-added", "root_path": ""}
    assert [getattr(r, "path", "") for r in site.client.app.router.candidates(scope)  # type: ignore[attr-defined]
            ] == ["/zz-added"]  # a route added later is indexed too  # fmt: skip
