"""The access policy: who may do what to a ticket, who may send each set-up command, and
which of a ticket's events each may see.

Pure functions of an Actor and a TicketScope (or a set-up command's line), so every web route,
query, pushed event and dispatcher asks the same questions and the whole matrix is unit-tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import Forbidden, NotFound
from domain.people import Role


class Command(StrEnum):
    FILE = "file"
    REPLY = "reply"
    WRITE = "write"  # the requester's message
    NOTE = "note"
    REQUEST_INFO = "request_info"
    PROVIDE_INFO = "provide_info"
    ASSIGN = "assign"
    TRANSFER = "transfer"
    ESCALATE = "escalate"
    PRIORITY = "priority"
    CATEGORY = "change_category"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    RATE = "rate"
    LINK = "link"
    ATTACH = "attach"
    RECEIVE_LETTER = "receive_letter"  # a letter threaded into the request: the mail intake's
    TAG = "tag"  # add or remove a staff label (issue 18)
    MERGE = "merge"  # close a request as a repeat of another (issue 18)
    SPLIT = "split"  # make one of a request's entries a request of its own (issue 18)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in account, or an anonymous visitor holding one ticket's link."""

    id: UUID | None
    roles: frozenset[Role]
    organisation_id: UUID | None = None
    group_ids: frozenset[UUID] = field(default_factory=frozenset)
    visitor_ticket_id: UUID | None = None

    @classmethod
    def visitor(cls, ticket_id: UUID | None = None) -> Actor:
        return cls(id=None, roles=frozenset(), visitor_ticket_id=ticket_id)

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF)

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


@dataclass(frozen=True)
class TicketScope:
    """The facts about a ticket the policy needs."""

    id: UUID
    requester_id: UUID | None
    organisation_id: UUID | None


WORKERS = frozenset(
    {Role.AGENT, Role.METHODOLOGIST, Role.ANALYST, Role.DEVELOPER, Role.OPERATIONS, Role.ADMIN}
)
STAFF = WORKERS | {Role.QUALITY, Role.CURATOR, Role.AUDITOR}
NOTE_WRITERS = WORKERS | {Role.QUALITY, Role.CURATOR}
CALL_TAKERS = WORKERS  # who registers a call for its caller (domain/calls.py): not requesters

_WORK = frozenset(
    {
        Command.REPLY,
        Command.NOTE,
        Command.REQUEST_INFO,
        Command.ASSIGN,
        Command.TRANSFER,
        Command.ESCALATE,
        Command.PRIORITY,
        Command.CATEGORY,
        Command.RESOLVE,
        Command.REOPEN,
        Command.CLOSE,
        Command.LINK,
        Command.ATTACH,
        Command.TAG,
        Command.MERGE,
        Command.SPLIT,
    }
)
_REQUESTER_OWN = frozenset(
    {Command.WRITE, Command.PROVIDE_INFO, Command.REOPEN, Command.RATE, Command.ATTACH}
)
_VISITOR_OWN = _REQUESTER_OWN - {Command.RATE}


def is_own(actor: Actor, ticket: TicketScope) -> bool:
    if actor.visitor_ticket_id is not None:
        return actor.visitor_ticket_id == ticket.id
    return actor.id is not None and actor.id == ticket.requester_id


def may_see(actor: Actor, ticket: TicketScope) -> bool:
    """Whether the ticket exists for this actor at all."""
    if actor.is_staff or is_own(actor, ticket):
        return True
    return (
        actor.has(Role.REQUESTER)
        and actor.organisation_id is not None
        and actor.organisation_id == ticket.organisation_id
    )


@dataclass(frozen=True)
class Seen:
    """Which requests an actor may see, as a list's query asks it (`may_see` for many): all,
    or only those of this requester, this organisation or this one request."""

    everything: bool = False
    requester_id: UUID | None = None
    organisation_id: UUID | None = None
    ticket_id: UUID | None = None


def requests_seen(actor: Actor) -> Seen:
    """`may_see` as a query's condition: a row passes it exactly when `may_see` says yes."""
    if actor.is_staff:
        return Seen(everything=True)
    if actor.visitor_ticket_id is not None:
        return Seen(ticket_id=actor.visitor_ticket_id)
    organisation = actor.organisation_id if actor.has(Role.REQUESTER) else None
    return Seen(requester_id=actor.id, organisation_id=organisation)


