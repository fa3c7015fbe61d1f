"""The request's page for its requester, /r/{id}: the conversation as a chat, live, and what he
may do next (write, answer the questions asked, rate, reopen).

Only the public timeline is read here, so internal notes, internal files and the reasons of
transfers never reach the page. Staff are sent to the agents' page.

The chat shows its newest messages (web/ui/timeline_window.py); earlier ones come on demand
(`/r/{id}/earlier?before=<version>`), new ones are appended live (`?part=timeline&since=<the
version the page shows>`), each read from the public timeline alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from domain.access import Command, TicketScope, may
from domain.category import FieldSpec
from domain.errors import Conflict, InvalidInput
from domain.results import Written
from domain.ticket import ACTIVE_STATUSES, Attachment, Status, Ticket
from projections.catalog import account_names
from projections.db import Tx
from projections.timeline import Entry, changes_after, last_of, last_version, newest, timeline
from web.auth import services
from web.body import path_id
from web.http import wait_for_views
from web.media import may_show_inline
from web.ui import held_files, i18n, requester_files
from web.ui.guard import SignInNeeded, Viewer, ui
from web.ui.render import is_htmx, page
from web.ui.requester_files import Carried
from web.ui.requester_forms import (
    answers,
    category,
    errors_from,
    general_message,
    label,
    posted,
    shown_value,
    typed_values,
)
from web.ui.timeline_window import PAGE, cursor, rendered
from web.uploads import authorise, uploads_of

REQUESTER_SIDE = frozenset(
    {"Filed", "RequesterWrote", "InformationProvided", "AttachmentAdded", "Reopened"}
)
TEAM_SIDE = frozenset({"Replied", "InformationRequested", "Resolved", "AttachmentAdded"})
CARRY_FILES = frozenset(
    {"Filed", "RequesterWrote", "InformationProvided", "Replied", "AttachmentAdded"}
)


@dataclass
class Shown:
    """One entry of the chat as the requester sees it."""

    entry: Entry
    side: str  # mine (the requester's), theirs (the support team's) or event (centred)
    author: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    questions: list[str] = field(default_factory=list)
    answers: list[tuple[str, str]] = field(default_factory=list)  # (question, answer)


@dataclass
class View:
    """Everything the page shows of one request."""

    ticket: Ticket
    category: dict[str, Any] | None
    entries: list[Shown]
    version: int  # the version the page was rendered from (forms send it back)
    position: int
    may_write: bool
    may_inform: bool
    may_rate: bool
    may_reopen: bool
    requested: list[FieldSpec]
    key: str | None
    earlier: int | None = None  # the version "show earlier" reads below (None: nothing before)
    rendered: dict[tuple[int, str], Any] = field(default_factory=dict)  # markdown as HTML
    anew: bool = False  # a live refresh that found too much: the newest page, not what is new
    since: int = 0  # the last version of the public timeline shown (live refreshes go on after)

    @property
    def base(self) -> str:
        return f"/r/{self.ticket.id}"

    @property
    def keyq(self) -> str:
        """The private link's key as a query string (visitors' forms carry it)."""
        return f"?key={quote(self.key)}" if self.key else ""

    @property
    def composer_state(self) -> str:
        if self.may_write:
            return "w"
        return "c" if self.ticket.status is Status.CLOSED else "-"

    @property
    def answer_state(self) -> str:
        t = self.ticket
        seen = (
            f"{self.may_inform}|{','.join(t.requested_fields)}|{'|'.join(t.requested_questions)}|"
            f"{self.may_rate}|{self.may_reopen}"
        )
        return hashlib.sha256(seen.encode()).hexdigest()[:16]

    @property
    def answer_forms(self) -> list[str]:
        """The forms of the answer region, by the id of their version field."""
        shown = [("info", self.may_inform), ("rate", self.may_rate), ("reopen", self.may_reopen)]
        return [name for name, on in shown if on]


def _attachments(ticket_id: str, data: dict[str, Any], key: str | None) -> list[dict[str, Any]]:
    found = list(data.get("attachments") or [])
    if data.get("attachment"):
        found.append(data["attachment"])
    shown = []
    for a in found:
        if not isinstance(a, dict) or a.get("internal") or not a.get("sha256"):
            continue
        url = f"/api/v1/tickets/{ticket_id}/attachments/{a['sha256']}"
        image = may_show_inline(str(a.get("media_type", "")))
        suffix = f"key={quote(key)}" if key else ""
        shown.append(
            {
                "name": a.get("name", ""),
                "size": int(a.get("size", 0)),
                "image": image,
                "url": url + (f"?{suffix}" if suffix else ""),
                "preview": f"{url}?inline=1" + (f"&{suffix}" if suffix else ""),
            }
        )
    return shown


def _shown(
    ticket: Ticket,
    viewer: Viewer,
    entries: list[Entry],
    names: dict[str, str],
    specs: dict[str, FieldSpec],
    key: str | None,
    asked: list[str],
) -> list[Shown]:
    _ = i18n.gettext
    requester = str(ticket.requester_id) if ticket.requester_id else None
    me = viewer.actor.visitor_ticket_id == ticket.id or (
        viewer.actor.id is not None and str(viewer.actor.id) == requester
    )
    if me:
        requester_name = _("You")
    elif requester:
        requester_name = names.get(requester, _("Requester"))
    else:
        requester_name = ticket.contact.name if ticket.contact else _("Requester")

    def labelled(values: dict[str, Any]) -> list[tuple[str, str]]:
        return [(label(specs[k]) if k in specs else k, shown_value(v)) for k, v in values.items()]

    shown: list[Shown] = []
    for e in entries:
        theirs = e.actor_id is not None and e.actor_id != requester
        if e.event in REQUESTER_SIDE and not theirs:
            side, author = "mine", requester_name
        elif e.event in TEAM_SIDE:
            side, author = "theirs", names.get(e.actor_id or "", _("Support team"))
        else:
            side, author = "event", ""
        s = Shown(e, side, author, _attachments(str(ticket.id), e.data, key))
        if e.event == "Filed":
            s.fields = labelled(e.data.get("fields") or {})
        elif e.event == "InformationRequested":
            asked = [str(q) for q in e.data.get("questions") or []]
            s.fields = [
                (label(specs[k]) if k in specs else k, "") for k in e.data.get("fields") or []
            ]
            s.questions = asked
        elif e.event == "InformationProvided":
            s.fields = labelled(e.data.get("values") or {})
            given = [str(a) for a in e.data.get("answers") or []]
            s.answers = [(asked[i] if i < len(asked) else "", a) for i, a in enumerate(given)]
        before = shown[-1] if shown else None
        if (
            e.event == "AttachmentAdded"
            and before is not None
            and side != "event"
            and before.side == side
            and before.entry.event in CARRY_FILES
            and (side == "mine" or before.entry.actor_id == e.actor_id)
            and _within_a_minute(before.entry.at, e.at)
        ):
            before.attachments += s.attachments  # files sent with a message show with it
            continue
        shown.append(s)
    return shown


def _within_a_minute(first: str, then: str) -> bool:
    try:
        return (datetime.fromisoformat(then) - datetime.fromisoformat(first)).total_seconds() < 60
    except ValueError:
        return False


CONTEXT = 8  # entries read before a page's first: files sent after a message join its bubble


def _window(tx: Tx, ticket_id: str, before: int | None, size: int) -> tuple[list[Entry], bool]:
    """The last `size` public entries (below version `before`), and whether they reach back to
    the request's start."""
    entries = newest(tx, ticket_id, staff=False, limit=size + 1, before=before)
    return entries[-size:], len(entries) <= size


