"""Trigger and mass-incident commands: each one's data, its handler, one registry, one dispatch.

An incident command is a frozen dataclass (`DismissIncident(incident_id, reason)`...); `policy`
names its line in domain/access.py `SETUP_POLICY`, which the dispatcher asks before anything is
loaded (linking by hand: whoever is signed in, the handler then checks each request as a link on
it; what the process sends: the system only), `api` its path segment under
/api/v1/incidents/{id}/ and `actions` the incident page's form names. `Desk.handle` takes them as
it takes ticket commands (`handle_incident` below); the JSON API and the incident pages parse into
these same types (web/incident_input.py). The older Desk methods only build a command.

Who may do what: administrators and analysts set the trigger rules; developers, operations and
administrators open, dismiss, update and resolve incidents; whoever works requests (the roles that
may link requests) links and unlinks them by hand; all staff read. Curators and auditors only read.
What the incident process sends (`FireTrigger`, `AutoLink`, `DeliverIncident`) goes through the
same dispatch as the system actor; those are idempotent and raise `Unchanged` when nothing is left
to do (`Desk.send` answers None then).

Telling the requesters: every command that gives a linked request's requester something to learn
(a link, an update, the resolution) also delivers it, in batches: the tickets' public events
(`Replied` with the notice or the update, `Resolved` with the answer) and the incident's
`Delivered` are saved atomically, so a retry or a second process never tells anyone twice and a
crash between batches leaves the rest to `DeliverIncident` (the incident process sends it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from domain.access import Actor, Command, Setup, TicketScope, check, check_setup
from domain.category import Category
from domain.chain import ChainedAggregate
from domain.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from domain.incidents import (
    Criteria,
    IncidentStatus,
    MassIncident,
    TriggerRule,
    Triggers,
)
from domain.results import Written
from domain.setup.documents import SetTriggerRules
from domain.ticket import ACTIVE_STATUSES, Ticket
from domain.tickets.commands import Unchanged

A = TypeVar("A", bound=ChainedAggregate)
BATCH = 100  # requests told in one atomic save
ATTEMPTS = 5


def _who(actor: Actor) -> UUID:
    if actor.id is None:
        raise Forbidden("Sign in to do this.")
    return actor.id


@dataclass(frozen=True)
class IncidentCommand:
    """What every incident command declares (its fields are its own)."""

    policy: ClassVar[Setup] = Setup.MANAGE_INCIDENTS  # its line in domain/access.py SETUP_POLICY
    api: ClassVar[str | None] = None  # not sent through the JSON API's command route when None
    actions: ClassVar[tuple[str, ...]] = ()


Handler = Callable[["IncidentCommands", Actor, Any], Written]
HANDLERS: dict[type[IncidentCommand], Handler] = {}
C = TypeVar("C", bound=IncidentCommand)


def handles(kind: type[C]) -> Callable[[Callable[[IncidentCommands, Actor, C], Written]], Handler]:
    """Registers the handler of one command type (once: a second registration is a bug)."""

    def register(handler: Callable[[IncidentCommands, Actor, C], Written]) -> Handler:
        assert kind not in HANDLERS, f"{kind.__name__} has a handler already"
        HANDLERS[kind] = handler
        return handler

    return register


class IncidentCommands:
    if TYPE_CHECKING:
        repository: Any

        def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...
        def _save(self, *aggregates: ChainedAggregate) -> int: ...
        def _written(self, aggregate: ChainedAggregate) -> Written: ...
        def send(self, command: Any) -> Written | None: ...
        def handle(self, actor: Actor, command: Any) -> Written: ...

    def handle_incident(self, actor: Actor, command: IncidentCommand) -> Written:
        """Carries out one incident command: its roles, then its handler (which loads, decides
        and saves)."""
        check_setup(actor, command.policy)
        return HANDLERS[type(command)](self, actor, command)

    # -- trigger rules --------------------------------------------------------------------------
    def triggers(self) -> Triggers:
        return Triggers.load(self.repository)

    def set_trigger_rules(
        self, actor: Actor, rules: tuple[TriggerRule, ...], expected_version: int | None = None
    ) -> Written:
        """Builds `SetTriggerRules` (a set-up command, domain/setup/documents.py) and hands it
        to `handle`."""
        return self.handle(actor, SetTriggerRules(rules, expected_version))

    def incident(self, actor: Actor, incident_id: UUID) -> MassIncident:
        if not actor.is_staff:
            raise Forbidden("Mass incidents are for the support staff.")
        return self._get(MassIncident, incident_id, "incident")

    # -- the same commands by method, for callers that hold plain values ----------------------
    def fire_trigger(
        self, rule_id: UUID, at: datetime, count: int, usual: Decimal | None = None
    ) -> Written | None:
        return self.send(FireTrigger(rule_id, at, count, usual))

    def open_incident(self, actor: Actor, title: str, description: str,
                      criteria: Criteria | None = None, since: datetime | None = None,
                      proposal_id: UUID | None = None) -> Written:  # fmt: skip
        return self.handle_incident(
            actor, OpenIncident(title, description, criteria, since, proposal_id)
        )

    def dismiss_incident(self, actor: Actor, incident_id: UUID, reason: str = "") -> Written:
        return self.handle_incident(actor, DismissIncident(incident_id, reason))

    def link_to_incident(
        self, actor: Actor, incident_id: UUID, ticket_ids: tuple[UUID, ...]
    ) -> Written:
        return self.handle_incident(actor, LinkToIncident(incident_id, ticket_ids))

    def auto_link(self, incident_id: UUID, ticket_ids: tuple[UUID, ...]) -> Written | None:
        return self.send(AutoLink(incident_id, ticket_ids))

    def unlink_from_incident(self, actor: Actor, incident_id: UUID, ticket_id: UUID) -> Written:
        return self.handle_incident(actor, UnlinkFromIncident(incident_id, ticket_id))

    def publish_incident_update(self, actor: Actor, incident_id: UUID, body: str) -> Written:
        return self.handle_incident(actor, PublishIncidentUpdate(incident_id, body))

    def resolve_incident(
        self, actor: Actor, incident_id: UUID, answer: str, resolve_requests: bool = True
    ) -> Written:
        return self.handle_incident(actor, ResolveIncident(incident_id, answer, resolve_requests))

    def deliver_incident(self, incident_id: UUID) -> Written | None:
        return self.send(DeliverIncident(incident_id))


# -- what the incident process sends (as the system actor) -------------------------------------
@dataclass(frozen=True)
class FireTrigger(IncidentCommand):
    """Records that a rule fired and makes its proposal (one atomic save), unless it fired less
    than a window ago or its last incident is still proposed or open."""

    policy = Setup.RUN_INCIDENTS

    rule_id: UUID
    at: datetime
    count: int
    usual: Decimal | None = None


@handles(FireTrigger)
def fire_trigger(desk: IncidentCommands, actor: Actor, c: FireTrigger) -> Written:
    for _attempt in range(ATTEMPTS):
        triggers = desk.triggers()
        rule = triggers.rule(c.rule_id)
        if triggers.pending_events or rule is None or not triggers.may_fire(rule, c.at):
            raise Unchanged
        last = triggers.fired.get(c.rule_id)
        if last is not None:
            previous = desk._get(MassIncident, last[1], "incident")
            if previous.status in (IncidentStatus.PROPOSED, IncidentStatus.OPEN):
                raise Unchanged
        since = c.at - timedelta(minutes=rule.window_minutes)
        proposal = MassIncident.propose(rule, since, c.count)
        triggers.fire(rule, c.at, c.count, c.usual, proposal.id)
        try:
            return Written(proposal.id, desk._save(triggers, proposal), proposal.version)
        except Conflict:
            continue  # the rules changed or another process fired: decide again
    raise Unchanged


@dataclass(frozen=True)
class AutoLink(IncidentCommand):
    """Links matching requests; Unchanged when nothing was left to link or it is not open."""

    policy = Setup.RUN_INCIDENTS

    incident_id: UUID
    ticket_ids: tuple[UUID, ...]


@handles(AutoLink)
def auto_link(desk: IncidentCommands, actor: Actor, c: AutoLink) -> Written:
    try:
        written = _link(desk, c.incident_id, c.ticket_ids, None)
    except InvalidTransition:
        raise Unchanged from None  # no longer open
    if written is None:
        raise Unchanged
    return written


@dataclass(frozen=True)
class DeliverIncident(IncidentCommand):
    """Tells every linked request what it has not been told yet, in atomic batches."""

    policy = Setup.RUN_INCIDENTS

    incident_id: UUID


@handles(DeliverIncident)
def deliver_incident(desk: IncidentCommands, actor: Actor, c: DeliverIncident) -> Written:
    written = _deliver(desk, c.incident_id)
    if written is None:
        raise Unchanged  # nothing was pending
    return written


# -- what people send --------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenIncident(IncidentCommand):
    """Opens a proposal as an incident, or (no proposal) a new incident by hand. Matching
    requests filed since `since` (a proposal's: its window) are then linked automatically."""

    title: str
    description: str
    criteria: Criteria | None = None
    since: datetime | None = None
    proposal_id: UUID | None = None

    actions = ("open",)  # the proposal, on its page (by hand: its own routes, POST /incidents/new)


@handles(OpenIncident)
def open_incident(desk: IncidentCommands, actor: Actor, c: OpenIncident) -> Written:
    by = _who(actor)
    if c.criteria is not None and c.criteria.category_id is not None:
        desk._get(Category, c.criteria.category_id, "category")
    if c.proposal_id is None:
        criteria = c.criteria or Criteria()
        return desk._written(MassIncident.open(by, c.title, c.description, criteria, c.since))
    incident = desk._get(MassIncident, c.proposal_id, "incident")
    incident.accept(by, c.title, c.description, c.criteria)
    return desk._written(incident)


@dataclass(frozen=True)
class DismissIncident(IncidentCommand):
    incident_id: UUID
    reason: str = ""

    api, actions = "dismissal", ("dismiss",)


@handles(DismissIncident)
def dismiss_incident(desk: IncidentCommands, actor: Actor, c: DismissIncident) -> Written:
    by = _who(actor)
    incident = desk._get(MassIncident, c.incident_id, "incident")
    incident.dismiss(by, c.reason)
    return desk._written(incident)


def _check_link(desk: IncidentCommands, actor: Actor, ticket_id: UUID) -> None:
    ticket = desk._get(Ticket, ticket_id, "request")
    check(actor, Command.LINK, TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id))


