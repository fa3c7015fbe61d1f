"""Who is told what (issue 16): the in-app notifications and the mail outbox, on the pump.

For every event the view looks up `RULES` (one line per event class: which kind, told to whom)
and, for each recipient the rule names (never the actor himself), writes what his preferences
ask for: a row of his in-app list (`v_notifications`) and/or a letter to send (`mail_outbox`).
Both are written by the view's handlers, so they commit in the pump's transaction together with
the view's tracking position: a crash writes a letter neither twice nor never.

The in-app list, the people, groups and requests the rules read are a view like any other
(`tables`: a rebuild or a shape bump drops and replays them). The outbox is not: its tables
are made by this view's DDL (CREATE ... IF NOT EXISTS, exactly once) but are not in `tables`,
so no rebuild or shape bump ever drops or empties them. And no letter is ever written about
history:
- `mail_outbox_mark` holds `origin`, the position the outbox began at (recorded once, when
  its table is made: the highest position any view had reached, so a first start over an
  existing store writes no letter for what was there before), and `reached`, the highest
  position the view ever handled with the outbox in place;
- a letter is written only for an event above both: a rebuild (tracking back to 0) replays
  every event, refills the in-app list, and writes no letter, since everything it replays is
  at or below `reached`;
- the outbox key is (position, recipient, kind) with INSERT ... ON CONFLICT DO NOTHING: even a
  replay past those marks cannot make a second letter for one event and person;
- an event older than `MAIL_MAX_AGE` when it is projected is never mailed (a store restored
  under a fresh views database has no marks: its history then stays unmailed too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import orjson

from domain.access import STAFF
from domain.incidents import MassIncident
from domain.notifications import REQUESTER_KINDS, Kind, Via, default_via
from domain.people import Account, Group, GroupKind, Role
from domain.ticket import Channel, Ticket, TicketKind
from projections.base import View, on, select_in
from projections.db import Tx, insert_rows, update_rows
from projections.pg_text import pg_params

MAIL_MAX_AGE = timedelta(days=2)
ACKNOWLEDGED_CHANNELS = (Channel.EMAIL, Channel.PUBLIC_FORM, Channel.CABINET)
ALERTED_ROLES = (Role.DEVELOPER, Role.OPERATIONS)  # a proposal with no groups alerts these
ALERTED_KINDS = (GroupKind.DEVELOPMENT, GroupKind.OPERATIONS)
STAFF_ROLES = {r.value for r in STAFF}


# -- the facts the rules read ---------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """What the rules know of a request when an event of it arrives."""

    id: UUID
    number: int
    subject: str
    kind: TicketKind
    channel: Channel
    requester_id: UUID | None
    contact_email: str  # the anonymous contact's, "" for an account's request
    contact_name: str
    assignee_id: UUID | None
    group_id: UUID | None
    also: tuple[str, ...] = ()  # other addresses that wrote into it (a letter from a colleague)


@dataclass(frozen=True)
class Recipient:
    """An account, or an anonymous contact's address; `requester`: told as the request's
    requester (the outside), not as staff."""

    account: UUID | None
    email: str = ""
    requester: bool = False


@dataclass(frozen=True)
class Told:
    kind: Kind
    to: Recipient


class Directory(Protocol):
    """What the rules ask of the people and groups."""

    def lead_of(self, group_id: UUID) -> UUID | None: ...
    def alerted(self, group_ids: tuple[UUID, ...]) -> list[UUID]: ...
    def is_staff(self, account: UUID) -> bool: ...


def _requester(r: Request) -> Recipient | None:
    if r.kind is not TicketKind.REQUEST:
        return None
    if r.requester_id is not None:
        return Recipient(r.requester_id, requester=True)
    if r.contact_email:
        return Recipient(None, r.contact_email, requester=True)
    return None


def _requesters(r: Request) -> list[Recipient]:
    """The requester, and the other addresses that wrote into the request by e-mail."""
    first = _requester(r)
    if first is None:
        return []
    return [first, *(Recipient(None, a, requester=True) for a in r.also)]


def _staff(account: UUID | None) -> list[Recipient]:
    return [Recipient(account)] if account is not None else []


def _by_requester(e: Any, r: Request) -> bool:
    """Whether the event's actor is the request's requester (an anonymous one acts as None)."""
    by = getattr(e, "by", None)
    return (by is not None and by == r.requester_id) or (by is None and r.requester_id is None)


# -- the rules: one line per event class ------------------------------------------------------
# A rule answers, for an event of its class and the request as it stood before the event, who
# is told which kind. QUIET events tell nobody. tests/projections/test_notification_rules.py
# walks every Ticket and MassIncident event class: an unlisted class fails it.
Rule = Callable[[Any, Request, Directory], list[Told]]


def _acknowledge(e: Ticket.Filed, r: Request, d: Directory) -> list[Told]:
    to = _requester(r)
    return [Told(Kind.ACKNOWLEDGED, to)] if to and r.channel in ACKNOWLEDGED_CHANNELS else []


def _assigned(e: Any, r: Request, d: Directory) -> list[Told]:
    to = e.assignee_id if isinstance(e, Ticket.Assigned) else e.to_assignee_id
    kind = Kind.GAP_ASSIGNED if r.kind is TicketKind.KNOWLEDGE_GAP else Kind.ASSIGNED
    return [Told(kind, s) for s in _staff(to) if to != r.assignee_id]


def _to_requester(kind: Kind) -> Rule:
    def rule(e: Any, r: Request, d: Directory) -> list[Told]:
        return [Told(kind, to) for to in _requesters(r)]

    return rule


def _requester_answered(e: Any, r: Request, d: Directory) -> list[Told]:
    return [Told(Kind.REQUESTER_ANSWERED, s) for s in _staff(r.assignee_id)]


def _reopened(e: Ticket.Reopened, r: Request, d: Directory) -> list[Told]:
    if _by_requester(e, r):  # he reopened it: the one working it is told he answered
        return _requester_answered(e, r, d)
    return _to_requester(Kind.REOPENED)(e, r, d)


def _mentioned(e: Ticket.NoteAdded, r: Request, d: Directory) -> list[Told]:
    # `mentions` (the accounts, groups expanded) is being added to NoteAdded by the @mentions
    # work of issue 16; until it is there, a note mentions nobody
    return [Told(Kind.MENTIONED, Recipient(a)) for a in getattr(e, "mentions", ()) or ()]


def _sla(e: Ticket.SlaAlarmed, r: Request, d: Directory) -> list[Told]:
    kind = Kind.SLA_BREACH if e.alarm.endswith("_breach") else Kind.SLA_WARNING
    to = r.assignee_id or (d.lead_of(r.group_id) if r.group_id else None)
    return [Told(kind, s) for s in _staff(to)]


TICKET_RULES: dict[type, Rule] = {
    Ticket.Filed: _acknowledge,  # requester: number and link (e-mail, public form, cabinet)
    Ticket.Assigned: _assigned,  # the new assignee (a knowledge gap: "gap raised to you")
    Ticket.Transferred: _assigned,  # the new assignee, if one is named
    Ticket.Replied: _to_requester(Kind.REPLIED),  # public reply; incident notices are these
    Ticket.InformationRequested: _to_requester(Kind.INFORMATION_REQUESTED),  # with the form
    Ticket.Resolved: _to_requester(Kind.RESOLVED),  # with the rating link; incidents' answers
    Ticket.Reopened: _reopened,  # by staff: the requester; by the requester: the assignee
    Ticket.RequesterWrote: _requester_answered,  # the assignee
    Ticket.InformationProvided: _requester_answered,  # the assignee
    Ticket.NoteAdded: _mentioned,  # internal: staff mentioned in it, never the requester
    Ticket.SlaAlarmed: _sla,  # the assignee, else the group's lead
}
# Events that tell nobody: staff-only work, or what the requester did himself.
QUIET: frozenset[type] = frozenset({
    Ticket.Escalated, Ticket.PriorityChanged, Ticket.CategoryChanged, Ticket.AttachmentAdded,
    Ticket.Closed, Ticket.Rated, Ticket.Linked, Ticket.ArticleLinked, Ticket.FollowUpRaised,
    Ticket.FollowUpDone, Ticket.QualityReviewed, Ticket.TagAdded, Ticket.TagRemoved,
    # a merge tells the requester by its message (a Replied), a split by the new one's Filed
    Ticket.MergedInto, Ticket.MergedFrom, Ticket.SplitOff, Ticket.SplitFrom,
    MassIncident.Opened, MassIncident.Accepted, MassIncident.Dismissed, MassIncident.Linked,
    MassIncident.Unlinked, MassIncident.UpdatePublished, MassIncident.Resolved,
    MassIncident.Delivered,  # requesters are told by the Replied/Resolved it records on each
})  # fmt: skip


def proposal_told(e: MassIncident.Proposed, d: Directory) -> list[Told]:
    """A trigger's proposal: the groups the rule alerts, else developers and operations."""
    return [Told(Kind.INCIDENT_PROPOSED, Recipient(a)) for a in d.alerted(tuple(e.groups))]


