"""The agents' ticket page: the whole timeline, the requester and the category's fields, and
every action on the request (reply with a template, note, request information, transfer,
escalate, resolve, link, raise a knowledge gap), live, with presence.

The timeline shows its newest entries (web/ui/timeline_window.py): earlier ones come on demand
(`/t/{id}/earlier?before=<version>`), new ones are appended live (`?part=timeline&version=<the
last shown>`), so a request with thousands of entries opens as fast as a new one.

Every action form is sent with the version the page last showed (`#seen-version`, refreshed with
the timeline). A write against an older version is refused by the ticket: the page then shows
the events the writer had not seen and keeps what he typed, so nothing is merged silently.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from functools import partial
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Actor, Command, check_work
from domain.article import Kind
from domain.errors import Conflict, DeskError, InvalidInput, NotFound
from domain.results import Written
from domain.ticket import ACTIVE_STATUSES, LinkKind, Priority, Status, TemplateUse, Ticket
from domain.tickets.commands import BY_ACTION, AddNote, ReplyToTicket, TicketCommand
from projections import catalog, kb_queries, knowledge, queues
from projections.db import Tx
from projections.sla import deadlines
from projections.timeline import Entry, count_before, newest, timeline
from web.auth import services
from web.command_input import build
from web.errors import STATUS
from web.http import wait_for_views
from web.kb import methodology_group
from web.services import Services
from web.text_input import plain_text
from web.ui import i18n
from web.ui.guard import Viewer, refusal, staff_only, ui
from web.ui.lookups import account_names, group_names, organisation_names
from web.ui.refusals import translated
from web.ui.render import is_htmx, page
from web.ui.requester_forms import Posted, keep, posted, store
from web.ui.timeline_window import PAGE, cursor, moments, rendered

GROUP_KEYS = ("group_id", "from_group_id", "to_group_id")
# raised_by: a gap, a call; requester_id: a merged request's (MergedFrom)
PERSON_KEYS = ("by", "assignee_id", "to_assignee_id", "raised_by", "requester_id")


def _ticket_id(request: Request) -> UUID:
    try:
        return UUID(request.path_params["ticket_id"])
    except ValueError:
        raise NotFound("No such request.") from None


def _names(tx: Tx, ticket: Ticket, entries: list[Entry]) -> dict[str, dict[str, str]]:
    people = {str(ticket.requester_id), str(ticket.assignee_id), str(ticket.raised_by)}
    groups = {str(ticket.group_id)}
    for e in entries:
        people |= {str(e.data[k]) for k in PERSON_KEYS if e.data.get(k)}
        people |= {str(m) for m in e.data.get("mentions") or ()}  # a note's (issue 16)
        groups |= {str(e.data[k]) for k in GROUP_KEYS if e.data.get(k)}
    organisation = [str(ticket.organisation_id)]
    codes = catalog.organisation_codes(tx, organisation)  # INN and KPP, shown beside its name
    return {"accounts": account_names(tx, people), "groups": group_names(tx, groups),
            "organisations": organisation_names(tx, organisation),
            "organisation_inn": {k: inn for k, (inn, _) in codes.items()},
            "organisation_kpp": {k: kpp for k, (_, kpp) in codes.items() if kpp}}  # fmt: skip


def _category(tx: Tx, ticket: Ticket, categories: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:  # fmt: skip
    wanted = str(ticket.category_id)
    listed = catalog.categories(tx) if categories is None else categories
    found = next((c for c in listed if c["id"] == wanted), None)
    return found or {"id": wanted, "name_ru": "?", "name_en": "?", "form": []}


def _linked(tx: Tx, ticket: Ticket) -> list[tuple[str, queues.TicketRow]]:
    found = []
    for other, kind in ticket.links[:50]:
        row = queues.ticket_row(tx, str(other))
        if row is not None:
            found.append((str(kind), row))
    return found


def load(request: Request, actor: Actor, ticket_id: UUID, since: int = 0) -> dict[str, Any]:
    """Everything the page shows, with the newest entries of the timeline; `since` > 0 also
    returns those of them after that version (what a stale writer had not seen)."""
    svc = services(request)
    ticket = svc.desk.ticket(actor, ticket_id)  # refuses who may not see it
    with svc.projections.db.read() as tx:
        entries, earlier = _newest(tx, str(ticket_id), None)
        categories = catalog.categories(tx)  # the side panel offers another
        category = _category(tx, ticket, categories)
        text = f"{ticket.subject} {ticket.description}"
        suggested = knowledge.suggest(tx, text, staff=True, kinds=(Kind.ARTICLE,),
                                      limit=5, category_id=str(ticket.category_id))  # fmt: skip
        context = {
            "ticket": ticket, "entries": entries, "category": category, **earlier,
            "names": _names(tx, ticket, entries), "groups": catalog.groups(tx),
            "staff": catalog.staff(tx), "templates": kb_queries.published_templates(tx),
            "suggested": suggested,
            "linked": _linked(tx, ticket), "categories": categories,
            "sla": deadlines(tx, [str(ticket_id)]).get(str(ticket_id)),
            "unseen": [e for e in entries if e.version > since] if since else [],
            "split_ok": ticket.status is not Status.CLOSED,
            "merged_into": (queues.ticket_row(tx, str(ticket.merged_into))
                            if ticket.merged_into else None),
        }  # fmt: skip
        mentioned = queues.mentioned_on(tx, str(ticket_id))  # whom its notes consulted
        named = account_names(tx, mentioned)
        context["consulted"] = [named[m] for m in mentioned if m in named]
    context["labels"] = {f["key"]: f for f in category["form"]}
    context["position"] = entries[-1].position if entries else 0
    context["rendered"], context["moments"] = rendered(entries), moments(entries)
    return context


def _newest(tx: Tx, ticket_id: str, before: int | None) -> tuple[list[Entry], dict[str, Any]]:
    """The last PAGE entries (below version `before`), and where and how many earlier ones are
    left for "show earlier" (`earlier` None when none is)."""
    entries = newest(tx, ticket_id, staff=True, limit=PAGE + 1, before=before)
    if len(entries) <= PAGE:
        return entries, {"earlier": None, "earlier_count": 0}
    entries = entries[1:]
    first = entries[0].version
    return entries, {"earlier": first,
                     "earlier_count": count_before(tx, ticket_id, first, staff=True)}  # fmt: skip


def _entries(request: Request, ticket: Ticket, *, before: int | None = None,
             after: int | None = None) -> dict[str, Any]:  # fmt: skip
    """A part of the timeline alone: the PAGE entries below `before`, or those after `after`
    (`more` when there are more than PAGE of them: the page then shows the newest again)."""
    ticket_id = str(ticket.id)
    with services(request).projections.db.read() as tx:
        more, earlier = False, {"earlier": None, "earlier_count": 0}
        if after is None:
            entries, earlier = _newest(tx, ticket_id, before)
        else:
            entries = timeline(tx, ticket_id, staff=True, after_version=after, limit=PAGE + 1)
            more = len(entries) > PAGE
            if more:
                entries, earlier = _newest(tx, ticket_id, None)
        category = _category(tx, ticket)
        context = {"ticket": ticket, "entries": entries, "more": more, **earlier,
                   "names": _names(tx, ticket, entries), "rendered": rendered(entries),
                   "moments": moments(entries), "split_ok": ticket.status is not Status.CLOSED,
                   "labels": {f["key"]: f for f in category["form"]}}  # fmt: skip
    context["seen"] = entries[-1].version if entries else after or 0
    context["position"] = entries[-1].position if entries else 0
    return context


async def _show(request: Request, viewer: Viewer, template: str = "ticket/page.html",
                status: int = 200, **extra: Any) -> Response:  # fmt: skip
    ticket_id = _ticket_id(request)
    context = await run_in_threadpool(load, request, viewer.actor, ticket_id,
                                      int(extra.pop("since", 0)))  # fmt: skip
    headers = {"X-Suz-Position": str(context["position"])}
    values = {"nav": "desk", "draft": {}, "error": None, "part": "", **context, **extra}
    return page(request, template, status, headers, **values)


@ui
@staff_only
async def ticket_page(request: Request, viewer: Viewer) -> Response:
    await wait_for_views(request)
    part = request.query_params.get("part", "")
    if part == "timeline":
        return await _new_entries(request, viewer)
    if part == "composer":
        return await _composer(request, viewer)
    template = "ticket/side.html" if part == "side" else "ticket/page.html"
    return await _show(request, viewer, template, part=part)


async def _composer(request: Request, viewer: Viewer) -> Response:
    """A live refresh of the actions: nothing (204, htmx keeps what is typed) while the request's
    phase (worked on, resolved, closed) is the one the page shows, else the actions it allows
    now, on the tab that was open."""
    ticket = await run_in_threadpool(services(request).desk.ticket, viewer.actor,
                                     _ticket_id(request))  # fmt: skip
    if request.query_params.get("phase") == phase(ticket):
        return Response(status_code=204)
    tab = request.query_params.get("tab", "")
    return await _show(request, viewer, "ticket/composer.html", part="composer",
                       tab=tab if tab in TABS else "")  # fmt: skip


TABS = ("reply", "note", "info", "transfer", "escalate", "resolve", "more")


def phase(ticket: Ticket) -> str:
    """What the actions offered depend on: the request worked on ("active"), resolved, closed."""
    return "active" if ticket.status in ACTIVE_STATUSES else ticket.status.value


async def _new_entries(request: Request, viewer: Viewer) -> Response:
    """A live refresh: the entries after the version the page shows, to append to it (or the
    newest again, in place of the whole list, when too many came for one step)."""
    ticket = await run_in_threadpool(services(request).desk.ticket, viewer.actor,
                                     _ticket_id(request))  # fmt: skip
    after = cursor(request, "version")
    context = await run_in_threadpool(partial(_entries, request, ticket, after=after))
    headers = {"X-Suz-Position": str(context["position"])}
    if context["more"]:
        headers |= {"HX-Retarget": "#timeline", "HX-Reswap": "outerHTML"}
        return page(request, "ticket/timeline.html", 200, headers, live=True, **context)
    return page(request, "ticket/new_entries.html", 200, headers, **context)


@ui
@staff_only
async def earlier_entries(request: Request, viewer: Viewer) -> Response:
    """ "Show earlier": the PAGE entries before version `before`, in place of the button."""
    ticket = await run_in_threadpool(services(request).desk.ticket, viewer.actor,
                                     _ticket_id(request))  # fmt: skip
    before = cursor(request, "before")
    context = await run_in_threadpool(partial(_entries, request, ticket, before=before))
    return page(request, "ticket/earlier.html", **context)


# -- actions -------------------------------------------------------------------------------------
def _text(form: FormData, name: str) -> str:
    return plain_text(name, str(form.get(name) or "")[:100_000], i18n.gettext)


def _uuid(form: FormData, name: str) -> UUID | None:
    value = _text(form, name).strip()
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose from the list."), [name]) from None


def _template(form: FormData) -> TemplateUse | None:
    template, revision = _uuid(form, "template_id"), _text(form, "template_revision")
    if template is None or not revision.isdigit():
        return None
    return TemplateUse(template, int(revision))


def _other_ticket(svc: Services, form: FormData) -> UUID:
    raw = _text(form, "other").strip().lstrip("#№ ")
    if not raw.isdigit():
        raise InvalidInput(i18n.gettext("Enter the other request's number."), ["other"])
    with svc.projections.db.read() as tx:
        found = queues.ticket_id_by_number(tx, int(raw[:18]))
    if found is None:
        raise InvalidInput(i18n.gettext("There is no request with that number."), ["other"])
    return UUID(found)


# What to say when a choice is missing or not one of the list.
CHOOSE: dict[type[Enum], str] = {Priority: i18n.lazy("Choose a priority."),
          LinkKind: i18n.lazy("Choose how the requests are related.")}  # fmt: skip


class FormReader:
    """A command's fields from an action form (web/command_input.py walks them). `chosen`
    gives values the form does not carry: "take" assigns the sender himself."""

    def __init__(self, svc: Services, form: FormData, chosen: dict[str, UUID | None]) -> None:
        self.svc, self.form, self.chosen = svc, form, chosen

    def text(self, name: str, default: str | None) -> str:
        return _text(self.form, name)

    def uuid(self, name: str) -> UUID:
        if name == "other":  # the form names the other request by its number
            return _other_ticket(self.svc, self.form)
        value = self.opt_uuid(name)
        if value is None:
            raise InvalidInput(i18n.gettext("Choose from the list."), [name])
        return value

    def opt_uuid(self, name: str) -> UUID | None:
        return self.chosen[name] if name in self.chosen else _uuid(self.form, name)

    def integer(self, name: str) -> int:
        value = _text(self.form, name).strip()
        if not value.isdigit():
            raise InvalidInput(i18n.gettext("Enter a whole number."), [name])
        return int(value)

    def strs(self, name: str) -> tuple[str, ...]:
        """Ticked boxes, or a text box's lines (blank ones left out)."""
        given = [plain_text(name, str(v)[:100_000], i18n.gettext) for v in self.form.getlist(name)]
        return tuple(line for v in given for line in v.splitlines() if line.strip())

    def obj(self, name: str) -> dict[str, Any]:
        raise InvalidInput(i18n.gettext("Choose from the list."), [name])  # no form sends one

    def choice(self, name: str, kind: type[Enum], default: Enum | None) -> Any:
        given = _text(self.form, name) or (str(default.value) if default is not None else "")
        try:
            return kind(given)
        except ValueError:
            message = CHOOSE.get(kind, i18n.lazy("Choose from the list."))
            raise InvalidInput(i18n.gettext(message), [name]) from None

    def template(self) -> TemplateUse | None:
        return _template(self.form)