@dataclass(frozen=True)
class LinkToIncident(IncidentCommand):
    """Links requests by hand (each checked as a link on that request); their requesters are
    told at once that the problem is known."""

    incident_id: UUID
    ticket_ids: tuple[UUID, ...]

    policy = Setup.LINK_TO_INCIDENT
    api, actions = "links", ("link",)


@handles(LinkToIncident)
def link_to_incident(desk: IncidentCommands, actor: Actor, c: LinkToIncident) -> Written:
    by = _who(actor)
    if not c.ticket_ids or len(c.ticket_ids) > BATCH:
        raise InvalidInput(f"Name from 1 to {BATCH} requests.", ["tickets"])
    for t in c.ticket_ids:
        _check_link(desk, actor, t)
    written = _link(desk, c.incident_id, c.ticket_ids, by)
    if written is None:
        raise InvalidTransition("These requests are already linked to the incident.")
    return written


@dataclass(frozen=True)
class UnlinkFromIncident(IncidentCommand):
    incident_id: UUID
    ticket_id: UUID

    policy = Setup.LINK_TO_INCIDENT
    actions = ("unlink",)  # the API's DELETE /api/v1/incidents/{id}/links/{ticket_id}


@handles(UnlinkFromIncident)
def unlink_from_incident(desk: IncidentCommands, actor: Actor, c: UnlinkFromIncident) -> Written:
    by = _who(actor)
    _check_link(desk, actor, c.ticket_id)
    incident = desk._get(MassIncident, c.incident_id, "incident")
    incident.unlink(by, c.ticket_id)
    return desk._written(incident)


