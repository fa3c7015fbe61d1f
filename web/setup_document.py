"""One GET/PUT pair for every set-up document (routing rules, SLA set-up, trigger rules).

GET answers the document with its version (also as the ETag) to the support staff; PUT parses a
whole new document and replaces it against the version its editor saw (If-Match or `version`):
another version stored meanwhile is a 409 that names the current version. What differs per
document is only how it reads (`show`), how a body parses (`parse`) and which set-up command
replaces it (`command`, domain/setup/documents.py): its policy line (domain/access.py) is asked
before the body is read, and `Desk.handle` asks it again when the command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import check_setup
from domain.errors import Forbidden
from domain.setup.base import SetupCommand
from domain.setup_document import SetupDocument
from web.auth import authenticate, services, signed_in
from web.body import Body, expected_version
from web.http import json, wait_for_views, written

if TYPE_CHECKING:
    from domain.desk import Desk
    from web.services import Services

D = TypeVar("D", bound=SetupDocument)


@dataclass(frozen=True)
class SetupDocumentApi(Generic[D]):
    path: str
    load: Callable[[Desk], D]  # the Desk's reader, e.g. `Desk.routing`
    refusal: str  # why someone not of the staff may not read it (a domain refusal's message)
    show: Callable[[D, Services], dict[str, Any]]  # the document's JSON, beside its version
    parse: Callable[[Body], tuple[Any, ...]]  # a PUT body's fields of `command`, in order
    command: type[SetupCommand]  # e.g. SetRoutingRules(*parsed, expected_version=...)
    wait: bool = False  # honour `?after=N` (the document shows figures from the views)

    async def get(self, request: Request) -> Response:
        if not signed_in(await authenticate(request)).is_staff:
            raise Forbidden(self.refusal)
        if self.wait:
            await wait_for_views(request)
        svc = services(request)
        version, shown = await run_in_threadpool(self._read, svc)
        return json({"version": version, **shown}, headers={"ETag": f'"{version}"'})

    def _read(self, svc: Services) -> tuple[int, dict[str, Any]]:
        document = self.load(svc.desk)
        return document.saved_version, self.show(document, svc)

    async def put(self, request: Request) -> Response:
        actor = (await authenticate(request)).actor
        check_setup(actor, self.command.policy)  # before the body is read
        body = await Body.read(request)
        build = cast(Callable[..., SetupCommand], self.command)
        command = build(*self.parse(body), expected_version=expected_version(request, body))
        return written(await run_in_threadpool(services(request).desk.handle, actor, command))

    def routes(self) -> list[Route]:
        return [Route(self.path, self.get), Route(self.path, self.put, methods=["PUT"])]