def _command(svc: Services, actor: Actor, ticket_id: UUID, name: str, form: FormData,
             version: int) -> TicketCommand:  # fmt: skip
    chosen: dict[str, UUID | None] = {"assignee": actor.id} if name == "take" else {}
    return build(BY_ACTION[name], ticket_id, version, FormReader(svc, form, chosen))


def _run(svc: Services, actor: Actor, ticket_id: UUID, name: str, form: FormData,
         version: int) -> Written:  # fmt: skip
    return svc.desk.handle(actor, _command(svc, actor, ticket_id, name, form, version))


def _raise_gap(request: Request, actor: Actor, ticket_id: UUID, form: FormData) -> Written:
    svc = services(request)
    group = methodology_group(svc)
    if group is None:
        raise InvalidInput(i18n.gettext("The desk has no methodology group yet."), ["subject"])
    ticket = svc.desk.ticket(actor, ticket_id)
    filed = svc.desk.raise_knowledge_gap(
        actor, _text(form, "subject"), _text(form, "description"), group,
        (ticket_id,), ticket.category_id)  # fmt: skip
    return Written(filed.id, filed.position, filed.version)


@ui
@staff_only
async def act(request: Request, viewer: Viewer) -> Response:
    ticket_id = _ticket_id(request)
    name = request.path_params["action"]
    kind = BY_ACTION.get(name)
    if kind is None and name != "gap":
        raise NotFound("No such action on a request.")
    # a knowledge gap links the request it was raised from
    # read-only staff: refused before the form is read
    check_work(viewer.actor, kind.policy if kind else Command.LINK)
    # htmx swaps the ticket in place; a form posted without JS gets the whole page back
    shown = "ticket/main.html" if is_htmx(request) else "ticket/page.html"
    async with posted(request) as sent:
        form = sent.form
        seen = _text(form, "version")
        draft = {k: form.getlist(k) if k in ("fields",) else _text(form, k) for k in form}
        svc = services(request)
        try:
            if not seen.isdigit():
                raise InvalidInput(i18n.gettext("Reload the page: it did not say which "
                                                "version you saw."), ["version"])  # fmt: skip
            if name == "gap":
                w = await run_in_threadpool(_raise_gap, request, viewer.actor, ticket_id, form)
            elif name in ("reply", "note") and sent.files:
                w = await _with_files(request, viewer, ticket_id, name, sent, int(seen))
            else:
                w = await run_in_threadpool(_run, svc, viewer.actor, ticket_id, name, form,
                                            int(seen))  # fmt: skip
        except Conflict:
            await _caught_up(request, None)
            notice = i18n.gettext("Not sent: the request changed while you were writing. Read "
                                  "what is new below, then send again.")  # fmt: skip
            return await _show(request, viewer, shown, 409, draft=draft,
                               error={"form": name, "message": notice, "fields": []},
                               since=int(seen), stale=True)  # fmt: skip
        except DeskError as e:
            if e.code == "forbidden" or isinstance(e, NotFound):
                return refusal(request, STATUS.get(type(e), 403), e.message)
            return await _show(request, viewer, shown, 422, draft=draft,
                               error={"form": name, "message": translated(e.message),
                                      "fields": list(e.fields)})  # fmt: skip
    await _caught_up(request, w.position)
    if name == "gap":
        done = i18n.gettext("Knowledge gap raised for the methodologists.")
        return await _show(request, viewer, shown, notice=done)
    if not is_htmx(request):  # after a post without JS: the page, as a GET of its own
        return RedirectResponse(f"/t/{ticket_id}", 303)
    return await _show(request, viewer, "ticket/main.html")


