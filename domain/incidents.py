"""Triggers and mass incidents.

`Triggers` holds the analysts' rules (one aggregate with a fixed id, like routing): N new requests
matching some criteria (a category, a field's value, words) within a window, optionally also a
rate far above the category's usual one for that hour of the week. When a rule fires, the firing
and a proposal (a `MassIncident` in status `proposed`) are saved together, at most once per
window and never while the rule's previous incident is still proposed or open.

A `MassIncident` is opened from a proposal or by hand, with a public title and description.
Requests are linked to it (automatically when they match its criteria, or by hand); what its
requesters must be told is derived from the incident's own events: the notice that the problem is
known (on linking), each public update, and the answer on resolution. `links` records, for every
linked request, how far along that list it has been told; delivery (domain/incident_commands.py)
writes the tickets' public events and the incident's `Delivered` in one atomic save, so each
requester is told each thing exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid4, uuid5

from domain.chain import ChainedAggregate
from domain.errors import InvalidInput, InvalidTransition
from domain.people import clean_text
from domain.setup_document import SetupDocument

TRIGGERS_ID = uuid5(UUID("5d0c2a53-5bd1-4c39-9a57-6b2f1d8f2a11"), "suz:triggers")
MAX_RULES = 200
MAX_WORDS = 20
MAX_PUBLIC = 8000  # a description, an update or an answer (a notice carries two of them)
MAX_WINDOW = 24 * 60


@dataclass(frozen=True)
class Criteria:
    """Which requests belong together: every condition given must hold (none: only by hand).

    `words`: any one of them in the subject or the description, ignoring case."""

    category_id: UUID | None = None
    field_key: str = ""
    field_value: str = ""
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.category_id is None and not self.field_key and not self.words

    def matches(self, category_id: UUID | str, fields: Mapping[str, Any], text: str) -> bool:
        if self.category_id is not None and str(self.category_id) != str(category_id):
            return False
        if self.field_key:
            value = fields.get(self.field_key)
            if value is None or str(value).strip().casefold() != self.field_value.casefold():
                return False
        if self.words:
            folded = text.casefold()
            if not any(w.casefold() in folded for w in self.words):
                return False
        return True


def check_criteria(c: Criteria) -> Criteria:
    """The criteria cleaned (words trimmed, empty ones dropped), or InvalidInput."""
    words = tuple(dict.fromkeys(w.strip() for w in c.words if w.strip()))
    if len(words) > MAX_WORDS or any(len(w) > 100 for w in words):
        raise InvalidInput(f"At most {MAX_WORDS} words of up to 100 characters.", ["words"])
    key, value = c.field_key.strip(), c.field_value.strip()
    if bool(key) != bool(value) or len(key) > 100 or len(value) > 500:
        raise InvalidInput(
            "A field condition needs both the field and its value.", ["field_key", "field_value"]
        )
    return Criteria(c.category_id, key, value, words)


@dataclass(frozen=True)
class TriggerRule:
    """N matching requests within `window_minutes`; with `rate_factor` > 0, also at least that
    many times the usual number for the category at this hour of the week."""

    id: UUID
    name: str
    criteria: Criteria
    threshold: int
    window_minutes: int = 10
    rate_factor: Decimal = Decimal(0)
    groups: tuple[UUID, ...] = ()  # alerted when it fires (none: development and operations)

    def fires(self, count: int, usual: Decimal | None) -> bool:
        """Whether `count` matching requests in the window fire this rule; `usual` is the
        expected number in such a window (None: no history yet, the threshold alone decides)."""
        if count < self.threshold:
            return False
        return self.rate_factor <= 0 or usual is None or count >= self.rate_factor * usual


def check_rules(rules: tuple[TriggerRule, ...]) -> tuple[TriggerRule, ...]:
    if len(rules) > MAX_RULES:
        raise InvalidInput(f"At most {MAX_RULES} trigger rules.", ["rules"])
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise InvalidInput("Each rule appears once.", ["rules"])
    checked = []
    for r in rules:
        if not r.name.strip() or len(r.name) > 200:
            raise InvalidInput("Give every rule a name (up to 200 characters).", ["name"])
        criteria = check_criteria(r.criteria)
        if criteria.empty:
            raise InvalidInput(
                "A rule needs a category, a field value or words.",
                ["category_id", "field_key", "words"],
            )
        if not isinstance(r.threshold, int) or not 1 <= r.threshold <= 100_000:
            raise InvalidInput("The threshold is a whole number of requests from 1.", ["threshold"])
        if not isinstance(r.window_minutes, int) or not 1 <= r.window_minutes <= MAX_WINDOW:
            raise InvalidInput("The window is from 1 minute to 24 hours.", ["window_minutes"])
        factor = Decimal(r.rate_factor)
        if not factor.is_finite() or factor < 0 or factor > 1000:
            raise InvalidInput("The rate factor is a number from 0 (off) to 1000.", ["rate_factor"])
        if factor > 0 and criteria.category_id is None:
            raise InvalidInput(
                "A rate rule compares with its category's usual rate: choose the category.",
                ["category_id"],
            )
        checked.append(
            TriggerRule(
                r.id,
                r.name.strip(),
                criteria,
                r.threshold,
                r.window_minutes,
                factor.normalize() if factor else Decimal(0),
                tuple(dict.fromkeys(r.groups)),
            )
        )
    return tuple(checked)


class Triggers(SetupDocument):
    """The trigger rules, and when each last fired (with the proposal it made)."""

    FIXED_ID = TRIGGERS_ID

    if TYPE_CHECKING:
        rules: tuple[TriggerRule, ...]
        fired: dict[UUID, tuple[datetime, UUID]]

    class Started(ChainedAggregate.Created):
        def apply(self, aggregate: Any) -> None:
            t = cast(Triggers, aggregate)
            t.rules, t.fired = (), {}

    class RulesChanged(ChainedAggregate.Event):
        by: UUID | None
        rules: tuple[TriggerRule, ...]

        def apply(self, aggregate: Any) -> None:
            cast(Triggers, aggregate).rules = self.rules

    def change(self, by: UUID | None, rules: tuple[TriggerRule, ...]) -> None:
        self.trigger_event(self.RulesChanged, by=by, rules=check_rules(tuple(rules)))

    class Fired(ChainedAggregate.Event):
        rule_id: UUID
        at: datetime
        since: datetime
        count: int
        usual: Decimal | None  # the expected number in such a window (rate rules)
        incident_id: UUID  # the proposal it made

        def apply(self, aggregate: Any) -> None:
            t = cast(Triggers, aggregate)
            t.fired = {**t.fired, self.rule_id: (self.at, self.incident_id)}

    def rule(self, rule_id: UUID) -> TriggerRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def may_fire(self, rule: TriggerRule, at: datetime) -> bool:
        """At most once per window."""
        last = self.fired.get(rule.id)
        return last is None or at >= last[0] + timedelta(minutes=rule.window_minutes)

    def fire(
        self, rule: TriggerRule, at: datetime, count: int, usual: Decimal | None, incident_id: UUID
    ) -> None:
        if not self.may_fire(rule, at):
            raise InvalidTransition("This rule fired less than a window ago.")
        since = at - timedelta(minutes=rule.window_minutes)
        self.trigger_event(
            self.Fired,
            rule_id=rule.id,
            at=at,
            since=since,
            count=count,
            usual=usual,
            incident_id=incident_id,
        )


class IncidentStatus(StrEnum):
    PROPOSED = "proposed"  # made by a trigger; someone opens or dismisses it
    OPEN = "open"
    DISMISSED = "dismissed"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Message:
    """Something a linked request's requester is to be told, as the ticket event to write."""

    kind: str  # "reply" or "resolve"
    by: UUID
    body: str