def may(actor: Actor, command: Command, ticket: TicketScope | None = None) -> bool:
    """Whether the actor may issue `command` (on `ticket`, unless it is FILE)."""
    if command is Command.FILE:
        anonymous = actor.id is None and not actor.roles and actor.visitor_ticket_id is None
        return anonymous or actor.has(Role.REQUESTER, *WORKERS)
    if ticket is None or not may_see(actor, ticket):
        return False
    if command is Command.RECEIVE_LETTER:  # the system's alone: no person sends a letter's command
        return actor.id is None and actor.visitor_ticket_id is None and actor.has(Role.ADMIN)
    if may_work(actor, command):
        return True
    if command is Command.NOTE:
        return False
    if is_own(actor, ticket):
        own = _VISITOR_OWN if actor.visitor_ticket_id is not None else _REQUESTER_OWN
        return command in own and (actor.visitor_ticket_id is not None or actor.has(Role.REQUESTER))
    return False


def may_work(actor: Actor, command: Command) -> bool:
    """Whether the actor's roles let him issue `command` on any request he sees, not only his
    own: what the staff's ticket page offers (the ticket is checked again when it runs)."""
    if command is Command.NOTE:
        return actor.has(*NOTE_WRITERS)
    return command in _WORK and actor.has(*WORKERS)


def check_work(actor: Actor, command: Command) -> None:
    """Raises Forbidden unless `may_work`: the refusal `check` gives on a request."""
    if not may_work(actor, command):
        raise Forbidden(_refusal(command))


def _refusal(command: Command) -> str:
    return f"Your role may not {command.value.replace('_', ' ')} on this request."


def check(actor: Actor, command: Command, ticket: TicketScope | None = None) -> None:
    """Raises NotFound when the ticket is invisible to the actor, Forbidden when not allowed."""
    if ticket is not None and not may_see(actor, ticket):
        raise NotFound("No such request.")
    if not may(actor, command, ticket):
        raise Forbidden(_refusal(command))


# -- set-up commands (domain/setup/): one line each, consulted by their dispatcher -------------
class Setup(StrEnum):
    """What a set-up command asks for; each command names its member as its `policy`."""

    REGISTER_ORGANISATION = "register_organisation"
    EDIT_ORGANISATION = "edit_organisation"
    REGISTER_ACCOUNT = "register_account"
    CHANGE_ROLES = "change_roles"
    EDIT_ACCOUNT = "edit_account"  # roles and groups as a whole, against a version
    JOIN_GROUP = "join_group"
    LEAVE_GROUP = "leave_group"
    DISABLE_ACCOUNT = "disable_account"
    ENABLE_ACCOUNT = "enable_account"
    SET_AWAY = "set_away"
    RECORD_PASSWORD_CHANGE = "record_password_change"
    FORM_GROUP = "form_group"
    APPOINT_GROUP_LEAD = "appoint_group_lead"
    DEFINE_CATEGORY = "define_category"
    CHANGE_CATEGORY_FORM = "change_category_form"
    ROUTING_RULES = "routing_rules"
    SLA_SETUP = "sla_setup"
    TRIGGER_RULES = "trigger_rules"
    QUALITY_CHECKLIST = "quality_checklist"
    DRAFT_ARTICLE = "draft_article"
    REVISE_ARTICLE = "revise_article"
    SUBMIT_ARTICLE = "submit_article"
    REVIEW_ARTICLE = "review_article"
    PUBLISH_ARTICLE = "publish_article"
    KB_REVIEW_RULE = "kb_review_rule"  # a second reviewer, or self-publication allowed
    ARCHIVE_ARTICLE = "archive_article"
    MARK_HELPFUL = "mark_helpful"
    RAISE_KNOWLEDGE_GAP = "raise_knowledge_gap"
    REVIEW_QUALITY = "review_quality"
    FINISH_FOLLOW_UP = "finish_follow_up"
    RAISE_FOLLOW_UP = "raise_follow_up"
    MANAGE_INCIDENTS = "manage_incidents"  # open, dismiss, update, resolve a mass incident
    LINK_TO_INCIDENT = "link_to_incident"  # each request is then checked as a link on it
    RUN_INCIDENTS = "run_incidents"  # the incident process's: fire, auto-link, deliver
    SET_NOTIFICATION_PREFERENCES = "set_notification_preferences"  # his own only
    MARK_NOTIFICATIONS_READ = "mark_notifications_read"  # his own only
    QUEUE_VIEWS = "queue_views"  # save, change, delete a saved view of the desk's list
    PLAN_RELEASE = "plan_release"  # release readiness (domain/setup/releases.py)
    EDIT_RELEASE = "edit_release"
    ADD_RELEASE_QUESTION = "add_release_question"  # line 1 too (its handler checks the line)
    LINK_RELEASE_QUESTION = "link_release_question"
    RELEASE_WATCHES = "release_watches"  # trigger rules watched for a release


