"""The JSON API under /api/v1: sign-in, filing, ticket commands, and the desk's queries."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Actor, TicketScope, may_see, visible_state
from domain.errors import DeskError, NotFound
from domain.results import FiledTicket, Written
from domain.ticket import Channel, Contact, Priority, Status, TemplateUse, Urgency
from domain.tickets.commands import BY_API
from projections import catalog, queues
from projections.feed import activity
from projections.search import search
from projections.timeline import timeline
from web.access import note_actor
from web.auth import COOKIE, Caller, authenticate, in_one_hop, services, signed_in
from web.body import Body, expected_version, path_id
from web.command_input import build
from web.errors import ApiError
from web.filing_limit import Decision
from web.http import json, number, wait_for_views, written
from web.sign_in import attempt


# -- session ----------------------------------------------------------------------------------
async def sign_in(request: Request) -> Response:
    body = await Body.read(request)
    login, password = body.text("login").strip().lower(), body.text("password")
    svc = services(request)
    address = request.client.host if request.client else "unknown"
    tried = await run_in_threadpool(attempt, svc, login, password, address)
    if (wait := tried.wait) > 0:
        raise ApiError(429, "too_many_attempts", f"Too many failed sign-ins; wait {wait:.0f} s.",
                       headers={"Retry-After": str(int(wait) + 1)})  # fmt: skip
    account, token = tried.account, tried.token
    if account is None:
        raise ApiError(401, "bad_credentials", "Wrong login or password.")
    note_actor(request.scope, account.id)  # the access line's actor (web/access.py)
    response = json({"account": str(account.id), "csrf_token": tried.csrf_token})
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")  # fmt: skip
    return response


async def sign_out(request: Request) -> Response:
    c = await authenticate(request)
    if c.token:
        await run_in_threadpool(services(request).sessions.revoke, c.token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


async def me(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    return json({"id": str(actor.id), "roles": sorted(actor.roles),
                 "organisation": str(actor.organisation_id) if actor.organisation_id else None,
                 "groups": sorted(map(str, actor.group_ids))})  # fmt: skip


# -- filing -----------------------------------------------------------------------------------
async def file_ticket(request: Request) -> Response:
    raw = await Body.receive(request)
    # the caller (when not remembered), the body, the public form's limit and the filing: one hop
    filed = await in_one_hop(request, lambda c: _file(request, c, raw))
    answer = {"id": str(filed.id), "number": filed.number, "position": filed.position,
              "version": filed.version}  # fmt: skip
    if filed.visitor_key:
        answer["private_link"] = f"/api/v1/tickets/{filed.id}?key={filed.visitor_key}"
        answer["key"] = filed.visitor_key
    return json(answer, 201)


def _file(request: Request, c: Caller, raw: bytes) -> FiledTicket:
    body = Body.parse(request, raw)
    body.forbid("status", "organisation", "requester", "number", "group", "assignee")
    svc = services(request)
    contact = None
    address = request.client.host if request.client else "unknown"
    if c.actor.id is None:
        wait = svc.public_form_limit.hit(address)
        if wait > 0:
            raise ApiError(429, "rate_limited", "Too many requests from your address; try later.",
                           headers={"Retry-After": str(int(wait) + 1)})  # fmt: skip
        contact = Contact(body.text("contact_name").strip(), body.text("contact_email").strip())
    try:
        return svc.desk.file_ticket(
            c.actor, body.uuid("category"), body.text("subject"),
            body.text("description"), body.obj("fields"),
            Channel.API if request.headers.get("authorization") else (
                Channel.CABINET if c.actor.id else Channel.PUBLIC_FORM),
            contact, _priority(body) if "priority" in body.data else None, _urgency(body),
        )  # fmt: skip
    except (DeskError, ApiError):  # only filings count against the address (web/filing_limit.py)
        if c.actor.id is None:
            svc.public_form_limit.refund(address, Decision(0.0))
        raise


def _priority(body: Body) -> Priority:
    try:
        return Priority(body.text("priority", "normal"))
    except ValueError:
        raise ApiError(422, "invalid_input", "priority must be low, normal, high or critical.",
                       ("priority",)) from None  # fmt: skip


def _urgency(body: Body) -> Urgency:
    """How urgent it is for the requester (the priority is the staff's: Desk.file_ticket)."""
    try:
        return Urgency(body.text("urgency", "normal"))
    except ValueError:
        raise ApiError(422, "invalid_input", "urgency must be low, normal or high.",
                       ("urgency",)) from None  # fmt: skip


# -- ticket commands --------------------------------------------------------------------------
class JsonReader:
    """The command's fields from a JSON body (web/command_input.py walks them)."""

    def __init__(self, body: Body) -> None:
        self.body = body

    def text(self, name: str, default: str | None) -> str:
        return self.body.text(name, default)

    def uuid(self, name: str) -> UUID:
        return self.body.uuid(name)

    def opt_uuid(self, name: str) -> UUID | None:
        return self.body.opt_uuid(name)

    def integer(self, name: str) -> int:
        return self.body.integer(name)

    def strs(self, name: str) -> tuple[str, ...]:
        return self.body.strs(name)

    def obj(self, name: str) -> dict[str, Any]:
        return self.body.obj(name)

    def choice(self, name: str, kind: type[Enum], default: Enum | None) -> Any:
        given = self.body.text(name, None if default is None else str(default.value))
        try:
            return kind(given)
        except ValueError:
            values = [str(m.value) for m in kind]
            raise ApiError(422, "invalid_input",
                           f"{name} must be {', '.join(values[:-1])} or {values[-1]}.",
                           (name,)) from None  # fmt: skip

    def template(self) -> TemplateUse | None:
        """The template a message was written from: {"id": ..., "revision": n}, if any."""
        raw = self.body.data.get("template")
        if raw is None:
            return None
        t = Body(raw) if isinstance(raw, dict) else Body({})
        return TemplateUse(t.uuid("id"), t.integer("revision"))


async def ticket_command(request: Request) -> Response:
    raw = await Body.receive(request)
    # the caller (when not remembered), the body and the command: one thread-pool hop
    return written(await in_one_hop(request, lambda c: _command(request, c, raw)))


def _command(request: Request, c: Caller, raw: bytes) -> Written:
    kind = BY_API.get(request.path_params["command"])
    if kind is None:
        raise ApiError(404, "not_found", "No such command on a request.")
    ticket_id = path_id(request, "ticket_id", "request")
    body = Body.parse(request, raw)
    version = expected_version(request, body)
    command = build(kind, ticket_id, version, JsonReader(body))
    return services(request).desk.handle(c.actor, command)


# -- queries ----------------------------------------------------------------------------------
# Each reads its views in the thread pool, never on the event loop that every other request and
# socket shares: the caller (free when remembered) and the wait for `?after=` come first, then
# the read and the JSON in one hop; a query that waits for nothing looks its caller up (when not
# remembered) in the same hop as well (`in_one_hop`).
async def get_ticket(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    ticket_id = path_id(request, "ticket_id", "request")
    await wait_for_views(request)
    return await run_in_threadpool(_ticket, request, actor, ticket_id)


def _ticket(request: Request, actor: Actor, ticket_id: UUID) -> Response:
    with services(request).projections.db.read() as tx:
        row = queues.ticket_row(tx, str(ticket_id))
        if row is None or not may_see(actor, _scope(row)):
            raise NotFound("No such request.")
        entries = timeline(tx, row.id, staff=actor.is_staff)
    return json({"ticket": _row(actor, row), "timeline": [asdict(e) for e in entries]},
                headers={"ETag": f'"{row.version}"'})  # fmt: skip


def _scope(row: queues.TicketRow) -> TicketScope:
    return TicketScope(UUID(row.id), _uuid(row.requester_id), _uuid(row.organisation_id))


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


def _row(actor: Actor, row: queues.TicketRow) -> dict[str, Any]:
    """The queue row as the actor may see it (a requester: not who works it, nor where)."""
    return visible_state(actor, asdict(row))


def _page(page: queues.Page, actor: Actor) -> Response:
    rows = [_row(actor, r) for r in page.rows]
    return json({"tickets": rows, "next_after": page.next_after})


def _after(request: Request) -> int | None:
    return number(request.query_params.get("after_number", ""))


QUEUES = {
    "group": queues.for_group, "unassigned": queues.unassigned, "waiting": queues.waiting,
}  # fmt: skip


async def queue(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    if not actor.is_staff:
        raise ApiError(403, "forbidden", "Queues are for the support staff.")
    await wait_for_views(request)
    return await run_in_threadpool(_queue, request, actor)


def _queue(request: Request, actor: Actor) -> Response:
    kind = request.path_params["kind"]
    with services(request).projections.db.read() as tx:
        if kind == "mine":
            mine = queues.for_assignee(tx, actor.id, _after(request))  # type: ignore[arg-type]
            return _page(mine, actor)
        if kind == "line":
            line, status = request.query_params.get("line", "1"), request.query_params.get(
                "status", "new")  # fmt: skip
            if line not in ("1", "2", "3") or status not in Status._value2member_map_:
                raise ApiError(422, "invalid_input", "line is 1-3; status a ticket status.")
            return _page(queues.by_line(tx, int(line), Status(status), _after(request)), actor)
        query = QUEUES.get(kind)
        if query is None:
            raise ApiError(404, "not_found", "No such queue.")
        group = _uuid_param(request, "group")
        return _page(query(tx, group, _after(request)), actor)


def _uuid_param(request: Request, name: str) -> UUID:
    try:
        return UUID(request.query_params.get(name, ""))
    except ValueError:
        raise ApiError(422, "invalid_input", f"{name} must be an id.", (name,)) from None


async def queue_counts(request: Request) -> Response:
    return await in_one_hop(request, lambda c: _queue_counts(request, c))


def _queue_counts(request: Request, c: Caller) -> Response:
    if not signed_in(c).is_staff:
        raise ApiError(403, "forbidden", "Queues are for the support staff.")
    names = [q for q in request.query_params.getlist("queue") if q][:100]
    with services(request).projections.db.read() as tx:
        return json(queues.counts(tx, names))


async def my_tickets(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    await wait_for_views(request)
    return await run_in_threadpool(_my_tickets, request, actor)


def _my_tickets(request: Request, actor: Actor) -> Response:
    scope = request.query_params.get("scope", "mine")
    with services(request).projections.db.read() as tx:
        if scope == "organisation":
            return _page(queues.of_organisation(tx, actor, _after(request)), actor)
        return _page(queues.requested_by(tx, actor, _after(request)), actor)


async def search_tickets(request: Request) -> Response:
    return await in_one_hop(request, lambda c: _search(request, c))


def _search(request: Request, c: Caller) -> Response:
    actor = signed_in(c)
    text = request.query_params.get("q", "")[:500]
    with services(request).projections.db.read() as tx:
        hits = search(tx, actor, text)
    return json({"results": [{"id": i, "number": n} for i, n in hits]})


async def activity_stream(request: Request) -> Response:
    return await in_one_hop(request, lambda c: _activity(request, c))


def _activity(request: Request, c: Caller) -> Response:
    if not signed_in(c).is_staff:
        raise ApiError(403, "forbidden", "The activity stream is for the support staff.")
    before = number(request.query_params.get("before", ""))
    with services(request).projections.db.read() as tx:
        rows = activity(tx, before)
    return json([{**asdict(ch), "number": n, "subject": s} for ch, n, s in rows])


async def list_categories(request: Request) -> Response:
    """Public: the categories and the fields each asks for (the filing form needs them)."""
    await wait_for_views(request)
    return await run_in_threadpool(_categories, request)


def _categories(request: Request) -> Response:
    with services(request).projections.db.read() as tx:
        return json(catalog.categories(tx))


async def list_directory(request: Request) -> Response:
    """Staff: groups and active staff, for assigning and transferring."""
    return await in_one_hop(request, lambda c: _directory(request, c))


def _directory(request: Request, c: Caller) -> Response:
    if not signed_in(c).is_staff:
        raise ApiError(403, "forbidden", "The directory is for the support staff.")
    with services(request).projections.db.read() as tx:
        return json({"groups": catalog.groups(tx), "staff": catalog.staff(tx)})


routes = [
    Route("/api/v1/categories", list_categories),
    Route("/api/v1/directory", list_directory),
    Route("/api/v1/session", sign_in, methods=["POST"]),
    Route("/api/v1/session", sign_out, methods=["DELETE"]),
    Route("/api/v1/me", me),
    Route("/api/v1/tickets", file_ticket, methods=["POST"]),
    Route("/api/v1/tickets/{ticket_id}", get_ticket),
    Route("/api/v1/tickets/{ticket_id}/{command}", ticket_command, methods=["POST"]),
    Route("/api/v1/queues/counts", queue_counts),
    Route("/api/v1/queues/{kind}", queue),
    Route("/api/v1/my/tickets", my_tickets),
    Route("/api/v1/search", search_tickets),
    Route("/api/v1/activity", activity_stream),
]
