"""Routing: the administrators' ordered rules that send a new request to the right group.

A rule matches on the category, one field's value, the channel and the organisation (each
optional; all given must hold); the first rule that matches a new request decides its group, may
raise its priority, and may ask for automatic assignment within the group. The rules live in one
aggregate, so every change is an event and the order is unambiguous; the rule that fired is
recorded on the ticket's routing event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid5

from domain.chain import ChainedAggregate
from domain.errors import InvalidInput
from domain.setup_document import SetupDocument
from domain.ticket import Channel, Priority

ROUTING_ID = uuid5(UUID("5d0c2a53-5bd1-4c39-9a57-6b2f1d8f2a11"), "suz:routing")
MAX_RULES = 500


class Assignment(StrEnum):
    NONE = "none"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


@dataclass(frozen=True)
class Rule:
    id: UUID
    name: str
    group_id: UUID
    category_id: UUID | None = None
    field_key: str = ""
    field_value: str = ""
    channel: Channel | None = None
    organisation_id: UUID | None = None
    priority: Priority | None = None
    assignment: Assignment = Assignment.NONE

    def matches(self, category_id: UUID, fields: dict[str, Any], channel: Channel,
                organisation_id: UUID | None) -> bool:  # fmt: skip
        if self.category_id is not None and self.category_id != category_id:
            return False
        if self.channel is not None and self.channel != channel:
            return False
        if self.organisation_id is not None and self.organisation_id != organisation_id:
            return False
        if self.field_key:
            value = fields.get(self.field_key)
            if value is None or str(value).strip().casefold() != self.field_value.casefold():
                return False
        return True


def check_rules(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    if len(rules) > MAX_RULES:
        raise InvalidInput(f"At most {MAX_RULES} routing rules.", ["rules"])
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise InvalidInput("Each rule appears once.", ["rules"])
    for r in rules:
        if not r.name.strip() or len(r.name) > 200:
            raise InvalidInput("Give every rule a name (up to 200 characters).", ["name"])
        if bool(r.field_key) != bool(r.field_value.strip()):
            raise InvalidInput("A field condition needs both the field and its value.",
                               ["field_key", "field_value"])  # fmt: skip
        if (r.category_id, r.field_key, r.channel, r.organisation_id) == (None, "", None, None):
            raise InvalidInput("A rule needs at least one condition.", ["category_id"])
    return rules


class Routing(SetupDocument):
    """The desk's routing rules, in the order they are tried."""

    FIXED_ID = ROUTING_ID

    if TYPE_CHECKING:
        rules: tuple[Rule, ...]

    class Started(ChainedAggregate.Created):
        def apply(self, aggregate: Any) -> None:
            cast(Routing, aggregate).rules = ()

    class RulesChanged(ChainedAggregate.Event):
        by: UUID | None
        rules: tuple[Rule, ...]

        def apply(self, aggregate: Any) -> None:
            cast(Routing, aggregate).rules = self.rules

    def change(self, by: UUID | None, rules: tuple[Rule, ...]) -> None:
        self.trigger_event(self.RulesChanged, by=by, rules=check_rules(tuple(rules)))

    def route(self, category_id: UUID, fields: dict[str, Any], channel: Channel,
              organisation_id: UUID | None) -> Rule | None:  # fmt: skip
        """The first rule that matches a new request, if any."""
        found = (r for r in self.rules if r.matches(category_id, fields, channel, organisation_id))
        return next(found, None)
