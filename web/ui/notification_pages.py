"""Notifications on the web (issue 16): the bell's unread count in the header, /notifications
(the person's list, newest first, "mark all read", and his preferences per kind and language),
and /admin/mail for administrators (mail configured or not, the outbox's counts, dead letters
and sending one again).

Preferences and read marks are the person's own events (SetNotificationPreferences,
MarkNotificationsRead: domain/setup/people.py), handed to the desk like every command; the
pages read through projections/notification_queries.py. The bell polls its count: see
web/templates/notifications/bell.html for why not the live feed.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from domain.errors import InvalidInput
from domain.notifications import LANGUAGES, REQUESTER_KINDS, STAFF_KINDS, Via
from domain.setup.people import MarkNotificationsRead, SetNotificationPreferences
from projections import notification_queries as nq
from web.auth import services
from web.http import wait_for_views
from web.ui import i18n
from web.ui.guard import NotAllowed, Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.render import page

KIND_NAMES = {
    "acknowledged": lazy("Your request was received"),
    "replied": lazy("A reply to your request"),
    "information_requested": lazy("Information requested from you"),
    "resolved": lazy("Your request was resolved"),
    "reopened": lazy("Your request was reopened"),
    "assigned": lazy("Assigned to you"),
    "requester_answered": lazy("The requester answered"),
    "mentioned": lazy("You were mentioned"),
    "sla_warning": lazy("SLA warning"),
    "sla_breach": lazy("SLA breach"),
    "gap_assigned": lazy("Knowledge gap assigned to you"),
    "incident_proposed": lazy("Mass incident proposed"),
}
VIA_NAMES = {"app": lazy("In the app"), "email": lazy("By e-mail"), "both": lazy("Both"),
             "off": lazy("Off")}  # fmt: skip


def _account(viewer: Viewer) -> str:
    need(viewer)
    return str(viewer.actor.id)


def _number(text: str, field: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(i18n.gettext("Not a number."), [field])
    return int(text)


@ui
async def bell(request: Request, viewer: Viewer) -> Response:
    """The header's unread count (a fragment the bell polls)."""
    if not viewer.signed_in:
        return HTMLResponse("")

    def count() -> int:
        with services(request).projections.db.read() as tx:
            return nq.unread(tx, str(viewer.actor.id))

    return page(request, "notifications/count.html", unread=await run_in_threadpool(count))


@ui
async def notifications(request: Request, viewer: Viewer) -> Response:
    account = _account(viewer)
    await wait_for_views(request)

    def load() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            return {"items": nq.latest(tx, account), "unread": nq.unread(tx, account),
                    "newest": nq.newest_position(tx, account),
                    "prefs": nq.preferences(tx, account, viewer.staff)}  # fmt: skip

    data = await run_in_threadpool(load)
    return page(request, "notifications/page.html", nav="notifications", kinds=KIND_NAMES,
                vias=VIA_NAMES, languages=LANGUAGES, saved=request.query_params.get("saved"),
                **data)  # fmt: skip


@ui
async def mark_read(request: Request, viewer: Viewer) -> Response:
    account = viewer.actor.id
    _account(viewer)
    assert account is not None
    up_to = _number(str((await request.form()).get("up_to", "")), "up_to")
    written = await run_in_threadpool(services(request).desk.handle, viewer.actor,
                                      MarkNotificationsRead(account, up_to))  # fmt: skip
    return RedirectResponse(f"/notifications?after={written.position}", 303)


@ui
async def save_preferences(request: Request, viewer: Viewer) -> Response:
    account = viewer.actor.id
    _account(viewer)
    assert account is not None
    form = await request.form()
    kinds = (*REQUESTER_KINDS, *STAFF_KINDS) if viewer.staff else REQUESTER_KINDS
    choices = {k.value: str(form.get(f"kind_{k.value}", "")) for k in kinds}
    for kind, via in choices.items():
        if via not in {v.value for v in Via}:
            raise InvalidInput(i18n.gettext("Choose app, email, both or off."), [f"kind_{kind}"])
    language = str(form.get("language", ""))
    command = SetNotificationPreferences(account, choices, language)
    written = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    return RedirectResponse(f"/notifications?saved=1&after={written.position}", 303)


def _admin(viewer: Viewer) -> None:
    need(viewer)
    if not viewer.has("admin"):
        raise NotAllowed


@ui
async def mail_status(request: Request, viewer: Viewer) -> Response:
    _admin(viewer)

    def load() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            return {"counts": nq.counts(tx), "dead": nq.dead(tx)}

    data = await run_in_threadpool(load)
    configured = services(request).settings.smtp_url is not None
    return page(request, "notifications/admin_mail.html", nav="admin", configured=configured,
                resent=request.query_params.get("resent"), kinds=KIND_NAMES, **data)  # fmt: skip


@ui
async def resend(request: Request, viewer: Viewer) -> Response:
    """A dead letter pending again (an operational act on the outbox, not an event: the
    letter's content stays what the event said)."""
    _admin(viewer)
    form = await request.form()
    position = _number(str(form.get("position", "")), "position")
    recipient, kind = str(form.get("recipient", "")), str(form.get("kind", ""))

    def again() -> bool:
        with services(request).projections.db.tx() as tx:
            return nq.resend(tx, position, recipient, kind, time.time())

    if not await run_in_threadpool(again):
        raise InvalidInput(i18n.gettext("There is no such dead letter."), ["position"])
    return RedirectResponse("/admin/mail?resent=1", 303)


routes = [
    Route("/notifications", notifications),
    Route("/notifications/count", bell),
    Route("/notifications/read", mark_read, methods=["POST"]),
    Route("/notifications/preferences", save_preferences, methods=["POST"]),
    Route("/admin/mail", mail_status),
    Route("/admin/mail/resend", resend, methods=["POST"]),
]
