"""Bulk actions on the requests ticked on the desk's list (issue 18): assign, transfer, change
priority, add a tag, resolve (with a text or an answer template filled for each request), link
to a mass incident.

The requests are the ticked rows, or (`scope=filter`, on a filtered list or a saved view) every
request the list's filter names across all its pages, at most 200, read when the action is
sent: the person saw their count, not each row, so their versions are those of that moment.
Each ticked row carries the version it showed (`pick` = "<id>:<version>"), and each request gets
its own command through the one dispatcher (`Desk.handle`), so each is recorded in its own
history and refused on its own (policy, status, a version changed since the list was shown).
The commands that compare no version themselves (a tag, a link) are refused too when the
request moved since the list showed it. The answer lists what was done and what was refused
and why, in the viewer's language. The action's own values are checked once, before anything
is sent: a value at fault changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from domain.access import Actor, TicketScope, may_see, requests_seen
from domain.errors import Conflict, DeskError, InvalidInput, NotFound
from domain.incident_commands import LinkToIncident
from domain.ticket import Priority
from domain.tickets.commands import AddTag, Assign, ChangePriority, Resolve, Transfer
from projections import desk_query, queue_views, queues
from web.auth import services
from web.ui import desk_filters, i18n
from web.ui.guard import Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.refusals import translated
from web.ui.render import page

ACTIONS = {"assign": lazy("Assign"), "transfer": lazy("Transfer"),
           "priority": lazy("Change priority"), "tag": lazy("Add tag"),
           "resolve": lazy("Resolve"), "link": lazy("Link to incident")}  # fmt: skip
MAX_PICKS = 200
STAFF_ROLES = ("agent", "methodologist", "analyst", "developer", "operations", "admin",
               "quality", "curator", "auditor")  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    id: str
    number: int | None
    subject: str
    done: bool
    message: str  # why it was refused, in the viewer's language


def _picks(values: list[str]) -> list[tuple[UUID, int]]:
    picks: dict[UUID, int] = {}
    for value in values:
        ticket, _, version = value.partition(":")
        try:
            picks.setdefault(UUID(ticket), int(version))
        except ValueError:
            raise InvalidInput("Choose requests from the list.", ["pick"]) from None
    if not picks:
        raise InvalidInput("Tick at least one request.", ["pick"])
    if len(picks) > MAX_PICKS:
        raise InvalidInput("At most 200 requests at once.", ["pick"])
    return list(picks.items())


def _matching(request: Request, actor: Actor, query: str) -> list[tuple[UUID, int]]:
    """Every request the filter (a list's query: its parameters, or `view=<id>` with or without
    them) names that the actor may see, with its version now; refused when more than 200."""
    params = QueryParams(query[:4000])
    assert actor.id is not None  # staff: an account
    with services(request).projections.db.read() as tx:
        view = None
        if params.get("view"):
            try:
                view_id = str(UUID(params["view"][:40]))
            except ValueError:
                raise NotFound("No such view.") from None
            view = queue_views.one(tx, view_id, actor.id)
            if view is None:
                raise NotFound("No such view.")
        form = desk_filters.read(params, view.query if view else None)
        if form.errors:
            raise InvalidInput("This filter cannot be applied; show the list again.", ["filter"])
        found = desk_query.find(tx, requests_seen(actor), form.filter, actor.id, None, MAX_PICKS)
    if found.after is not None:
        raise InvalidInput("The filter names more than 200 requests: narrow it, or tick them "
                           "page by page.", ["scope"])  # fmt: skip
    if not found.rows:
        raise InvalidInput("The filter names no requests.", ["scope"])
    return [(UUID(r.id), r.version) for r in found.rows]


def _uuid(form: Any, name: str, message: str) -> UUID:
    try:
        return UUID(str(form.get(name, "")))
    except ValueError:
        raise InvalidInput(message, [name]) from None


def _text(form: Any, name: str, message: str | None = None) -> str:
    text = str(form.get(name, "")).strip()
    if message and not text:
        raise InvalidInput(message, [name])
    return text


Build = Callable[[Actor, UUID, int, dict[str, Any]], Any]


def _action(form: Any, actor: Actor, language: str) -> tuple[str, Build, bool]:
    """The action's command for one request (from its id, the version shown and its row), and
    whether the version must be compared here (the command compares none itself)."""
    action = str(form.get("action", ""))
    if action not in ACTIONS:
        raise InvalidInput("Choose an action.", ["action"])
    if action == "assign":
        who = str(form.get("assignee", ""))
        agent = actor.id if who == "me" else _uuid(form, "assignee", lazy("Choose whom to assign."))
        return action, lambda a, t, v, row: Assign(t, v, _u(row.get("group_id")), agent), False
    if action == "transfer":
        group = _uuid(form, "group", lazy("Choose a group."))
        reason = _text(form, "reason", lazy("Say why it is transferred."))
        return action, lambda a, t, v, row: Transfer(t, v, group, reason), False
    if action == "priority":
        try:
            priority = Priority(str(form.get("priority", "")))
        except ValueError:
            raise InvalidInput("Choose a priority.", ["priority"]) from None
        reason = _text(form, "reason")
        return action, lambda a, t, v, row: ChangePriority(t, v, priority, reason), False
    if action == "tag":
        tag = _text(form, "tag", lazy("Give the tag."))
        return action, lambda a, t, v, row: AddTag(t, v, tag), True
    if action == "resolve":
        if str(form.get("template", "")).strip():
            template = _uuid(form, "template", lazy("Choose a template."))

            def filled(a: Actor, t: UUID, v: int, row: dict[str, Any]) -> Resolve:
                desk = row["desk"]
                text, _use, _found = desk.render_template(a, template, t, language)
                return Resolve(t, v, text)

            return action, filled, False
        text = _text(form, "reason", lazy("Write the resolution or choose a template."))
        return action, lambda a, t, v, row: Resolve(t, v, text), False
    incident = _uuid(form, "incident", lazy("Choose an incident."))
    return action, lambda a, t, v, row: LinkToIncident(incident, (t,)), True


def _u(value: str | None) -> UUID | None:
    return UUID(value) if value else None


def _run(request: Request, actor: Actor, picks: list[tuple[UUID, int]], build: Build,
         compare: bool) -> tuple[list[Outcome], int]:  # fmt: skip
    """Each request's own command, one after another; (outcomes, the last log position)."""
    svc = services(request)
    with svc.projections.db.read() as tx:
        found = queues.rows_in_order(tx, [str(t) for t, _ in picks], None)
    rows = {r.id: r for r in found if may_see(actor, _scope(r))}  # named only if he may see it
    outcomes, last = [], 0
    for ticket, seen in picks:
        row = rows.get(str(ticket))
        values = {"group_id": row.group_id if row else None, "desk": svc.desk}
        try:
            if compare:  # the command compares no version: the request as the list showed it
                current = svc.desk.ticket(actor, ticket).version
                if current != seen:
                    raise Conflict(ticket, seen, current)
            written = svc.desk.handle(actor, build(actor, ticket, seen, values))
            last = max(last, written.position)
            outcomes.append(Outcome(str(ticket), row.number if row else None,
                                    row.subject if row else "", True, ""))  # fmt: skip
        except DeskError as e:
            refused = translated(e.message)
            outcomes.append(Outcome(str(ticket), row.number if row else None,
                                    row.subject if row else "", False, refused))  # fmt: skip
    return outcomes, last