async def _with_files(request: Request, viewer: Viewer, ticket_id: UUID, name: str,
                      sent: Posted, version: int) -> Written:  # fmt: skip
    """A reply or note with files: the files are staged first (a note's stay internal) and
    kept only once the command is recorded (a refused one leaves nothing on disk)."""
    stored = tuple(await store(request, sent.files))
    svc = services(request)
    if name == "note":
        stored = tuple(replace(a, internal=True) for a in stored)
    command = _command(svc, viewer.actor, ticket_id, name, sent.form, version)
    assert isinstance(command, ReplyToTicket | AddNote)
    w = await run_in_threadpool(svc.desk.handle, viewer.actor, replace(command, attachments=stored))
    await keep(request, stored)
    return w


async def _caught_up(request: Request, position: int | None) -> None:
    """Waits (up to 10 s) until the views show the write at `position` (or the log's head)."""
    svc = services(request)
    if position is None:
        position = await run_in_threadpool(lambda: svc.desk.recorder.max_notification_id() or 0)
    for view in ("tickets", "timeline"):
        await svc.projections.positions.wait_async(view, position, 10.0)


@ui
@staff_only
async def template_text(request: Request, viewer: Viewer) -> Response:
    """The chosen template filled in for this request: the reply box (or the information
    request's fields and questions) comes back pre-filled with it."""
    ticket_id = _ticket_id(request)
    target = request.query_params.get("for", "reply")
    try:
        template_id = UUID(request.query_params.get("template_pick", ""))
    except ValueError:
        return page(request, f"ticket/{'info' if target == 'info' else 'reply'}_fields.html",
                    draft={}, labels={}, template=None, category={"form": []})  # fmt: skip
    lang = i18n.current()
    text, use, template = await run_in_threadpool(
        services(request).desk.render_template, viewer.actor, template_id, ticket_id, lang
    )
    ticket = await run_in_threadpool(services(request).desk.ticket, viewer.actor, ticket_id)

    def category() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            return _category(tx, ticket)

    found = await run_in_threadpool(category)
    published = template.published
    assert published is not None
    draft = {"body": text, "message": text, "fields": list(published.fields),
             "questions": "\n".join(published.questions)}  # fmt: skip
    use_ = {"id": str(use.article_id), "revision": use.revision}
    name = "ticket/info_fields.html" if target == "info" else "ticket/reply_fields.html"
    return page(request, name, draft=draft, template=use_, ticket=ticket, category=found,
                labels={f["key"]: f for f in found["form"]})  # fmt: skip


routes = [
    Route("/t/{ticket_id}", ticket_page),
    Route("/t/{ticket_id}/template", template_text),
    Route("/t/{ticket_id}/earlier", earlier_entries),
    Route("/t/{ticket_id}/act/{action}", act, methods=["POST"]),
]
