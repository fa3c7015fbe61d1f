"""Trigger and mass-incident commands of the Desk, and what the incident process records.

A mixin of the Desk application (it uses the Desk's _get/_save/_written/repository).

Who may do what: administrators and analysts set the trigger rules; developers, operations and
administrators open, dismiss, update and resolve incidents; whoever works requests (the roles that
may link requests) links and unlinks them by hand; all staff read. Curators and auditors only read.

Telling the requesters: every command that gives a linked request's requester something to learn
(a link, an update, the resolution) also delivers it, in batches: the tickets' public events
(`Replied` with the notice or the update, `Resolved` with the answer) and the incident's
`Delivered` are saved atomically, so a retry or a second process never tells anyone twice and a
crash between batches leaves the rest to `deliver_incident` (the incident process calls it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from domain.access import Actor, Command, TicketScope, check
from domain.category import Category
from domain.chain import ChainedAggregate, check_seen, load_or_start
from domain.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from domain.incidents import (
    TRIGGERS_ID,
    Criteria,
    IncidentStatus,
    MassIncident,
    TriggerRule,
    Triggers,
)
from domain.people import Group, Role
from domain.results import Written
from domain.ticket import ACTIVE_STATUSES, Ticket

A = TypeVar("A", bound=ChainedAggregate)
TRIGGER_EDITORS = (Role.ADMIN, Role.ANALYST)
INCIDENT_MANAGERS = (Role.DEVELOPER, Role.OPERATIONS, Role.ADMIN)
BATCH = 100  # requests told in one atomic save
ATTEMPTS = 5


def _who(actor: Actor) -> UUID:
    if actor.id is None:
        raise Forbidden("Sign in to do this.")
    return actor.id


def _manager(actor: Actor) -> UUID:
    if not actor.has(*INCIDENT_MANAGERS):
        raise Forbidden("Only developers, operations and administrators manage mass incidents.")
    return _who(actor)


class IncidentCommands:
    if TYPE_CHECKING:
        repository: Any

        def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...
        def _save(self, *aggregates: ChainedAggregate) -> int: ...
        def _written(self, aggregate: ChainedAggregate) -> Written: ...

    # -- trigger rules --------------------------------------------------------------------------
    def triggers(self) -> Triggers:
        return load_or_start(self.repository, TRIGGERS_ID, Triggers.start)

    def set_trigger_rules(
        self, actor: Actor, rules: tuple[TriggerRule, ...], expected_version: int | None = None
    ) -> Written:
        """Replaces the rules (one event); refused against a stale version."""
        if not actor.has(*TRIGGER_EDITORS):
            raise Forbidden("Only administrators and analysts set the trigger rules.")
        for r in rules:
            for g in r.groups:
                self._get(Group, g, "group")
            if r.criteria.category_id is not None:
                self._get(Category, r.criteria.category_id, "category")
        triggers = self.triggers()
        check_seen(triggers, expected_version)
        triggers.change(actor.id, rules)
        return self._written(triggers)

    def fire_trigger(
        self, rule_id: UUID, at: datetime, count: int, usual: Decimal | None = None
    ) -> Written | None:
        """Records that a rule fired and makes its proposal (one atomic save), unless it fired
        less than a window ago or its last incident is still proposed or open: None then."""
        for _attempt in range(ATTEMPTS):
            triggers = self.triggers()
            rule = triggers.rule(rule_id)
            if triggers.pending_events or rule is None or not triggers.may_fire(rule, at):
                return None
            last = triggers.fired.get(rule_id)
            if last is not None:
                previous = self._get(MassIncident, last[1], "incident")
                if previous.status in (IncidentStatus.PROPOSED, IncidentStatus.OPEN):
                    return None
            since = at - timedelta(minutes=rule.window_minutes)
            proposal = MassIncident.propose(rule, since, count)
            triggers.fire(rule, at, count, usual, proposal.id)
            try:
                return Written(proposal.id, self._save(triggers, proposal), proposal.version)
            except Conflict:
                continue  # the rules changed or another process fired: decide again
        return None

    # -- incidents ------------------------------------------------------------------------------
    def incident(self, actor: Actor, incident_id: UUID) -> MassIncident:
        if not actor.is_staff:
            raise Forbidden("Mass incidents are for the support staff.")
        return self._get(MassIncident, incident_id, "incident")

    def open_incident(
        self,
        actor: Actor,
        title: str,
        description: str,
        criteria: Criteria | None = None,
        since: datetime | None = None,
        proposal_id: UUID | None = None,
    ) -> Written:
        """Opens a proposal as an incident, or (no proposal) a new incident by hand. Matching
        requests filed since `since` (a proposal's: its window) are then linked automatically."""
        by = _manager(actor)
        if criteria is not None and criteria.category_id is not None:
            self._get(Category, criteria.category_id, "category")
        if proposal_id is None:
            return self._written(
                MassIncident.open(by, title, description, criteria or Criteria(), since)
            )
        incident = self._get(MassIncident, proposal_id, "incident")
        incident.accept(by, title, description, criteria)
        return self._written(incident)

    def dismiss_incident(self, actor: Actor, incident_id: UUID, reason: str = "") -> Written:
        by = _manager(actor)
        incident = self._get(MassIncident, incident_id, "incident")
        incident.dismiss(by, reason)
        return self._written(incident)

    def link_to_incident(
        self, actor: Actor, incident_id: UUID, ticket_ids: tuple[UUID, ...]
    ) -> Written:
        """Links requests by hand (each checked as a link on that request); their requesters
        are told at once that the problem is known."""
        by = _who(actor)
        if not ticket_ids or len(ticket_ids) > BATCH:
            raise InvalidInput(f"Name from 1 to {BATCH} requests.", ["tickets"])
        for t in ticket_ids:
            ticket = self._get(Ticket, t, "request")
            check(
                actor,
                Command.LINK,
                TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id),
            )
        written = self._link(incident_id, ticket_ids, by)
        if written is None:
            raise InvalidTransition("These requests are already linked to the incident.")
        return written

    def auto_link(self, incident_id: UUID, ticket_ids: tuple[UUID, ...]) -> Written | None:
        """Links matching requests (the incident process); None when nothing was left to link."""
        try:
            return self._link(incident_id, ticket_ids, None)
        except InvalidTransition:
            return None  # no longer open

    def _link(
        self, incident_id: UUID, ticket_ids: tuple[UUID, ...], by: UUID | None
    ) -> Written | None:
        last: Written | None = None
        for start in range(0, len(ticket_ids), BATCH):
            batch = ticket_ids[start : start + BATCH]
            for attempt in range(ATTEMPTS):
                incident = self._get(MassIncident, incident_id, "incident")
                new = incident.link(by, batch)
                if not new:
                    break
                try:
                    last = self._tell(incident, new)
                    break
                except Conflict:
                    if attempt == ATTEMPTS - 1:
                        raise
        return last

    def unlink_from_incident(self, actor: Actor, incident_id: UUID, ticket_id: UUID) -> Written:
        by = _who(actor)
        ticket = self._get(Ticket, ticket_id, "request")
        check(
            actor, Command.LINK, TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id)
        )
        incident = self._get(MassIncident, incident_id, "incident")
        incident.unlink(by, ticket_id)
        return self._written(incident)

    def publish_incident_update(self, actor: Actor, incident_id: UUID, body: str) -> Written:
        """One public update (one event on the incident), then told to every linked requester."""
        by = _manager(actor)
        incident = self._get(MassIncident, incident_id, "incident")
        incident.publish(by, body)
        written = self._written(incident)
        return self.deliver_incident(incident_id) or written

    def resolve_incident(
        self, actor: Actor, incident_id: UUID, answer: str, resolve_requests: bool = True
    ) -> Written:
        """Resolves the incident; every linked request still open is resolved with the answer
        (or, with `resolve_requests` False, is sent the answer and left to its agents)."""
        by = _manager(actor)
        incident = self._get(MassIncident, incident_id, "incident")
        incident.resolve(by, answer, resolve_requests)
        written = self._written(incident)
        return self.deliver_incident(incident_id) or written

    def deliver_incident(self, incident_id: UUID) -> Written | None:
        """Tells every linked request what it has not been told yet, in atomic batches;
        idempotent. None when nothing was pending."""
        last: Written | None = None
        conflicts = 0
        while conflicts < ATTEMPTS:
            incident = self._get(MassIncident, incident_id, "incident")
            pending = tuple(incident.pending(BATCH))
            if not pending:
                break
            try:
                last = self._tell(incident, pending)
            except Conflict:
                conflicts += 1  # a request changed meanwhile: this batch is decided again
        return last

    def _tell(self, incident: MassIncident, ticket_ids: tuple[UUID, ...]) -> Written:
        """Writes, for each request, what its requester is still to be told, and records it on
        the incident; one atomic save (Conflict if any of them changed meanwhile)."""
        tickets = [self._get(Ticket, t, "request") for t in ticket_ids]
        told = []
        for ticket in tickets:
            if ticket.status in ACTIVE_STATUSES:
                for m in incident.messages(ticket.id):
                    if ticket.status not in ACTIVE_STATUSES:
                        break
                    if m.kind == "resolve":
                        ticket.resolve(m.by, m.body)
                    else:
                        ticket.reply(m.by, m.body)
            if ticket.pending_events:
                told.append(ticket)
        incident.delivered(ticket_ids)  # inactive requests are skipped, and count as told
        return Written(incident.id, self._save(incident, *told), incident.version)
