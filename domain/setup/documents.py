"""The set-up documents replaced whole: routing rules, the SLA set-up, trigger rules and the
quality checklist. Each command carries the version its editor saw (None: any); another version
stored meanwhile is a `Conflict` naming the current one (SetupDocument.check_seen)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from domain.access import Actor, Setup
from domain.category import Category
from domain.incidents import TriggerRule
from domain.people import Group
from domain.quality import ChecklistItem
from domain.results import Written
from domain.routing import Rule
from domain.setup.base import Ports, SetupCommand, handles
from domain.setup_document import SetupDocument
from domain.sla_setup import CalendarSpec, Policy

D = TypeVar("D", bound=SetupDocument)


def replaced(desk: Ports, document: D, expected_version: int | None,
             change: Callable[[D], None]) -> Written:  # fmt: skip
    document.check_seen(expected_version)
    change(document)
    return desk._written(document)


def _known(desk: Ports, groups: tuple[UUID, ...], category_id: UUID | None) -> None:
    """Every group and the category a rule names exist (NotFound names the first that does not)."""
    for g in groups:
        desk._get(Group, g, "group")
    if category_id is not None:
        desk._get(Category, category_id, "category")


@dataclass(frozen=True)
class SetRoutingRules(SetupCommand):
    """The ordered rules a new request is routed by (one event)."""

    rules: tuple[Rule, ...]
    expected_version: int | None = None

    policy = Setup.ROUTING_RULES


@handles(SetRoutingRules)
def set_routing_rules(desk: Ports, actor: Actor, c: SetRoutingRules) -> Written:
    for r in c.rules:
        _known(desk, (r.group_id,), r.category_id)
    return replaced(desk, desk.routing(), c.expected_version,
                    lambda d: d.change(actor.id, c.rules))  # fmt: skip


@dataclass(frozen=True)
class SetSlaSetup(SetupCommand):
    """Business calendars, policies per category and priority, and the days after which a
    resolved request closes unanswered."""

    calendars: tuple[CalendarSpec, ...]
    policies: tuple[Policy, ...]
    auto_close_days: int
    expected_version: int | None = None

    policy = Setup.SLA_SETUP


@handles(SetSlaSetup)
def set_sla_setup(desk: Ports, actor: Actor, c: SetSlaSetup) -> Written:
    return replaced(
        desk,
        desk.sla_setup(),
        c.expected_version,
        lambda d: d.change(actor.id, c.calendars, c.policies, c.auto_close_days),
    )


@dataclass(frozen=True)
class SetTriggerRules(SetupCommand):
    """The rules that propose a mass incident when matching requests pile up."""

    rules: tuple[TriggerRule, ...]
    expected_version: int | None = None

    policy = Setup.TRIGGER_RULES


@handles(SetTriggerRules)
def set_trigger_rules(desk: Ports, actor: Actor, c: SetTriggerRules) -> Written:
    for r in c.rules:
        _known(desk, r.groups, r.criteria.category_id)
    return replaced(desk, desk.triggers(), c.expected_version,
                    lambda d: d.change(actor.id, c.rules))  # fmt: skip


@dataclass(frozen=True)
class SetQualityChecklist(SetupCommand):
    """What a quality reviewer scores a request on."""

    items: tuple[ChecklistItem, ...]
    expected_version: int | None = None

    policy = Setup.QUALITY_CHECKLIST


@handles(SetQualityChecklist)
def set_quality_checklist(desk: Ports, actor: Actor, c: SetQualityChecklist) -> Written:
    return replaced(desk, desk.quality_checklist(), c.expected_version,
                    lambda d: d.change(actor.id, c.items))  # fmt: skip