def clean_public(text: str, field: str) -> str:
    return clean_text(text, field, max_length=MAX_PUBLIC)


class MassIncident(ChainedAggregate):
    """One problem behind many requests."""

    if TYPE_CHECKING:
        status: IncidentStatus
        title: str
        description: str
        criteria: Criteria
        since: datetime | None  # matching requests filed since then are linked automatically
        rule_id: UUID | None
        rule_name: str
        count: int
        groups: tuple[UUID, ...]
        opened_by: UUID | None
        links: dict[UUID, int]  # linked request -> how far it was told (see `target`)
        unlinked: frozenset[UUID]  # taken out by hand: never linked automatically again
        updates: tuple[tuple[UUID, str], ...]  # (author, text) of each public update
        answer: str
        resolved_by: UUID | None
        resolve_requests: bool

    def _initial(self) -> None:
        self.status, self.title, self.description = IncidentStatus.PROPOSED, "", ""
        self.criteria, self.since, self.rule_id, self.rule_name = Criteria(), None, None, ""
        self.count, self.groups, self.opened_by = 0, (), None
        self.links, self.unlinked, self.updates = {}, frozenset(), ()
        self.answer, self.resolved_by, self.resolve_requests = "", None, True

    # -- how it starts ------------------------------------------------------------------------
    class Proposed(ChainedAggregate.Created):
        rule_id: UUID
        rule_name: str
        criteria: Criteria
        since: datetime
        count: int
        groups: tuple[UUID, ...]

        def apply(self, aggregate: Any) -> None:
            i = cast(MassIncident, aggregate)
            i._initial()
            i.rule_id, i.rule_name, i.criteria = self.rule_id, self.rule_name, self.criteria
            i.since, i.count, i.groups = self.since, self.count, self.groups
            i.title = self.rule_name

    @classmethod
    def propose(cls, rule: TriggerRule, since: datetime, count: int) -> MassIncident:
        return cls._start(
            cls.Proposed,
            id=uuid4(),
            rule_id=rule.id,
            rule_name=rule.name,
            criteria=rule.criteria,
            since=since,
            count=count,
            groups=rule.groups,
        )

    class Opened(ChainedAggregate.Created):
        """Opened by hand."""

        by: UUID
        title: str
        description: str
        criteria: Criteria
        since: datetime | None

        def apply(self, aggregate: Any) -> None:
            i = cast(MassIncident, aggregate)
            i._initial()
            i.status, i.opened_by = IncidentStatus.OPEN, self.by
            i.title, i.description = self.title, self.description
            i.criteria, i.since = self.criteria, self.since

    @classmethod
    def open(
        cls, by: UUID, title: str, description: str, criteria: Criteria, since: datetime | None
    ) -> MassIncident:
        return cls._start(
            cls.Opened,
            id=uuid4(),
            by=by,
            title=clean_text(title, "title"),
            description=clean_public(description, "description"),
            criteria=check_criteria(criteria),
            since=since,
        )

    class Accepted(ChainedAggregate.Event):
        """A proposal opened as an incident."""

        by: UUID
        title: str
        description: str
        criteria: Criteria

        def apply(self, aggregate: Any) -> None:
            i = cast(MassIncident, aggregate)
            i.status, i.opened_by = IncidentStatus.OPEN, self.by
            i.title, i.description, i.criteria = self.title, self.description, self.criteria

    def accept(self, by: UUID, title: str, description: str, criteria: Criteria | None) -> None:
        if self.status is not IncidentStatus.PROPOSED:
            raise InvalidTransition("Only a proposal can be opened as an incident.")
        self.trigger_event(
            self.Accepted,
            by=by,
            title=clean_text(title, "title"),
            description=clean_public(description, "description"),
            criteria=check_criteria(criteria or self.criteria),
        )

    class Dismissed(ChainedAggregate.Event):
        by: UUID
        reason: str

        def apply(self, aggregate: Any) -> None:
            cast(MassIncident, aggregate).status = IncidentStatus.DISMISSED

    def dismiss(self, by: UUID, reason: str) -> None:
        if self.status is not IncidentStatus.PROPOSED:
            raise InvalidTransition("Only a proposal can be dismissed.")
        self.trigger_event(self.Dismissed, by=by, reason=reason.strip()[:2000])

    # -- requests -----------------------------------------------------------------------------
    def check_open(self) -> None:
        if self.status is not IncidentStatus.OPEN:
            raise InvalidTransition("The incident is not open.")

    class Linked(ChainedAggregate.Event):
        by: UUID | None  # None: linked automatically (it matches the criteria)
        ticket_ids: tuple[UUID, ...]

        def apply(self, aggregate: Any) -> None:
            i = cast(MassIncident, aggregate)
            i.links = {**i.links, **dict.fromkeys(self.ticket_ids, -1)}
            if self.by is not None:
                i.unlinked = i.unlinked - set(self.ticket_ids)

    def link(self, by: UUID | None, ticket_ids: tuple[UUID, ...]) -> tuple[UUID, ...]:
        """Links the requests not linked yet (automatically: not those taken out by hand);
        returns those it linked."""
        self.check_open()
        manual = by is not None
        new = tuple(
            t
            for t in dict.fromkeys(ticket_ids)
            if t not in self.links and (manual or t not in self.unlinked)
        )
        if new:
            self.trigger_event(self.Linked, by=by, ticket_ids=new)
        return new

    class Unlinked(ChainedAggregate.Event):
        by: UUID
        ticket_id: UUID

        def apply(self, aggregate: Any) -> None:
            i = cast(MassIncident, aggregate)
            i.links = {t: s for t, s in i.links.items() if t != self.ticket_id}
            i.unlinked = i.unlinked | {self.ticket_id}

    def unlink(self, by: UUID, ticket_id: UUID) -> None:
        self.check_open()
        if ticket_id not in self.links:
            raise InvalidTransition("This request is not linked to the incident.")
        self.trigger_event(self.Unlinked, by=by, ticket_id=ticket_id)

    # -- what the requesters are told -----------------------------------------------------------
    class UpdatePublished(ChainedAggregate.Event):
        """One public update: every linked requester is told it."""

        by: UUID
        body: str

        def apply(self, aggregate: Any) -> None:
            i = cast(MassIncident, aggregate)
            i.updates = (*i.updates, (self.by, self.body))

    def publish(self, by: UUID, body: str) -> None:
        self.check_open()
        self.trigger_event(self.UpdatePublished, by=by, body=clean_public(body, "body"))

    class Resolved(ChainedAggregate.Event):
        by: UUID
        answer: str
        resolve_requests: bool  # False: the answer is sent, the requests stay for the agents

        def apply(self, aggregate: Any) -> None:
            i = cast(MassIncident, aggregate)
            i.status, i.answer = IncidentStatus.RESOLVED, self.answer
            i.resolved_by, i.resolve_requests = self.by, self.resolve_requests

    def resolve(self, by: UUID, answer: str, resolve_requests: bool = True) -> None:
        self.check_open()
        self.trigger_event(
            self.Resolved,
            by=by,
            answer=clean_public(answer, "answer"),
            resolve_requests=bool(resolve_requests),
        )

    class Delivered(ChainedAggregate.Event):
        """These requests were told everything up to `upto` (see `target`)."""

        ticket_ids: tuple[UUID, ...]
        upto: int

        def apply(self, aggregate: Any) -> None:
            i = cast(MassIncident, aggregate)
            i.links = {**i.links, **{t: self.upto for t in self.ticket_ids if t in i.links}}

    @property
    def target(self) -> int:
        """How far every linked request is to be told: -1 nothing yet; 0 the notice; n the
        notice and the first n updates; one more when the incident is resolved (the answer)."""
        return len(self.updates) + (1 if self.status is IncidentStatus.RESOLVED else 0)

    def pending(self, limit: int) -> list[UUID]:
        """Linked requests not yet told everything, at most `limit` of them."""
        target = self.target
        return [t for t, seen in self.links.items() if seen < target][:limit]

    def notice(self) -> str:
        """What a newly linked request's requester is told: the problem is known."""
        latest = f"\n\n{self.updates[-1][1]}" if self.updates else ""
        return f"**{self.title}**\n\n{self.description}{latest}"

    def messages(self, ticket_id: UUID) -> list[Message]:
        """What the request's requester is still to be told, oldest first."""
        seen = self.links.get(ticket_id)
        if seen is None or self.opened_by is None:
            return []
        if self.status is IncidentStatus.RESOLVED:
            if seen >= self.target or self.resolved_by is None:
                return []
            kind = "resolve" if self.resolve_requests else "reply"
            return [Message(kind, self.resolved_by, self.answer)]
        if seen < 0:
            return [Message("reply", self.opened_by, self.notice())]
        return [Message("reply", by, body) for by, body in self.updates[seen:]]

    def delivered(self, ticket_ids: tuple[UUID, ...]) -> None:
        if ticket_ids:
            self.trigger_event(self.Delivered, ticket_ids=ticket_ids, upto=self.target)
