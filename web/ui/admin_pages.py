"""The administrators' set-up pages: routing rules and SLA (calendars, policies, auto-close).

Each page edits one aggregate as a whole list and saves it against the version it showed, as a
set-up command (domain/setup/documents.py) handed to `Desk.handle`; the page is for whoever that
command's policy line lets send it. A refusal shows the form again with the message and what was
typed, and changes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
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
from domain.sla_setup import CalendarSpec, Policy
from domain.ticket import Channel, Priority
from projections import catalog
from web.auth import services
from web.ui import i18n
from web.ui.guard import NotAllowed, Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.refusals import translated
from web.ui.render import page

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


def _version(form: FormData) -> int:
    """The version the page showed (-1, never stored, when the form lost it: a conflict)."""
    version = _text(form, "version")
    return int(version) if version.isdigit() else -1


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()[:2000]


def _uuid(form: FormData, name: str) -> UUID | None:
    value = _text(form, name)
    try:
        return UUID(value) if value else None
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose from the list."), [name]) from None


def _enum(kind: Any, value: str, name: str) -> Any:
    try:
        return kind(value) if value else None
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose from the list."), [name]) from None


def _rows(form: FormData) -> list[int]:
    return sorted({int(k.split("-")[1]) for k in form if k.startswith("name-")
                   and k.split("-")[1].isdigit()})  # fmt: skip


def rules_from(form: FormData) -> tuple[Rule, ...]:
    rules = []
    for i in sorted(_rows(form), key=lambda i: (_text(form, f"order-{i}") or "999", i)):
        if form.get(f"delete-{i}") or not _text(form, f"name-{i}"):
            continue
        group = _uuid(form, f"group-{i}")
        if group is None:
            raise InvalidInput(i18n.gettext("Choose the group the rule sends requests to."),
                               [f"group-{i}"])  # fmt: skip
        rules.append(Rule(
            _uuid(form, f"id-{i}") or uuid4(), _text(form, f"name-{i}"), group,
            _uuid(form, f"category-{i}"), _text(form, f"field_key-{i}"),
            _text(form, f"field_value-{i}"), _enum(Channel, _text(form, f"channel-{i}"), "channel"),
            _uuid(form, f"organisation-{i}"),
            _enum(Priority, _text(form, f"priority-{i}"), "priority"),
            _enum(Assignment, _text(form, f"assignment-{i}"), "assignment") or Assignment.NONE,
        ))  # fmt: skip
    return tuple(rules)


@ui
async def routing_page(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetRoutingRules)
    return await _routing(request)


async def _routing(request: Request) -> Response:
    routing = await run_in_threadpool(services(request).desk.routing)
    version = routing.saved_version
    choices = await run_in_threadpool(_choices, request)
    rules = [vars_of(r) for r in routing.rules]
    return page(request, "admin/routing.html", nav="admin", rules=rules, version=version,
                error=None, **choices)  # fmt: skip


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
    version = _text(form, "version")
    try:
        command = SetRoutingRules(rules_from(form), _version(form))
        await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        typed = [{k: _text(form, f"{k}-{i}") for k in ("id", "name", "group", "category",
                  "field_key", "field_value", "channel", "organisation", "priority",
                  "assignment")} for i in _rows(form) if _text(form, f"name-{i}")]  # fmt: skip
        choices = await run_in_threadpool(_choices, request)
        return page(request, "admin/routing.html", 409 if e.code == "conflict" else 422,
                    nav="admin", rules=typed, version=version, error=translated(e.message),
                    **choices)  # fmt: skip
    return await _routing(request)


def _dates(text: str, name: str) -> tuple[date, ...]:
    try:
        return tuple(sorted({date.fromisoformat(d) for d in text.replace(",", " ").split()}))
    except ValueError:
        raise InvalidInput(i18n.gettext("Write dates as YYYY-MM-DD, separated by spaces."),
                           [name]) from None  # fmt: skip


def calendars_from(form: FormData) -> tuple[CalendarSpec, ...]:
    found = []
    for i in sorted({int(k.split("-")[1]) for k in form if k.startswith("ckey-")}):
        key = _text(form, f"ckey-{i}")
        if not key or form.get(f"cdelete-{i}"):
            continue
        week = tuple(tuple(p for p in _text(form, f"day-{i}-{d}").replace(",", " ").split())
                     for d in range(7))  # fmt: skip
        found.append(CalendarSpec(key, _text(form, f"cname-{i}") or key,
                                  _text(form, f"ctz-{i}") or "Europe/Moscow", week,
                                  _dates(_text(form, f"holidays-{i}"), f"holidays-{i}"),
                                  _dates(_text(form, f"workdays-{i}"), f"workdays-{i}"),
                                  bool(form.get(f"always-{i}")),
                                  _text(form, f"ckind-{i}") or "custom"))  # fmt: skip
    return tuple(found)


def _minutes(form: FormData, name: str) -> int:
    value = _text(form, name)
    if not value.isdigit():
        raise InvalidInput(i18n.gettext("Write a whole number."), [name])
    return int(value)


def policies_from(form: FormData) -> tuple[Policy, ...]:
    found = []
    for i in sorted({int(k.split("-")[1]) for k in form if k.startswith("pname-")}):
        if not _text(form, f"pname-{i}") or form.get(f"pdelete-{i}"):
            continue
        found.append(Policy(
            _uuid(form, f"pid-{i}") or uuid4(), _text(form, f"pname-{i}"),
            _minutes(form, f"fr-{i}"), _minutes(form, f"res-{i}"), _minutes(form, f"warn-{i}"),
            _uuid(form, f"pcategory-{i}"),
            _enum(Priority, _text(form, f"ppriority-{i}"), "priority"),
            _text(form, f"pcalendar-{i}") or "business", bool(form.get(f"escalate-{i}")),
        ))  # fmt: skip
    return tuple(found)


def _typed_setup(form: FormData) -> SimpleNamespace:
    """The SLA form as typed (strings, unchecked), to show again with a refusal."""
    policies = [
        SimpleNamespace(id=_text(form, f"pid-{i}"), name=_text(form, f"pname-{i}"),
                        category_id=_text(form, f"pcategory-{i}"),
                        priority=_text(form, f"ppriority-{i}"),
                        first_response_minutes=_text(form, f"fr-{i}"),
                        resolution_minutes=_text(form, f"res-{i}"),
                        warn_percent=_text(form, f"warn-{i}"),
                        calendar=_text(form, f"pcalendar-{i}"),
                        escalate_on_breach=bool(form.get(f"escalate-{i}")))
        for i in sorted({int(k.split("-")[1]) for k in form if k.startswith("pname-")})
        if _text(form, f"pname-{i}")
    ]  # fmt: skip
    calendars = [
        SimpleNamespace(key=_text(form, f"ckey-{i}"), name=_text(form, f"cname-{i}"),
                        timezone=_text(form, f"ctz-{i}"), always=bool(form.get(f"always-{i}")),
                        kind=_text(form, f"ckind-{i}") or "custom",
                        week=[_text(form, f"day-{i}-{d}").split() for d in range(7)],
                        holidays=_text(form, f"holidays-{i}").split(),
                        workdays=_text(form, f"workdays-{i}").split())
        for i in sorted({int(k.split("-")[1]) for k in form if k.startswith("ckey-")})
    ]  # fmt: skip
    return SimpleNamespace(policies=policies, calendars=calendars,
                           auto_close_days=_text(form, "auto_close_days"))  # fmt: skip


@ui
async def sla_page(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetSlaSetup)
    return await _sla(request)


async def _sla(request: Request) -> Response:
    setup = await run_in_threadpool(services(request).desk.sla_setup)
    choices = await run_in_threadpool(_choices, request)
    return page(request, "admin/sla.html", nav="admin", setup=setup, weekdays=WEEKDAYS,
                version=setup.saved_version, error=None,
                **choices)  # fmt: skip


@ui
async def save_sla(request: Request, viewer: Viewer) -> Response:
    _editor(viewer, SetSlaSetup)
    form = await request.form()
    version = _text(form, "version")
    try:
        days = _minutes(form, "auto_close_days")
        command = SetSlaSetup(calendars_from(form), policies_from(form), days, _version(form))
        await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        setup = _typed_setup(form)  # shown again as typed
        choices = await run_in_threadpool(_choices, request)
        return page(request, "admin/sla.html", 409 if e.code == "conflict" else 422, nav="admin",
                    setup=setup, weekdays=WEEKDAYS, version=version,
                    error=translated(e.message), **choices)  # fmt: skip
    return await _sla(request)


def triggers_from(form: FormData) -> tuple[TriggerRule, ...]:
    found = []
    for i in sorted({int(k.split("-")[1]) for k in form if k.startswith("tname-")}):
        if not _text(form, f"tname-{i}") or form.get(f"tdelete-{i}"):
            continue
        words = tuple(w.strip() for w in _text(form, f"twords-{i}").split(",") if w.strip())
        factor = _text(form, f"tfactor-{i}") or "0"
        try:
            rate = Decimal(factor.replace(",", "."))
        except InvalidOperation:
            raise InvalidInput(i18n.gettext("Write a number."), [f"tfactor-{i}"]) from None
        groups = tuple(UUID(str(g)) for g in form.getlist(f"tgroups-{i}") if str(g))
        found.append(TriggerRule(
            _uuid(form, f"tid-{i}") or uuid4(), _text(form, f"tname-{i}"),
            Criteria(_uuid(form, f"tcategory-{i}"), _text(form, f"tfield_key-{i}"),
                     _text(form, f"tfield_value-{i}"), words),
            _minutes(form, f"tthreshold-{i}"), _minutes(form, f"twindow-{i}"), rate, groups,
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
        command = SetTriggerRules(triggers_from(form), _version(form))
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