def _asked(tx: Tx, ticket_id: str, entries: list[Entry]) -> list[str]:
    """The questions answered by the first information given in `entries`, when they were asked
    before `entries` (on an earlier page)."""
    events = [e.event for e in entries]
    given = events.index("InformationProvided") if "InformationProvided" in events else None
    if given is None or "InformationRequested" in events[:given]:
        return []
    found = last_of(tx, ticket_id, "InformationRequested", entries[0].version, staff=False)
    return [str(q) for q in found.data.get("questions") or []] if found else []


def _cut(shown: list[Shown], at_start: bool) -> tuple[list[Shown], int | None]:
    """The last PAGE bubbles, and the version the earlier ones lie below. Unless the entries
    reach the start, the first bubble is left to the earlier page (files of a message before
    the entries read would have joined it), so every bubble kept is whole. Each entry lands on
    exactly one page: a page holds the versions from its first bubble's up to where the later
    page began."""
    if not at_start:
        shown = shown[1:]
    kept = shown[-PAGE:]
    more = len(kept) < len(shown) or not at_start
    return kept, kept[0].entry.version if kept and more else None


def _load(
    request: Request,
    viewer: Viewer,
    ticket_id: UUID,
    *,
    before: int | None = None,
    after: int | None = None,
) -> View:
    """The page of the request: its newest bubbles, or those below version `before` ("show
    earlier"), or those after version `after` (a live refresh; the newest again, with
    `earlier` set, when more than a page came)."""
    svc = services(request)
    ticket = svc.desk.ticket(viewer.actor, ticket_id)  # NotFound unless he may see it
    positions = svc.projections.positions
    position = min(positions.reached("tickets"), positions.reached("timeline"))
    tid, anew, size, earlier = str(ticket_id), False, PAGE + CONTEXT, None
    with svc.projections.db.read() as tx:
        top = last_version(tx, tid)
        found = category(tx, str(ticket.category_id))
        specs = {s.key: s for s in found["form"]} if found else {}
        if after is not None:
            entries = timeline(tx, tid, staff=False, after_version=after, limit=PAGE + 1)
            anew = len(entries) > PAGE
            after = None if anew else after  # too many for one step: the newest page, anew
        while True:
            at_start = True
            if after is None:
                entries, at_start = _window(tx, tid, before, size)
            names = account_names(tx, [e.actor_id for e in entries]
                                  + [str(ticket.requester_id or "")])  # fmt: skip
            shown = _shown(ticket, viewer, entries, names, specs, viewer.key,
                           _asked(tx, tid, entries))  # fmt: skip
            if at_start or len(shown) > 1:
                break
            size *= 2  # every entry read joined one bubble: read further back for its start
    if after is None:
        shown, earlier = _cut(shown, at_start)
    scope = TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id)
    actor = viewer.actor
    resolved = ticket.status in (Status.RESOLVED, Status.CLOSED)
    return View(
        ticket=ticket,
        category=found,
        entries=shown,
        version=top if top is not None else ticket.version,
        position=position,
        may_write=ticket.status in ACTIVE_STATUSES and may(actor, Command.WRITE, scope),
        may_inform=ticket.status is Status.WAITING
        and bool(ticket.requested_fields or ticket.requested_questions)
        and may(actor, Command.PROVIDE_INFO, scope),
        may_rate=resolved
        and ticket.merged_into is None  # a repeat is rated where it was merged (issue 18)
        and ticket.rating is None
        and actor.id is not None
        and actor.id == ticket.requester_id
        and may(actor, Command.RATE, scope),
        may_reopen=ticket.status is Status.RESOLVED and may(actor, Command.REOPEN, scope),
        requested=[specs[k] for k in ticket.requested_fields if k in specs],
        key=viewer.key,
        earlier=earlier,
        rendered=rendered([s.entry for s in shown]),
        anew=anew,
        since=entries[-1].version if entries else after or 0,
    )