def _scope(row: queues.TicketRow) -> TicketScope:
    return TicketScope(UUID(row.id), _u(row.requester_id), _u(row.organisation_id))


def _back(form: Any) -> str:
    back = str(form.get("back", "/desk"))
    return back if back.startswith("/desk") and "//" not in back and "\\" not in back else "/desk"


@ui
async def act(request: Request, viewer: Viewer) -> Response:
    """POST /desk/bulk: one action on every ticked request, each refused on its own."""
    need(viewer, *STAFF_ROLES)
    form = await request.form()
    back = _back(form)
    try:
        if form.get("scope") == "filter":  # the values first: a fault reads nothing
            action, build, compare = _action(form, viewer.actor, i18n.current())
            query = str(form.get("filter", ""))
            picks = await run_in_threadpool(_matching, request, viewer.actor, query)
        else:
            picks = _picks([str(v) for v in form.getlist("pick")])
            action, build, compare = _action(form, viewer.actor, i18n.current())
    except (InvalidInput, NotFound) as e:
        return page(request, "desk/bulk.html", 422, nav="desk", error=translated(e.message),
                    outcomes=[], back=back, action="")  # fmt: skip
    outcomes, last = await run_in_threadpool(_run, request, viewer.actor, picks, build, compare)
    joiner = "&" if "?" in back else "?"
    return page(request, "desk/bulk.html", nav="desk", outcomes=outcomes, error="",
                action=i18n.gettext(ACTIONS[action]), back=f"{back}{joiner}after={last}",
                done=sum(o.done for o in outcomes))  # fmt: skip