@dataclass(frozen=True)
class Allowed:
    """One policy line: who may send a set-up command, and what everyone else is told."""

    roles: frozenset[Role]  # any one of them; empty: anybody, visitors too
    refused: Forbidden | None = None  # written as Forbidden("..."), so scripts/i18n finds it
    signed_in: bool = False  # an account's own act: never the system's or a visitor's
    own_account: bool = False  # the account the command is about may also send it
    only_own: bool = False  # only the account the command is about may send it, nobody else

    @property
    def refusal(self) -> str:
        return self.refused.message if self.refused else UNLISTED.message


UNLISTED = Forbidden("Your role may not do this.")  # a command without a line: deny by default
EDITORS = (Role.METHODOLOGIST, Role.ADMIN)  # who edits and publishes the knowledge base
TRIGGER_EDITORS = (Role.ADMIN, Role.ANALYST)
_ADMIN, _QUALITY = frozenset({Role.ADMIN}), frozenset({Role.QUALITY})
FOLLOW_UP = Forbidden("Only the group's lead (or, without one, its agents) or a quality reviewer"
                      " may follow up.")  # fmt: skip
ANYBODY = Allowed(frozenset())
ADMINS = Allowed(_ADMIN, Forbidden("Only an administrator may change the desk's set-up."))
KB_EDITORS = Allowed(
    frozenset(EDITORS),
    signed_in=True,
    refused=Forbidden("Only methodologists edit and publish the knowledge base."),
)
_AWAY = Forbidden("You may only say whether you yourself are away.")
_PASSWORD = Forbidden("Only the account itself or an administrator may set its password.")
_SLA = Forbidden("Only an administrator may change the SLA policies.")
_TRIGGERS = Forbidden("Only administrators and analysts set the trigger rules.")
_CHECKLIST = Forbidden("Only a quality reviewer may change the checklist.")
_GAPS = Forbidden("Knowledge gaps are raised by the support staff.")
_REVIEW = Forbidden("Only a quality reviewer may review requests.")
INCIDENT_MANAGERS = (Role.DEVELOPER, Role.OPERATIONS, Role.ADMIN)
_INCIDENTS = Forbidden("Only developers, operations and administrators manage mass incidents.")
_SIGN_IN = Forbidden("Sign in to do this.")
_OWN_NOTIFICATIONS = Forbidden("You may only change your own notifications.")
_QUEUE_VIEWS = Forbidden("Only the desk's staff save views of its queues.")
RELEASE_PLANNERS = frozenset({Role.METHODOLOGIST, Role.ANALYST, Role.CURATOR, Role.ADMIN})
_RELEASES = Forbidden("Only methodologists, analysts, curators and administrators plan releases.")
RELEASE_PLANNING = Allowed(RELEASE_PLANNERS, _RELEASES, signed_in=True)