def told(event: Any, request: Request | None, directory: Directory) -> list[Told]:
    """Who is told what of `event` (the request as it stood before it), never its actor."""
    if isinstance(event, MassIncident.Proposed):
        found = proposal_told(event, directory)
    else:
        rule = TICKET_RULES.get(type(event))
        found = rule(event, request, directory) if rule and request else []
    actor = getattr(event, "by", None)
    seen: set[tuple[Kind, Recipient]] = set()
    out = []
    for t in found:
        if (t.to.account is not None and t.to.account == actor) or (t.kind, t.to) in seen:
            continue
        if not t.to.requester and (t.to.account is None or not directory.is_staff(t.to.account)):
            continue  # staff news (a note's mention too) goes to staff only
        seen.add((t.kind, t.to))
        out.append(t)
    return out


# -- the view -------------------------------------------------------------------------------
def _s(value: object) -> str | None:
    return str(value) if value is not None else None


def _u(value: object) -> UUID | None:
    return UUID(str(value)) if value else None


class _Tables:
    """The directory the rules read, from the view's own tables in the batch's transaction.
    A group's lead and a person's staff roles are read once a batch (`leads`, `staff`: the
    view's, which drops an entry whenever it writes that group or person)."""

    def __init__(self, tx: Tx, leads: dict[str, UUID | None], staff: dict[str, bool]) -> None:
        self.tx, self.leads, self.staff = tx, leads, staff

    def lead_of(self, group_id: UUID) -> UUID | None:
        key = str(group_id)
        if key not in self.leads:
            row = self.tx.one("SELECT lead_id FROM v_notify_groups WHERE id = %s", (key,))
            self.leads[key] = _u(row[0]) if row else None
        return self.leads[key]

    def is_staff(self, account: UUID) -> bool:
        key = str(account)
        if key not in self.staff:
            row = self.tx.one("SELECT roles FROM v_notify_people WHERE id = %s", (key,))
            self.staff[key] = row is not None and bool(set(orjson.loads(row[0])) & STAFF_ROLES)
        return self.staff[key]

    def alerted(self, group_ids: tuple[UUID, ...]) -> list[UUID]:
        groups = [str(g) for g in group_ids] or [
            str(r[0]) for r in self.tx.all(
                "SELECT id FROM v_notify_groups WHERE kind IN (%s, %s)",
                [k.value for k in ALERTED_KINDS])
        ]  # fmt: skip
        found: list[UUID] = []
        for account, roles, member_of in self.tx.all(
            "SELECT id, roles, group_ids FROM v_notify_people WHERE disabled = 0 ORDER BY id"
        ):
            mine = set(orjson.loads(member_of))
            by_role = not group_ids and set(orjson.loads(roles)) & {r.value for r in ALERTED_ROLES}
            if mine.intersection(groups) or by_role:
                found.append(UUID(account))
        return found


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    language: str
    choices: dict[str, str]
    disabled: bool

    def via(self, kind: Kind) -> Via:
        chosen = self.choices.get(kind.value)
        if chosen is not None:
            return Via(chosen)
        return Via.EMAIL if kind is Kind.ACKNOWLEDGED else default_via(kind)


