"""Finding a request's route without trying them all: routes indexed by their leading segments.

Starlette's Router tries every route's regular expression in order until one matches. suz has
180 routes: a filing and a reply (the API's write routes) matched at the 58th-60th, a ticket's
page at the 94th and a static file at the 180th: 44-135 µs a request on this 2-core machine at
load 4 (docs/performance.md). `IndexedRouter` tries only the routes that can match: those whose
leading literal segments (up to three: /api/v1/tickets) agree with the request's path, in their
order; a route with a parameter first (or a Mount at the root) could match any path and is tried
for every path, in its place. What matches, the 405 of a route that matches the path but not the
method, the redirect to the path with or without its trailing slash and the 404 stay
Starlette's own.
"""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Router
from starlette.types import Receive, Scope, Send

DEPTH = 3  # literal segments indexed: /api/v1/tickets/... are 60 of the routes


def literal_prefix(route: BaseRoute) -> tuple[str, ...]:
    """The first `DEPTH` segments of the paths `route` can match, up to its first parameter:
    "/api/v1/tickets/{id}/replies" -> ("api", "v1", "tickets"), "/" -> ("",), and () for a route
    that could match any path (a parameter first, a Mount at the root, no path)."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return ()
    if isinstance(route, Mount) and path in ("", "/"):
        return ()
    literal: list[str] = []
    for segment in path[1:].split("/")[:DEPTH]:
        if "{" in segment:
            break
        literal.append(segment)
    return tuple(literal)


class IndexedRouter(Router):
    """A Router whose matching loop tries only the routes that the request's first path
    segments allow."""

    _indexed: tuple[int, dict[tuple[str, ...], list[BaseRoute]]] | None = None

    def _index(self) -> dict[tuple[str, ...], list[BaseRoute]]:
        """For each literal prefix some route has (and each shorter one): the routes whose own
        literal prefix is a prefix of it, in the order of `self.routes`."""
        indexed = self._indexed
        if indexed is None or indexed[0] != len(self.routes):  # routes added since: index again
            prefixes = [literal_prefix(r) for r in self.routes]
            nodes = {p[:n] for p in prefixes for n in range(len(p) + 1)}
            index = {node: [r for r, p in zip(self.routes, prefixes, strict=True)
                            if node[: len(p)] == p] for node in nodes}  # fmt: skip
            indexed = self._indexed = (len(self.routes), index)
        return indexed[1]

    def candidates(self, scope: Scope) -> list[BaseRoute]:
        """The routes that may match `scope`'s path, in the order of `self.routes`."""
        index = self._index()
        segments = tuple(get_route_path(scope)[1:].split("/", DEPTH)[:DEPTH])
        for n in range(len(segments), -1, -1):  # the longest prefix some route has
            if (found := index.get(segments[:n])) is not None:
                return found
        return []

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's `Router.app` (1.10) with its first loop over `candidates`: a route that
        is not a candidate cannot match, so the first full match and the first partial one are
        the same routes it would have found; the rest is left to Starlette."""
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial: BaseRoute | None = None
        partial_scope: Scope = {}
        for route in self.candidates(scope):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:  # e.g. 405: the path matched, the method did not
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)  # no candidate matched: Starlette's own answer