SETUP_POLICY: dict[Setup, Allowed] = {
    Setup.REGISTER_ORGANISATION: ADMINS,
    Setup.EDIT_ORGANISATION: ADMINS,
    Setup.REGISTER_ACCOUNT: ADMINS,
    Setup.CHANGE_ROLES: ADMINS,
    Setup.EDIT_ACCOUNT: ADMINS,
    Setup.JOIN_GROUP: ADMINS,
    Setup.LEAVE_GROUP: ADMINS,
    Setup.DISABLE_ACCOUNT: ADMINS,
    Setup.ENABLE_ACCOUNT: ADMINS,
    Setup.SET_AWAY: Allowed(_ADMIN, _AWAY, own_account=True),
    Setup.RECORD_PASSWORD_CHANGE: Allowed(_ADMIN, _PASSWORD, own_account=True),
    Setup.FORM_GROUP: ADMINS,
    Setup.APPOINT_GROUP_LEAD: ADMINS,
    Setup.DEFINE_CATEGORY: ADMINS,
    Setup.CHANGE_CATEGORY_FORM: ADMINS,
    Setup.ROUTING_RULES: ADMINS,
    Setup.SLA_SETUP: Allowed(_ADMIN, _SLA),
    Setup.TRIGGER_RULES: Allowed(frozenset(TRIGGER_EDITORS), _TRIGGERS),
    Setup.QUALITY_CHECKLIST: Allowed(_QUALITY, _CHECKLIST),
    Setup.DRAFT_ARTICLE: KB_EDITORS,
    Setup.REVISE_ARTICLE: KB_EDITORS,
    Setup.SUBMIT_ARTICLE: KB_EDITORS,
    Setup.REVIEW_ARTICLE: KB_EDITORS,
    Setup.PUBLISH_ARTICLE: KB_EDITORS,
    Setup.KB_REVIEW_RULE: ADMINS,
    Setup.ARCHIVE_ARTICLE: KB_EDITORS,
    Setup.MARK_HELPFUL: ANYBODY,  # whoever may read the article (its handler reads it as him)
    Setup.RAISE_KNOWLEDGE_GAP: Allowed(STAFF - {Role.AUDITOR}, _GAPS, signed_in=True),
    Setup.REVIEW_QUALITY: Allowed(_QUALITY, _REVIEW, signed_in=True),
    # the lead's or, without one, the group's agents': the handler asks `may_follow_up`
    Setup.FINISH_FOLLOW_UP: Allowed(_QUALITY | {Role.AGENT}, FOLLOW_UP, signed_in=True),
    Setup.RAISE_FOLLOW_UP: Allowed(_ADMIN, UNLISTED),  # the follow-up process's (the system's)
    Setup.MANAGE_INCIDENTS: Allowed(frozenset(INCIDENT_MANAGERS), _INCIDENTS),
    # whoever may link the request (its handler checks Command.LINK on each)
    Setup.LINK_TO_INCIDENT: Allowed(frozenset(), _SIGN_IN, signed_in=True),
    Setup.RUN_INCIDENTS: Allowed(_ADMIN, UNLISTED),  # the incident process's (the system's)
    Setup.SET_NOTIFICATION_PREFERENCES: Allowed(frozenset(), _OWN_NOTIFICATIONS, only_own=True),
    Setup.MARK_NOTIFICATIONS_READ: Allowed(frozenset(), _OWN_NOTIFICATIONS, only_own=True),
    # his own views; a shared one also an administrator's (domain/setup/queue_views.py)
    Setup.QUEUE_VIEWS: Allowed(STAFF, _QUEUE_VIEWS, signed_in=True),
    Setup.PLAN_RELEASE: RELEASE_PLANNING,
    Setup.EDIT_RELEASE: RELEASE_PLANNING,
    Setup.LINK_RELEASE_QUESTION: RELEASE_PLANNING,
    # planners, and line 1's agents (the handler asks whether the agent works on line 1)
    Setup.ADD_RELEASE_QUESTION: Allowed(RELEASE_PLANNERS | {Role.AGENT}, _RELEASES, signed_in=True),
    # a watched trigger is a trigger rule: the trigger rules' own people
    Setup.RELEASE_WATCHES: Allowed(frozenset(TRIGGER_EDITORS), _TRIGGERS, signed_in=True),
}


def may_read_releases(actor: Actor) -> bool:
    """Releases are the staff's (line 1 prepares their questions); requesters never see them."""
    return actor.id is not None and actor.is_staff


def may_set_up(actor: Actor, command: Setup, account_id: UUID | None = None) -> bool:
    """Whether the actor may send a set-up command (about `account_id`, for the lines that
    let an account act on itself). A command without a line is refused."""
    line = SETUP_POLICY.get(command)
    if line is None:
        return False
    if line.signed_in and actor.id is None:
        return False
    if line.only_own:
        return actor.id is not None and actor.id == account_id
    if line.own_account and actor.id is not None and actor.id == account_id:
        return True
    return not line.roles or actor.has(*line.roles)