ANONYMOUS = Person("", "", "ru", {}, False)


TICKET_EVENTS = frozenset(
    c for c in (*TICKET_RULES, Ticket.Escalated) if issubclass(c, Ticket.Event)
)
NOTE_COLUMNS = ("account_id", "position", "kind", "ticket_id", "number", "subject", "link", "at")
PERSON_COLUMNS = "email, name, language, choices, disabled"
TICKET_COLUMNS = ("id", "number", "subject", "kind", "channel", "requester_id", "contact_email",
                  "contact_name", "assignee_id", "group_id", "also")  # fmt: skip
REQUEST_COLUMNS = ("number, subject, kind, channel, requester_id, contact_email, contact_name,"
                   " assignee_id, group_id, also")  # fmt: skip


def _request_of(ticket_id: UUID, row: tuple[Any, ...]) -> Request:
    return Request(ticket_id, int(row[0]), row[1], TicketKind(row[2]), Channel(row[3]),
                   _u(row[4]), row[5], row[6], _u(row[7]), _u(row[8]),
                   tuple(orjson.loads(row[9])))  # fmt: skip


def _person(row: Sequence[Any]) -> Person:
    return Person(row[0], row[1], row[2], orjson.loads(row[3]), bool(row[4]))


class NotificationsView(View):
    name = "notifications"
    tables = ("v_notifications", "v_notify_tickets", "v_notify_people", "v_notify_groups")
    shape = 1

    def __init__(self) -> None:
        self.begin()

    def ddl(self, dialect: str) -> list[str]:
        big = "BIGINT"
        real = "DOUBLE PRECISION"
        return [
            "CREATE TABLE IF NOT EXISTS v_notify_tickets (id TEXT PRIMARY KEY, number INTEGER"
            " NOT NULL, subject TEXT NOT NULL, kind TEXT NOT NULL, channel TEXT NOT NULL,"
            " requester_id TEXT, contact_email TEXT NOT NULL, contact_name TEXT NOT NULL,"
            " assignee_id TEXT, group_id TEXT, also TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS v_notify_people (id TEXT PRIMARY KEY, login TEXT NOT NULL,"
            " name TEXT NOT NULL, email TEXT NOT NULL, roles TEXT NOT NULL, group_ids TEXT NOT"
            " NULL, disabled INTEGER NOT NULL, language TEXT NOT NULL, choices TEXT NOT NULL,"
            f" read_upto {big} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS v_notify_groups (id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " lead_id TEXT)",
            f"CREATE TABLE IF NOT EXISTS v_notifications (account_id TEXT NOT NULL, position {big}"
            " NOT NULL, kind TEXT NOT NULL, ticket_id TEXT, number INTEGER NOT NULL, subject TEXT"
            " NOT NULL, link TEXT NOT NULL, at TEXT NOT NULL,"
            " PRIMARY KEY (account_id, position, kind))",
            # the outbox: made here once, never in `tables` (no rebuild drops or empties it)
            f"CREATE TABLE IF NOT EXISTS mail_outbox (position {big} NOT NULL, recipient TEXT NOT"
            " NULL, kind TEXT NOT NULL, ticket_id TEXT, address TEXT NOT NULL, language TEXT NOT"
            " NULL, payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,"
            f" next_at {real} NOT NULL, last_error TEXT NOT NULL, sent_at {real},"
            f" committed_at {real} NOT NULL, PRIMARY KEY (position, recipient, kind))",
            "CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (state, next_at)",
            f"CREATE TABLE IF NOT EXISTS mail_outbox_mark (id INTEGER PRIMARY KEY, origin {big}"
            f" NOT NULL, reached {big} NOT NULL)",
            # recorded once, when the outbox is made: the furthest any view had come
            "INSERT INTO mail_outbox_mark (id, origin, reached) SELECT 1, COALESCE(MAX(position),"
            " 0), COALESCE(MAX(position), 0) FROM v_tracking WHERE 1 = 1 ON CONFLICT DO NOTHING",
        ]

    def begin(self) -> None:
        self._mark: int | None = None  # letters only above this position (see the docstring)
        self._top = 0
        # the batch's requests and people as the view's tables hold them, read once a batch:
        # every write of this view to one of those rows changes or drops its entry too
        self._requests: dict[str, Request | None] = {}
        self._people: dict[str, Person | None] = {}
        self._leads: dict[str, UUID | None] = {}  # the same for groups' leads
        self._staff: dict[str, bool] = {}  # and for whether a person is staff
        self._notes: list[tuple[Any, ...]] = []  # the batch's in-app rows, written by `flush`
        self._moved: dict[str, tuple[str | None, str | None]] = {}  # request -> group, assignee
        self._filed: list[str] = []  # requests filed in the batch, inserted by `flush`

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """The stored requests of the batch's events (not those it files), in one query, and
        the outbox's mark (`_floor`): read here, with the batch's other reads, rather than by the
        first letter, where the read would wait for every write queued before it (the pump)."""
        if events:
            self._floor(tx)
        filed = {e.originator_id for _, e in events if isinstance(e, Ticket.Filed)}
        wanted = {str(e.originator_id) for _, e in events
                  if type(e) in TICKET_EVENTS and e.originator_id not in filed}  # fmt: skip
        for row in select_in(tx, f"SELECT id, {REQUEST_COLUMNS} FROM v_notify_tickets"
                             " WHERE id {keys}", wanted):  # fmt: skip
            self._requests[str(row[0])] = _request_of(UUID(str(row[0])), row[1:])
        # the people most told: the requesters and assignees of these requests (staff are few)
        people = {str(e.requester_id) for _, e in events
                  if isinstance(e, Ticket.Filed) and e.requester_id}  # fmt: skip
        for r in self._requests.values():
            if r is not None:
                people.update(str(p) for p in (r.requester_id, r.assignee_id) if p)
        for row in select_in(tx, f"SELECT id, {PERSON_COLUMNS} FROM v_notify_people"
                             " WHERE id {keys}", people):  # fmt: skip
            self._people[str(row[0])] = _person(row[1:])

    def flush(self, tx: Tx) -> None:
        insert_rows(tx, "v_notifications", NOTE_COLUMNS, self._notes,
                    conflict="ON CONFLICT DO NOTHING")  # fmt: skip
        self._notes = []
        filed = [(t, r) for t in self._filed if (r := self._requests.get(t)) is not None]
        insert_rows(tx, "v_notify_tickets", TICKET_COLUMNS,
                    [(t, r.number, r.subject, r.kind.value, r.channel.value, _s(r.requester_id),
                      r.contact_email, r.contact_name, _s(r.assignee_id), _s(r.group_id),
                      orjson.dumps(list(r.also)).decode()) for t, r in filed],
                    conflict="ON CONFLICT (id) DO NOTHING")  # fmt: skip
        new = {t for t, _ in filed}
        update_rows(tx, "v_notify_tickets", ("group_id", "assignee_id", "id"),
                    [(g, a, t) for t, (g, a) in self._moved.items() if t not in new],
                    key=("id",))  # fmt: skip
        self._moved, self._filed = {}, []
        if self._top and self._mark is not None and self._top > self._mark:
            tx.execute("UPDATE mail_outbox_mark SET reached = %s WHERE id = 1 AND reached < %s",
                       (self._top, self._top))  # fmt: skip

    def _floor(self, tx: Tx) -> int:
        if self._mark is None:
            row = tx.one("SELECT origin, reached FROM mail_outbox_mark WHERE id = 1")
            self._mark = max(int(row[0]), int(row[1])) if row else 0
        return self._mark

    # -- the facts ------------------------------------------------------------------------------
    @on(Account.Registered)
    def account_registered(self, tx: Tx, e: Account.Registered, position: int) -> None:
        tx.execute(
            "INSERT INTO v_notify_people (id, login, name, email, roles, group_ids, disabled,"
            " language, choices, read_upto) VALUES (%s, %s, %s, %s, %s, '[]', 0, 'ru', '{}', 0)"
            " ON CONFLICT (id) DO NOTHING",
            (str(e.originator_id), e.login, e.display_name, e.email,
             orjson.dumps([r.value for r in e.roles]).decode()),
        )  # fmt: skip
        self._people.pop(str(e.originator_id), None)
        self._staff.pop(str(e.originator_id), None)

    @on(Account.JoinedGroup, Account.LeftGroup)
    def membership(self, tx: Tx, e: Any, position: int) -> None:
        row = tx.one("SELECT group_ids FROM v_notify_people WHERE id = %s", (str(e.originator_id),))
        groups = [g for g in orjson.loads(row[0]) if g != str(e.group_id)] if row else []
        if isinstance(e, Account.JoinedGroup):
            groups.append(str(e.group_id))
        self._person(tx, e, "group_ids", orjson.dumps(groups).decode())
        self._people.pop(str(e.originator_id), None)

    @on(Account.RolesChanged)
    def roles_changed(self, tx: Tx, e: Account.RolesChanged, position: int) -> None:
        self._person(tx, e, "roles", orjson.dumps([r.value for r in e.roles]).decode())

    @on(Account.Disabled, Account.Enabled)
    def disabled(self, tx: Tx, e: Any, position: int) -> None:
        self._person(tx, e, "disabled", int(isinstance(e, Account.Disabled)))

    @on(Account.NotificationPreferencesSet)
    def preferences(self, tx: Tx, e: Account.NotificationPreferencesSet, position: int) -> None:
        tx.execute("UPDATE v_notify_people SET choices = %s, language = %s WHERE id = %s",
                   (orjson.dumps(dict(e.choices)).decode(), e.language,
                    str(e.originator_id)))  # fmt: skip
        self._people.pop(str(e.originator_id), None)

    @on(Account.NotificationsRead)
    def read(self, tx: Tx, e: Account.NotificationsRead, position: int) -> None:
        tx.execute("UPDATE v_notify_people SET read_upto = %s WHERE id = %s AND read_upto < %s",
                   (e.up_to, str(e.originator_id), e.up_to))  # fmt: skip

    def _person(self, tx: Tx, e: Any, column: str, value: object) -> None:
        tx.execute(f"UPDATE v_notify_people SET {column} = %s WHERE id = %s",
                   (value, str(e.originator_id)))  # fmt: skip
        self._people.pop(str(e.originator_id), None)
        self._staff.pop(str(e.originator_id), None)

    @on(Group.Formed)
    def group_formed(self, tx: Tx, e: Group.Formed, position: int) -> None:
        tx.execute("INSERT INTO v_notify_groups (id, kind) VALUES (%s, %s)"
                   " ON CONFLICT (id) DO NOTHING",
                   (str(e.originator_id), e.kind.value))  # fmt: skip
        self._leads.pop(str(e.originator_id), None)

    @on(Group.LeadAppointed)
    def lead_appointed(self, tx: Tx, e: Group.LeadAppointed, position: int) -> None:
        tx.execute("UPDATE v_notify_groups SET lead_id = %s WHERE id = %s",
                   (_s(e.lead_id), str(e.originator_id)))  # fmt: skip
        self._leads.pop(str(e.originator_id), None)

    # -- the requests ---------------------------------------------------------------------------
    @on(*TICKET_RULES, Ticket.Escalated)
    def ticket_event(self, tx: Tx, e: Any, position: int) -> None:
        if isinstance(e, Ticket.Filed):
            contact = e.contact
            values = (str(e.originator_id), e.number, e.subject, e.kind.value, e.channel.value,
                      _s(e.requester_id), contact.email if contact else "",
                      contact.name if contact else "")  # fmt: skip
            # inserted at the batch's end as it then stands (`flush`); until then this batch
            # reads it from `_requests`, as the table will have it (PostgreSQL: no NUL)
            self._filed.append(values[0])
            stored = pg_params(values) if tx.dialect == "postgres" else values
            self._requests[values[0]] = _request_of(e.originator_id,
                                                    (*stored[1:], None, None, "[]"))  # fmt: skip
        request = self._request(tx, e.originator_id)
        if request is None:
            return
        if type(e) in TICKET_RULES:
            self._tell(tx, e, position, request, told(e, request, self._tables(tx)))
        if isinstance(e, Ticket.Assigned | Ticket.Transferred | Ticket.Escalated):
            group = e.group_id if isinstance(e, Ticket.Assigned) else e.to_group_id
            assignee = None if isinstance(e, Ticket.Escalated) else (
                e.assignee_id if isinstance(e, Ticket.Assigned) else e.to_assignee_id)  # fmt: skip
            # written at the batch's end (`flush`); this batch reads it from `_requests`
            self._moved[str(e.originator_id)] = (_s(group), _s(assignee))
            request = self._requests[str(e.originator_id)] = replace(
                request, group_id=_u(group), assignee_id=_u(assignee))  # fmt: skip
        sender = getattr(e, "sender", "")  # a letter from another address (issue 16, mail in)
        if isinstance(e, Ticket.RequesterWrote) and sender and sender not in request.also:
            self._also(tx, e, request, sender)

    def _also(self, tx: Tx, e: Any, request: Request, sender: str) -> None:
        """Remembers another address that wrote into the request: it is told the replies too."""
        own = request.contact_email
        if request.requester_id is not None:
            person = self._person_of(tx, request.requester_id)
            own = person.email if person else ""
        if sender.lower() != own.lower():
            also = orjson.dumps([*request.also, sender]).decode()
            tx.execute("UPDATE v_notify_tickets SET also = %s WHERE id = %s",
                       (also, str(e.originator_id)))  # fmt: skip
            self._requests[str(e.originator_id)] = replace(request, also=(*request.also, sender))

    @on(MassIncident.Proposed)
    def proposed(self, tx: Tx, e: MassIncident.Proposed, position: int) -> None:
        self._tell(tx, e, position, None, told(e, None, self._tables(tx)))

    def _tables(self, tx: Tx) -> _Tables:
        return _Tables(tx, self._leads, self._staff)

    def _request(self, tx: Tx, ticket_id: UUID) -> Request | None:
        key = str(ticket_id)
        if key in self._requests:
            return self._requests[key]
        row = tx.one(f"SELECT {REQUEST_COLUMNS} FROM v_notify_tickets WHERE id = %s", (key,))
        found = self._requests[key] = _request_of(ticket_id, row) if row else None
        return found

    def _person_of(self, tx: Tx, account: UUID) -> Person | None:
        key = str(account)
        if key in self._people:
            return self._people[key]
        row = tx.one(f"SELECT {PERSON_COLUMNS} FROM v_notify_people WHERE id = %s", (key,))
        found = self._people[key] = _person(row) if row else None
        return found

    def _tell(self, tx: Tx, e: Any, position: int, request: Request | None,
              tolds: Iterable[Told]) -> None:  # fmt: skip
        at: datetime = e.timestamp
        self._top = max(self._top, position)
        mail = position > self._floor(tx) and datetime.now(UTC) - at <= MAIL_MAX_AGE
        for t in tolds:
            person = self._person_of(tx, t.to.account) if t.to.account else ANONYMOUS
            if person is None or person.disabled:
                continue
            via = person.via(t.kind) if t.to.account else Via.EMAIL
            if isinstance(e, MassIncident.Proposed):
                ticket_id, number, subject = None, 0, e.rule_name
                link = f"/incidents/{e.originator_id}"
            else:
                assert request is not None
                ticket_id, number, subject = str(request.id), request.number, request.subject
                link = f"/r/{request.id}" if t.to.requester else f"/t/{request.id}"
            if via.app and t.to.account is not None:
                self._notes.append((str(t.to.account), position, t.kind.value, ticket_id, number,
                                    subject, link, at.isoformat()))  # fmt: skip
            address = t.to.email or person.email
            if not (mail and via.email and address):
                continue
            payload = _payload(e, t, request, person, subject, number, link)
            tx.execute(
                "INSERT INTO mail_outbox (position, recipient, kind, ticket_id, address, language,"
                " payload, state, attempts, next_at, last_error, sent_at, committed_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'pending', 0, %s, '', NULL, %s)"
                " ON CONFLICT DO NOTHING",
                (position, str(t.to.account or t.to.email), t.kind.value, ticket_id, address,
                 person.language, orjson.dumps(payload).decode(), at.timestamp(),
                 at.timestamp()),
            )  # fmt: skip