@dataclass(frozen=True)
class PublishIncidentUpdate(IncidentCommand):
    """One public update (one event on the incident), then told to every linked requester."""

    incident_id: UUID
    body: str

    api, actions = "updates", ("update",)


@handles(PublishIncidentUpdate)
def publish_update(desk: IncidentCommands, actor: Actor, c: PublishIncidentUpdate) -> Written:
    by = _who(actor)
    incident = desk._get(MassIncident, c.incident_id, "incident")
    incident.publish(by, c.body)
    written = desk._written(incident)
    return _deliver(desk, c.incident_id) or written


@dataclass(frozen=True)
class ResolveIncident(IncidentCommand):
    """Resolves the incident; every linked request still open is resolved with the answer (or,
    with `resolve_requests` False, is sent the answer and left to its agents)."""

    incident_id: UUID
    answer: str
    resolve_requests: bool = True

    api, actions = "resolution", ("resolve",)


@handles(ResolveIncident)
def resolve_incident(desk: IncidentCommands, actor: Actor, c: ResolveIncident) -> Written:
    by = _who(actor)
    incident = desk._get(MassIncident, c.incident_id, "incident")
    incident.resolve(by, c.answer, c.resolve_requests)
    written = desk._written(incident)
    return _deliver(desk, c.incident_id) or written