def check_setup(actor: Actor, command: Setup, account_id: UUID | None = None) -> None:
    """Raises Forbidden, with the line's own refusal, unless `may_set_up`."""
    if not may_set_up(actor, command, account_id):
        line = SETUP_POLICY.get(command)
        raise Forbidden(line.refusal if line else UNLISTED.message)


def may_follow_up(actor: Actor, group_id: UUID | None, lead_id: UUID | None) -> bool:
    """A low rating's follow-up is the lead's of the request's group (without a lead: any of
    its agents'); a quality reviewer may always follow up."""
    if actor.has(Role.QUALITY):
        return True
    if lead_id is not None:
        return actor.id == lead_id
    return actor.has(Role.AGENT) and group_id is not None and group_id in actor.group_ids


class Visibility(StrEnum):
    FULL = "full"
    REDACTED = "redacted"  # shown without the internal reasons
    HIDDEN = "hidden"


# Events a requester sees; the rest of a ticket's history is internal.
_PUBLIC_EVENTS = frozenset(
    {
        "Filed",
        "Replied",
        "RequesterWrote",
        "InformationRequested",
        "InformationProvided",
        "AttachmentAdded",
        "Resolved",
        "Reopened",
        "Closed",
        "Rated",
        "ArticleLinked",
    }
)
# Shown to a requester as "passed to line 2 / another group", never with the reason or person.
REDACTED_KEYS = {
    # the private link's key hash and the priority the staff gave are not the requester's
    "Filed": ("visitor_key_hash", "priority", "raised_by", "caller_phone"),
    "Escalated": ("reason", "by", "to_group_id"),
    "Transferred": ("reason", "by", "to_assignee_id", "to_group_id", "from_group_id"),
    # a merge (issue 18): the other request's number only when he may open it (`follow`)
    "MergedInto": ("by",),
    "SplitOff": ("by",),
    "SplitFrom": ("by",),
}
# Of a redacted event, what only its `follow` value lets the requester see.
_FOLLOWED = {"MergedInto": ("into_id", "into_number")}


def event_visibility(actor: Actor, event_name: str, data: dict[str, Any]) -> Visibility:
    """How much of a ticket event the actor may see (`data` is the event's own values)."""
    if actor.is_staff:
        return Visibility.FULL
    if event_name in REDACTED_KEYS:
        return Visibility.REDACTED
    if event_name not in _PUBLIC_EVENTS:
        return Visibility.HIDDEN
    attachment = data.get("attachment")
    if event_name == "AttachmentAdded" and getattr(attachment, "internal", False):
        return Visibility.HIDDEN
    if event_name == "ArticleLinked" and not data.get("public"):
        return Visibility.HIDDEN
    return Visibility.FULL


# A request's own facts as a requester sees them at any version (his page shows no more): never
# who works it, in which group or line, the priority the staff gave it, or what it is linked to.
_REQUESTER_STATE = frozenset(
    {"id", "version", "number", "kind", "channel", "status", "requester_id", "organisation_id",
     "category_id", "subject", "description", "fields", "urgency", "rating", "resolution",
     "created_on", "modified_on", "contact_name", "filed_at", "updated_at"}
)  # fmt: skip


def visible_state(actor: Actor, state: dict[str, Any]) -> dict[str, Any]:
    """A ticket's facts (`state`, by attribute name) as the actor may see them."""
    if actor.is_staff:
        return state
    return {k: v for k, v in state.items() if k in _REQUESTER_STATE}


def visible_data(actor: Actor, event_name: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The event's values as the actor may see them, or None when hidden."""
    visibility = event_visibility(actor, event_name, data)
    if visibility is Visibility.HIDDEN:
        return None
    if visibility is Visibility.REDACTED:
        hidden = REDACTED_KEYS[event_name]
        if not data.get("follow", True):
            hidden = (*hidden, *_FOLLOWED.get(event_name, ()))
        return {k: v for k, v in data.items() if k not in hidden}
    return data
