"""The administrators' set-up pages: routing rules and SLA (calendars, policies, auto-close).

Each page edits one aggregate as a whole list and saves it against the version it showed, as a
set-up command (domain/setup/documents.py) handed to `Desk.handle`; the page is for whoever that
command's policy line lets send it. A refusal shows the form again with what was typed and
changes nothing: on the routing and SLA pages each mistake is said at its input
(web/ui/setup_forms.py), and only what concerns no input above the form.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID, uuid4

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import may_set_up
from domain.errors import DeskError, InvalidInput
from domain.incidents import Criteria, TriggerRule
from domain.routing import Assignment, Rule
from domain.setup.base import SetupCommand
from domain.setup.documents import SetRoutingRules, SetSlaSetup, SetTriggerRules
from domain.ticket import Channel, Priority
from projections import catalog
from web.auth import services
from web.ui import i18n
from web.ui.guard import NotAllowed, Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.render import page
from web.ui.setup_forms import (
    POLICY_FIELDS,
    RULE_FIELDS,
    refusal,
    rules_from,
    sla_from,
    text,
    typed_rules,
    typed_setup,
    uuid,
    version,
    whole,
)

WEEKDAYS = (lazy("Monday"), lazy("Tuesday"), lazy("Wednesday"), lazy("Thursday"),
            lazy("Friday"), lazy("Saturday"), lazy("Sunday"))  # fmt: skip


def _choices(request: Request) -> dict[str, Any]:
    with services(request).projections.db.read() as tx:
        return {"groups": catalog.groups(tx), "categories": catalog.categories(tx),
                "organisations": catalog.organisations(tx),
                "channels": [c.value for c in Channel], "priorities": [p.value for p in Priority],
                "assignments": [a.value for a in Assignment]}  # fmt: skip


def _editor(viewer: Viewer, kind: type[SetupCommand]) -> None:
    """The page is for whoever the policy lets send `kind` (domain/access.py)."""
    need(viewer)
    if not may_set_up(viewer.actor, kind.policy):
        raise NotAllowed


@ui
async def routing_page(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetRoutingRules)
    return await _routing(request)


async def _routing(request: Request) -> Response:
    routing = await run_in_threadpool(services(request).desk.routing)
    choices = await run_in_threadpool(_choices, request)
    rules = [vars_of(r) for r in routing.rules]
    return page(request, "admin/routing.html", nav="admin", rules=rules,
                version=routing.saved_version, error=None, errors={}, **choices)  # fmt: skip


def vars_of(rule: Rule) -> dict[str, str]:
    return {"id": str(rule.id), "name": rule.name, "group": str(rule.group_id),
            "category": str(rule.category_id or ""), "field_key": rule.field_key,
            "field_value": rule.field_value, "channel": rule.channel or "",
            "organisation": str(rule.organisation_id or ""), "priority": rule.priority or "",
            "assignment": rule.assignment.value}  # fmt: skip


@ui
async def save_routing(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetRoutingRules)
    form = await request.form()
    try:
        command = SetRoutingRules(rules_from(form), version(form))
        await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        typed, shown = typed_rules(form)  # shown again as typed, each mistake at its input
        status, errors, message = refusal(e, shown, RULE_FIELDS)
        choices = await run_in_threadpool(_choices, request)
        return page(request, "admin/routing.html", status, nav="admin", rules=typed,
                    version=text(form, "version"), error=message, errors=errors,
                    **choices)  # fmt: skip
    return await _routing(request)


@ui
async def sla_page(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetSlaSetup)
    return await _sla(request)


async def _sla(request: Request) -> Response:
    setup = await run_in_threadpool(services(request).desk.sla_setup)
    choices = await run_in_threadpool(_choices, request)
    return page(request, "admin/sla.html", nav="admin", setup=setup, weekdays=WEEKDAYS,
                version=setup.saved_version, error=None, errors={}, **choices)  # fmt: skip


@ui
async def save_sla(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetSlaSetup)
    form = await request.form()
    try:
        command = SetSlaSetup(*sla_from(form), version(form))
        await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        setup, shown = typed_setup(form)  # shown again as typed, each mistake at its input
        status, errors, message = refusal(e, shown, POLICY_FIELDS, ("auto_close_days",))
        choices = await run_in_threadpool(_choices, request)
        return page(request, "admin/sla.html", status, nav="admin", setup=setup,
                    weekdays=WEEKDAYS, version=text(form, "version"), error=message,
                    errors=errors, **choices)  # fmt: skip
    return await _sla(request)


def triggers_from(form: FormData) -> tuple[TriggerRule, ...]:
    found = []
    for i in sorted({int(k.split("-")[1]) for k in form if k.startswith("tname-")}):
        if not text(form, f"tname-{i}") or form.get(f"tdelete-{i}"):
            continue
        words = tuple(w.strip() for w in text(form, f"twords-{i}").split(",") if w.strip())
        factor = text(form, f"tfactor-{i}") or "0"
        try:
            rate = Decimal(factor.replace(",", "."))
        except InvalidOperation:
            raise InvalidInput(i18n.gettext("Write a number."), [f"tfactor-{i}"]) from None
        groups = tuple(UUID(str(g)) for g in form.getlist(f"tgroups-{i}") if str(g))
        found.append(TriggerRule(
            uuid(form, f"tid-{i}") or uuid4(), text(form, f"tname-{i}"),
            Criteria(uuid(form, f"tcategory-{i}"), text(form, f"tfield_key-{i}"),
                     text(form, f"tfield_value-{i}"), words),
            whole(form, f"tthreshold-{i}"), whole(form, f"twindow-{i}"), rate, groups,
        ))  # fmt: skip
    return tuple(found)


@ui
async def triggers_page(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetTriggerRules)
    return await _triggers(request)


async def _triggers(request: Request, status: int = 200, error: str | None = None) -> Response:
    triggers = await run_in_threadpool(services(request).desk.triggers)
    choices = await run_in_threadpool(_choices, request)
    return page(request, "admin/triggers.html", status, nav="admin", rules=triggers.rules,
                version=triggers.saved_version, error=error,
                **choices)  # fmt: skip


@ui
async def save_triggers(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetTriggerRules)
    form = await request.form()
    try:
        command = SetTriggerRules(triggers_from(form), version(form))
        await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except (DeskError, ValueError) as e:
        message = e.message if isinstance(e, DeskError) else "Choose from the list."
        status = 409 if isinstance(e, DeskError) and e.code == "conflict" else 422
        return await _triggers(request, status, i18n.gettext(message))
    return await _triggers(request)


routes = [
    Route("/admin/triggers", triggers_page),
    Route("/admin/triggers", save_triggers, methods=["POST"]),
    Route("/admin/routing", routing_page),
    Route("/admin/routing", save_routing, methods=["POST"]),
    Route("/admin/sla", sla_page),
    Route("/admin/sla", save_sla, methods=["POST"]),
]