def _ticket_id(request: Request, viewer: Viewer) -> UUID:
    ticket_id = path_id(request, "ticket_id", "request")
    if not viewer.signed_in and viewer.actor.visitor_ticket_id is None:
        raise SignInNeeded
    return ticket_id


@ui
async def request_page(request: Request, viewer: Viewer) -> Response:
    ticket_id = _ticket_id(request, viewer)
    if viewer.staff:
        target = f"/t/{ticket_id}"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, 303)
    await wait_for_views(request)
    if request.query_params.get("part") == "timeline":
        return await _new_entries(request, viewer, ticket_id)
    view = await run_in_threadpool(_load, request, viewer, ticket_id)
    return page(request, "requester/request.html", v=view, typed={}, errors={}, notice="")


async def _new_entries(request: Request, viewer: Viewer, ticket_id: UUID) -> Response:
    """A live refresh: the bubbles after the version the page shows (`since`), to append, and
    the regions of forms only when what they offer changed (else just the version their forms
    send), so nothing typed is lost. When more than a page came, the newest page replaces the
    whole list."""
    await run_in_threadpool(services(request).desk.ticket, viewer.actor, ticket_id)  # who may
    since = cursor(request, "since")
    view = await run_in_threadpool(partial(_load, request, viewer, ticket_id, after=since))
    headers = {"HX-Retarget": "#timeline", "HX-Reswap": "outerHTML"} if view.anew else {}
    return page(
        request,
        "requester/timeline.html" if view.anew else "requester/new_entries.html",
        200,
        headers,
        v=view,
        oob=True,
        typed={},
        errors={},
        answer_changed=request.query_params.get("answer") != view.answer_state,
        composer_changed=request.query_params.get("composer") != view.composer_state,
    )


@ui
async def earlier_entries(request: Request, viewer: Viewer) -> Response:
    """ "Show earlier": the bubbles below version `before`, in place of the button."""
    ticket_id = _ticket_id(request, viewer)
    if viewer.staff:
        return Response(status_code=204, headers={"HX-Redirect": f"/t/{ticket_id}"})
    await run_in_threadpool(services(request).desk.ticket, viewer.actor, ticket_id)  # who may
    before = cursor(request, "before")
    view = await run_in_threadpool(partial(_load, request, viewer, ticket_id, before=before))
    return page(request, "requester/entries.html", v=view)


