"""Routing rules through the API: GET the ordered rules, PUT a new list (administrators)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from domain.desk import Desk
from domain.errors import InvalidInput
from domain.routing import Assignment, Routing, Rule
from domain.setup.documents import SetRoutingRules
from domain.ticket import Channel, Priority
from web.body import Body
from web.setup_document import SetupDocumentApi
from web.ui.i18n import lazy

if TYPE_CHECKING:
    from web.services import Services


def rule_from(raw: Any, i: int) -> Rule:
    """One rule from its JSON object; a wrong value names the rule's place and the field."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"Rule {i + 1} must be an object.", ["rules"])
    b = Body(raw)
    try:
        channel = Channel(raw["channel"]) if raw.get("channel") else None
        priority = Priority(raw["priority"]) if raw.get("priority") else None
        assignment = Assignment(raw.get("assignment") or "none")
    except ValueError:
        raise InvalidInput(f"Rule {i + 1}: unknown channel, priority or assignment.",
                           ["channel", "priority", "assignment"]) from None  # fmt: skip
    return Rule(
        id=b.opt_uuid("id") or uuid4(), name=b.text("name", "").strip(),
        group_id=b.uuid("group_id"),
        category_id=b.opt_uuid("category_id"), field_key=b.text("field_key", "").strip(),
        field_value=b.text("field_value", "").strip(), channel=channel,
        organisation_id=b.opt_uuid("organisation_id"), priority=priority, assignment=assignment,
    )  # fmt: skip


def rule_json(r: Rule) -> dict[str, Any]:
    return {k: (str(v) if v is not None and not isinstance(v, str) else v)
            for k, v in asdict(r).items()}  # fmt: skip


def _show(routing: Routing, svc: Services) -> dict[str, Any]:
    return {"rules": [rule_json(r) for r in routing.rules]}


def _parse(body: Body) -> tuple[tuple[Rule, ...]]:
    raw = body.data.get("rules")
    if not isinstance(raw, list):
        raise InvalidInput("rules must be a list of rules.", ["rules"])
    return (tuple(rule_from(r, i) for i, r in enumerate(raw)),)


RULES = SetupDocumentApi(
    "/api/v1/routing/rules",
    load=Desk.routing,
    refusal=lazy("Routing rules are for the support staff."),
    show=_show,
    parse=_parse,
    command=SetRoutingRules,
)
routes = RULES.routes()
