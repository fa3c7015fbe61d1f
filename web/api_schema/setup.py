"""The set-up documents served by web/setup_document.py: routing rules and the SLA set-up (the
trigger rules are with the incidents). GET answers the document with its version (also the
ETag); PUT replaces it against the version its editor saw."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from domain.routing import Assignment
from domain.ticket import Channel, Priority
from web.api_schema.common import Answer, Operation, Sent, Version, Written

SETUP_REFUSED = (400, 401, 403, 404, 409, 413, 415, 422)
Week = Annotated[
    list[list[Annotated[str, Meta(pattern=r"^\d\d:\d\d-\d\d:\d\d$")]]],
    Meta(min_length=7, max_length=7, description="Monday first: each day's periods, 09:00-18:00."),
]  # fmt: skip


class RoutingRuleSent(Sent, kw_only=True):
    """A rule: a new request matching every criterion given goes to `group_id` (the first
    matching rule wins). Without `id` a rule gets a new one."""

    group_id: UUID
    id: UUID | None = None
    name: str = ""
    category_id: UUID | None = None
    field_key: str = ""
    field_value: str = ""
    channel: Channel | None = None
    organisation_id: UUID | None = None
    priority: Priority | None = None
    assignment: Assignment = Assignment.NONE


class RoutingRulesSent(Sent, kw_only=True):
    rules: list[RoutingRuleSent]
    version: Version | UnsetType = UNSET


class RoutingRule(Answer, kw_only=True):
    id: UUID
    name: str
    group_id: UUID
    category_id: UUID | None
    field_key: str
    field_value: str
    channel: Channel | None
    organisation_id: UUID | None
    priority: Priority | None
    assignment: Assignment


class RoutingRules(Answer, kw_only=True):
    """The routing rules in order (the first match routes); `version` is the If-Match to send."""

    version: int
    rules: list[RoutingRule]


class CalendarSent(Sent, kw_only=True):
    key: str
    name: str
    timezone: str = "Europe/Moscow"
    week: Week | UnsetType = UNSET
    holidays: list[date] = []
    workdays: list[date] = []
    always: bool = False
    kind: Literal["custom", "ru"] = "custom"  # ru: the production calendar under these dates


class PolicySent(Sent, kw_only=True):
    """Targets for requests of a category and priority (none given: any); the most specific
    policy applies."""

    name: str
    first_response_minutes: int
    resolution_minutes: int
    id: UUID | None = None
    warn_percent: int = 80
    category_id: UUID | None = None
    priority: Priority | None = None
    calendar: str = "business"
    escalate_on_breach: bool = True


class SlaSetupSent(Sent, kw_only=True):
    calendars: list[CalendarSent]
    policies: list[PolicySent]
    auto_close_days: int = 5
    version: Version | UnsetType = UNSET


class CalendarShown(Answer, kw_only=True):
    key: str
    name: str
    timezone: str
    week: Annotated[list[list[str]], Meta(min_length=7, max_length=7)]
    holidays: list[date]
    workdays: list[date]
    always: bool
    kind: Literal["custom", "ru"]


class PolicyShown(Answer, kw_only=True):
    id: UUID
    name: str
    first_response_minutes: int
    resolution_minutes: int
    warn_percent: int
    category_id: UUID | None
    priority: Priority | None
    calendar: str
    escalate_on_breach: bool


class SlaSetup(Answer, kw_only=True):
    version: int
    auto_close_days: int
    calendars: list[CalendarShown]
    policies: list[PolicyShown]


OPERATIONS = [
    Operation("get", "/api/v1/routing/rules", "The routing rules, in order (staff)", RoutingRules,
              refusals=(401, 403)),
    Operation("put", "/api/v1/routing/rules",
              "Replace the routing rules (administrators; send the version you saw)", Written,
              RoutingRulesSent, refusals=SETUP_REFUSED),
    Operation("get", "/api/v1/sla", "The SLA set-up: calendars, policies, auto-close (staff)",
              SlaSetup, refusals=(401, 403)),
    Operation("put", "/api/v1/sla",
              "Replace the SLA set-up (administrators; send the version you saw)", Written,
              SlaSetupSent, refusals=SETUP_REFUSED),
]  # fmt: skip