# -- linking and telling, shared by the handlers -----------------------------------------------
def _link(
    desk: IncidentCommands, incident_id: UUID, ticket_ids: tuple[UUID, ...], by: UUID | None
) -> Written | None:
    last: Written | None = None
    for start in range(0, len(ticket_ids), BATCH):
        batch = ticket_ids[start : start + BATCH]
        for attempt in range(ATTEMPTS):
            incident = desk._get(MassIncident, incident_id, "incident")
            new = incident.link(by, batch)
            if not new:
                break
            try:
                last = _tell(desk, incident, new)
                break
            except Conflict:
                if attempt == ATTEMPTS - 1:
                    raise
    return last


def _deliver(desk: IncidentCommands, incident_id: UUID) -> Written | None:
    """Tells every linked request what it has not been told yet, in atomic batches; idempotent.
    None when nothing was pending."""
    last: Written | None = None
    conflicts = 0
    while conflicts < ATTEMPTS:
        incident = desk._get(MassIncident, incident_id, "incident")
        pending = tuple(incident.pending(BATCH))
        if not pending:
            break
        try:
            last = _tell(desk, incident, pending)
        except Conflict:
            conflicts += 1  # a request changed meanwhile: this batch is decided again
    return last


def _tell(desk: IncidentCommands, incident: MassIncident, ticket_ids: tuple[UUID, ...]) -> Written:
    """Writes, for each request, what its requester is still to be told, and records it on the
    incident; one atomic save (Conflict if any of them changed meanwhile)."""
    tickets = [desk._get(Ticket, t, "request") for t in ticket_ids]
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
    return Written(incident.id, desk._save(incident, *told), incident.version)


# -- the registry: every command by its API segment and by its form's name --------------------
COMMANDS: tuple[type[IncidentCommand], ...] = tuple(HANDLERS)
BY_API: dict[str, type[IncidentCommand]] = {c.api: c for c in COMMANDS if c.api}
BY_ACTION: dict[str, type[IncidentCommand]] = {a: c for c in COMMANDS for a in c.actions}