def _payload(e: Any, t: Told, request: Request | None, person: Person, subject: str,
             number: int, link: str) -> dict[str, Any]:  # fmt: skip
    """What the letter says, fixed when the event is projected: the sender renders only this.
    A requester's letter carries only what his request page shows him."""
    p: dict[str, Any] = {
        "kind": t.kind.value, "number": number, "subject": subject, "link": link,
        "name": person.name or (request.contact_name if request else ""),
        "requester": t.to.requester, "anonymous": t.to.account is None,
    }  # fmt: skip
    if isinstance(e, Ticket.Replied | Ticket.Resolved) and t.to.requester:
        p["body"] = e.body if isinstance(e, Ticket.Replied) else e.resolution
    elif isinstance(e, Ticket.InformationRequested) and t.to.requester:
        p["body"], p["questions"], p["fields"] = e.message, list(e.questions), list(e.fields)
    elif isinstance(e, Ticket.Reopened) and t.to.requester:
        p["body"] = e.reason
    elif isinstance(e, Ticket.SlaAlarmed):
        p["alarm"], p["due"] = e.alarm, e.due.isoformat()
    elif isinstance(e, MassIncident.Proposed):
        p["count"] = e.count
    assert not t.to.requester or t.kind in REQUESTER_KINDS
    return p
