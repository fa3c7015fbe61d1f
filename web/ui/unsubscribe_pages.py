"""One-click unsubscribe from a staff letter (RFC 8058; the token: mail/unsubscribe.py).

GET shows what the link will do and a button (mail scanners open links: a GET changes nothing);
POST, from that button or from the mail client's one-click (`List-Unsubscribe=One-Click`, no
cookie), moves that one kind from e-mail to the app: "both" becomes "app", "email" becomes
"off"; a kind already without e-mail writes nothing. The change is the person's own
SetNotificationPreferences event, sent as him (the token proves who he is, for this one change
only), so it is in his account's history like a change on the preferences page. A forged or
damaged token, or a disabled or unknown account, answers 404 and changes nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import DeskError
from domain.notifications import Kind
from domain.setup.people import SetNotificationPreferences
from mail.unsubscribe import read_token
from projections import notification_queries as nq
from web.auth import services
from web.errors import ApiError
from web.ui import i18n
from web.ui.guard import Viewer, ui
from web.ui.notification_pages import KIND_NAMES
from web.ui.render import page

WITHOUT_EMAIL = {"both": "app", "email": "off"}


def _named(request: Request) -> tuple[UUID, Kind]:
    named = read_token(services(request).desk.mail_secret, request.path_params["token"])
    if named is None:
        raise ApiError(404, "not_found", i18n.gettext("This unsubscribe link is not valid."))
    return named


def _unsubscribe(request: Request, account: UUID, kind: Kind) -> None:
    svc = services(request)
    try:
        actor = svc.desk.actor_for(account)
    except DeskError:  # disabled or gone: nothing of his to change
        raise ApiError(
            404, "not_found", i18n.gettext("This unsubscribe link is not valid.")
        ) from None
    with svc.projections.db.read() as tx:
        prefs = nq.preferences(tx, str(account), actor.is_staff)
    now = prefs.choices.get(kind.value)
    if now not in WITHOUT_EMAIL:
        return
    choices = {**prefs.choices, kind.value: WITHOUT_EMAIL[now]}
    svc.desk.handle(actor, SetNotificationPreferences(account, choices, prefs.language))


@ui
async def confirm(request: Request, viewer: Viewer) -> Response:
    _account, kind = _named(request)
    return _page(request, kind, done=False)


@ui
async def unsubscribe(request: Request, viewer: Viewer) -> Response:
    account, kind = _named(request)
    await run_in_threadpool(_unsubscribe, request, account, kind)
    return _page(request, kind, done=True)


def _page(request: Request, kind: Kind, done: bool) -> Response:
    context: dict[str, Any] = {"kind_name": KIND_NAMES[kind.value], "done": done}
    return page(request, "notifications/unsubscribe.html", **context)


routes = [
    Route("/unsubscribe/{token}", confirm),
    Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
]