# -- what the requester does ------------------------------------------------------------------
def _version(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


async def _nothing_visible_since(request: Request, ticket_id: UUID, seen: int, now: int) -> bool:
    """Whether every change after version `seen` is internal (the requester could not have seen
    it, so his command stands): the views are first brought up to the log's head."""
    svc = services(request)
    head = await run_in_threadpool(lambda: svc.desk.recorder.max_notification_id() or 0)
    await svc.projections.positions.wait_async("timeline", head, 5.0)

    def public_after() -> bool:
        with svc.projections.db.read() as tx:
            after = changes_after(tx, str(ticket_id), seen)
        return after.last is not None and after.last >= now and after.public == 0

    return await run_in_threadpool(public_after)


async def _perform(
    request: Request, ticket_id: UUID, version: int | None, command: Callable[[int | None], Written]
) -> Written:
    """Runs `command` against the version the page showed; when only internal changes came
    between, against the current one (the requester saw all there was for him to see)."""
    for _attempt in range(3):
        try:
            return await run_in_threadpool(command, version)
        except Conflict as e:
            if version is None or not await _nothing_visible_since(
                request, ticket_id, version, e.current
            ):
                raise
            version = e.current
    return await run_in_threadpool(command, version)


async def _again(
    request: Request,
    viewer: Viewer,
    ticket_id: UUID,
    status: int,
    form: str,
    typed: dict[str, str],
    errors: dict[str, str],
    notice: str = "",
    files: Carried | None = None,
) -> Response:
    """The conversation again (the whole page without htmx), keeping what was typed and the
    files the form carried (held for its next submission)."""
    kept, token = await files.hold(request, viewer) if files else ([], "")
    view = await run_in_threadpool(_load, request, viewer, ticket_id)
    name = "requester/conversation.html" if is_htmx(request) else "requester/request.html"
    response = page(
        request,
        name,
        status,
        files.headers if files else None,
        v=view,
        typed={form: typed},
        errors={form: errors},
        notice=notice,
        notice_form=form,
        held={form: kept},
        held_token={form: token},
    )
    if files and kept:
        files.remember(request, response)
    return response


async def _done(request: Request, viewer: Viewer, ticket_id: UUID, w: Written) -> Response:
    headers = {"X-Suz-Position": str(w.position)}
    if not is_htmx(request):
        key = f"key={quote(viewer.key)}&" if viewer.key else ""
        return RedirectResponse(f"/r/{ticket_id}?{key}after={w.position}", 303, headers)
    projections = services(request).projections
    for v in projections.views:
        await projections.positions.wait_async(v.name, w.position, 10.0)
    view = await run_in_threadpool(_load, request, viewer, ticket_id)
    return page(
        request, "requester/conversation.html", 200, headers, v=view, typed={}, errors={}, notice=""
    )


def _conflict() -> str:
    return i18n.gettext(
        "Someone wrote on this request meanwhile. Read what changed above; your "
        "text is kept below, send it again if it still stands."
    )


Act = Callable[[int | None], Written]


async def _run(
    request: Request,
    viewer: Viewer,
    ticket_id: UUID,
    form: str,
    typed: dict[str, str],
    version: int | None,
    acts: list[Act],
    specs: list[FieldSpec] | None = None,
    raw: dict[str, str] | None = None,
    files: Carried | None = None,
) -> Response:
    """Runs the form's commands in turn (each against the version the previous one left); a
    refusal sends the form back with its `files` held."""
    w: Written | None = None
    try:
        for act in acts:
            w = await _perform(request, ticket_id, version, act)
            version = w.version
    except (Conflict, InvalidInput) as e:
        held = files if w is None else None  # once a command is recorded, its files are kept
        if isinstance(e, Conflict):
            return await _again(request, viewer, ticket_id, 409, form, typed, {}, _conflict(),
                                held)  # fmt: skip
        errors = errors_from(e, specs or [], raw or typed)
        return await _again(request, viewer, ticket_id, 422, form, typed, errors, files=held)
    assert w is not None
    if files:
        await files.filed(request)
    return await _done(request, viewer, ticket_id, w)


@ui
async def send_message(request: Request, viewer: Viewer) -> Response:
    ticket_id = _ticket_id(request, viewer)
    desk, actor = services(request).desk, viewer.actor
    await authorise(request, actor, ticket_id, Command.WRITE)  # before any of the body is read
    async with posted(request) as p:
        body, version = p.text("body"), _version(p.text("version"))
        typed = {"body": body}
        carried = await requester_files.carried(request, viewer, ticket_id, "message", [],
                                                p.form, p.files, {})  # fmt: skip
        files = carried.attachments
        if carried.error:
            return await _again(request, viewer, ticket_id, carried.status, "message", typed,
                                {"files": carried.error}, files=carried)  # fmt: skip
        if not body.strip() and not files:
            return await _again(request, viewer, ticket_id, 422, "message", typed,
                                {"body": general_message("body")}, files=carried)  # fmt: skip
        if body.strip():
            acts: list[Act] = [
                _keeping(request, files, lambda v: desk.write(
                    actor, ticket_id, body, expected_version=v, attachments=tuple(files)))
            ]  # fmt: skip
        else:
            acts = [_attach(request, actor, ticket_id, a) for a in files]
        return await _run(request, viewer, ticket_id, "message", typed, version, acts,
                          files=carried)  # fmt: skip


def _keeping(request: Request, files: list[Attachment], act: Act) -> Act:
    """`act`, keeping the staged `files` once it is recorded (never when it is refused)."""

    def run(version: int | None) -> Written:
        w = act(version)
        uploads_of(request).keep(files)
        return w

    return run


def _attach(request: Request, actor: Any, ticket_id: UUID, a: Attachment) -> Act:
    desk = services(request).desk
    return _keeping(request, [a], lambda v: desk.attach(actor, ticket_id, a, expected_version=v))


@ui
async def provide_information(request: Request, viewer: Viewer) -> Response:
    ticket_id = _ticket_id(request, viewer)
    desk, actor = services(request).desk, viewer.actor
    await authorise(request, actor, ticket_id, Command.PROVIDE_INFO)  # before the body is read
    ticket = await run_in_threadpool(desk.ticket, actor, ticket_id)

    def form_of() -> dict[str, Any] | None:
        with services(request).projections.db.read() as tx:
            return category(tx, str(ticket.category_id))

    found = await run_in_threadpool(form_of)
    specs = [s for s in (found["form"] if found else []) if s.key in ticket.requested_fields]
    async with posted(request) as p:
        version = _version(p.text("version"))
        raw, _uploads = typed_values(specs, p.form)  # the uploads come with the held files
        given = answers(p.form, len(ticket.requested_questions))
        typed = {
            k: v
            for k, v in p.form.multi_items()
            if isinstance(v, str) and k not in (held_files.FIELD, held_files.DROP)
        }
        carried = await requester_files.carried(request, viewer, ticket_id, "information", specs,
                                                p.form, p.files, raw)  # fmt: skip
        files = carried.attachments
        if carried.error:
            return await _again(request, viewer, ticket_id, carried.status, "info", typed,
                                {"files": carried.error}, files=carried)  # fmt: skip
        values = {k: v for k, v in raw.items() if v}
        acts: list[Act] = [
            lambda v: desk.provide_information(actor, ticket_id, values, given, expected_version=v)
        ]
        acts += [_attach(request, actor, ticket_id, a) for a in files]
        return await _run(
            request,
            viewer,
            ticket_id,
            "info",
            typed,
            version,
            acts,
            specs,
            {**raw, **{"answers": " ".join(given)}},
            carried,
        )


@ui
async def rate(request: Request, viewer: Viewer) -> Response:
    ticket_id = _ticket_id(request, viewer)
    desk, actor = services(request).desk, viewer.actor
    async with posted(request, "none") as p:
        score, comment, version = p.text("score"), p.text("comment"), _version(p.text("version"))
    typed = {"score": score, "comment": comment}
    if score not in ("1", "2", "3", "4", "5"):
        return await _again(
            request, viewer, ticket_id, 422, "rate", typed, {"score": general_message("score")}
        )
    act: Act = lambda v: desk.rate(actor, ticket_id, int(score), comment, expected_version=v)  # noqa: E731
    return await _run(request, viewer, ticket_id, "rate", typed, version, [act])


@ui
async def reopen(request: Request, viewer: Viewer) -> Response:
    ticket_id = _ticket_id(request, viewer)
    desk, actor = services(request).desk, viewer.actor
    async with posted(request, "none") as p:
        reason, version = p.text("reason"), _version(p.text("version"))
    typed = {"reason": reason}
    act: Act = lambda v: desk.reopen(actor, ticket_id, reason, expected_version=v)  # noqa: E731
    return await _run(request, viewer, ticket_id, "reopen", typed, version, [act])
