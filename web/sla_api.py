"""The SLA set-up through the API: GET it (staff), PUT a new one (administrators)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from domain.desk import Desk
from domain.errors import InvalidInput
from domain.setup.documents import SetSlaSetup
from domain.sla_setup import CalendarSpec, Policy, SlaSetup
from domain.ticket import Priority
from web.body import Body
from web.setup_document import SetupDocumentApi
from web.ui.i18n import lazy

if TYPE_CHECKING:
    from web.services import Services


def _dates(raw: Any, name: str) -> tuple[date, ...]:
    if not isinstance(raw, list):
        raise InvalidInput(f"{name} must be a list of dates (YYYY-MM-DD).", [name])
    try:
        return tuple(date.fromisoformat(str(d)) for d in raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a list of dates (YYYY-MM-DD).", [name]) from None


def calendar_from(raw: Any) -> CalendarSpec:
    b = Body(raw if isinstance(raw, dict) else {})
    week = raw.get("week", [["09:00-18:00"]] * 5 + [[], []]) if isinstance(raw, dict) else []
    if not isinstance(week, list) or len(week) != 7 or not all(isinstance(d, list) for d in week):
        raise InvalidInput("week is seven lists of periods like 09:00-18:00.", ["week"])
    return CalendarSpec(b.text("key"), b.text("name"), b.text("timezone", "Europe/Moscow"),
                        tuple(tuple(str(p) for p in d) for d in week),
                        _dates(b.data.get("holidays", []), "holidays"),
                        _dates(b.data.get("workdays", []), "workdays"),
                        b.data.get("always") is True, b.text("kind", "custom"))  # fmt: skip


def policy_from(raw: Any) -> Policy:
    b = Body(raw if isinstance(raw, dict) else {})
    try:
        priority = Priority(b.data["priority"]) if b.data.get("priority") else None
    except ValueError:
        raise InvalidInput(
            "priority must be low, normal, high or critical.", ["priority"]
        ) from None
    return Policy(b.opt_uuid("id") or uuid4(), b.text("name"), b.integer("first_response_minutes"),
                  b.integer("resolution_minutes"), _int(b, "warn_percent", 80),
                  b.opt_uuid("category_id"), priority, b.text("calendar", "business"),
                  b.data.get("escalate_on_breach", True) is not False)  # fmt: skip


def _int(b: Body, name: str, default: int) -> int:
    return b.integer(name) if name in b.data else default


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | bool | type(None)) else str(value)


def _show(setup: SlaSetup, svc: Services) -> dict[str, Any]:
    return {
        "auto_close_days": setup.auto_close_days,
        "calendars": [{**asdict(c), "holidays": [str(d) for d in c.holidays],
                       "workdays": [str(d) for d in c.workdays]} for c in setup.calendars],
        "policies": [{k: _plain(v) for k, v in asdict(p).items()} for p in setup.policies],
    }  # fmt: skip


def _parse(body: Body) -> tuple[tuple[CalendarSpec, ...], tuple[Policy, ...], int]:
    calendars, policies = body.data.get("calendars"), body.data.get("policies")
    if not isinstance(calendars, list) or not isinstance(policies, list):
        raise InvalidInput("Send calendars and policies as lists.", ["calendars", "policies"])
    return (tuple(calendar_from(c) for c in calendars), tuple(policy_from(p) for p in policies),
            _int(body, "auto_close_days", 5))  # fmt: skip


SLA = SetupDocumentApi(
    "/api/v1/sla",
    load=Desk.sla_setup,
    refusal=lazy("The SLA set-up is for the support staff."),
    show=_show,
    parse=_parse,
    command=SetSlaSetup,
)
routes = SLA.routes()
