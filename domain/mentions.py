"""@mentions in internal notes: which staff a note's `@handles` name (issue 16).

A handle is `@login` (an account's login, as it signs in) or `@group-handle`: a group's name in
lower case with every run of characters other than letters and digits made one `-` ("Линия 2 —
1С" is `@линия-2-1с`). A login wins over a group of the same handle; two groups whose names give
the same handle are both named. A group names its members who are active staff at that moment.
Handles are matched without regard to case, and not inside a word or an e-mail address
(`ivan@example.ru` mentions nobody).

Only staff are ever named: a requester's login, a disabled account, an unknown handle stay plain
text and refuse nothing (what Zendesk and Zammad do: a note is never lost for a typo), and the
note's author is never among those it names (domain/ticket.py `add_note`).

What a mention gives: the event's `mentions` (notifications tell those people, the tickets view
puts the request in their "Mentioned me" queue) and nothing in the access policy: every member of
staff already reads every request and its internal notes (domain/access.py `may_see`,
docs/security.md), so a consulted colleague of another line reads it and writes notes on it as
his role allows, and takes no other action his role does not allow. Should staff reading ever be
narrowed to their lines, the mention is the fact to widen it by (projections/queues.py
`mentioned_on` reads who was mentioned on a request).

The directory is read from the event log itself, as domain/numbers.py reads the claims: once from
the start, then only what was stored since, up to the log's head at the moment a note with a `@`
is decided. So a mention is resolved against the accounts and groups as they are now, in every
process, with no view in between that could lag.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.access import STAFF
from domain.people import Account, Group

BATCH = 1000
_EVENTS = (
    Account.Registered, Account.JoinedGroup, Account.LeftGroup, Account.RolesChanged,
    Account.Disabled, Account.Enabled, Group.Formed,
)  # fmt: skip
TOPICS = [get_topic(c) for c in _EVENTS]
# `@` not after a letter, digit or another handle's character (so not in an e-mail address)
MENTION = re.compile(r"(?<![\w.@+-])@(\w[\w.@-]*)")
_NOT_HANDLE = re.compile(r"[\W_]+")


def group_handle(name: str) -> str:
    """A group's handle: its name in lower case, runs of other characters than letters and
    digits made one `-`."""
    return _NOT_HANDLE.sub("-", name.lower()).strip("-")


def handles_in(text: str) -> list[str]:
    """The `@handles` written in `text`, in lower case, in order, each once (without the `@`)."""
    return list(dict.fromkeys(m.group(1).lower() for m in MENTION.finditer(text)))


@dataclass
class _Person:
    login: str
    staff: bool
    disabled: bool = False
    groups: set[UUID] = field(default_factory=set)

    @property
    def mentionable(self) -> bool:
        return self.staff and not self.disabled


@dataclass(frozen=True)
class Mentions:
    """Whom a note names: the accounts (in the order written) and the handles that named them."""

    accounts: tuple[UUID, ...] = ()
    handles: tuple[str, ...] = ()


class Directory:
    """Logins and groups of the desk, as the log says they are now."""

    def __init__(self, app: Any) -> None:
        self._app = app  # the Desk: its recorder and mapper
        self._lock = threading.Lock()
        self._read_up_to = 0
        self._people: dict[UUID, _Person] = {}
        self._logins: dict[str, UUID] = {}
        self._groups: dict[str, set[UUID]] = {}  # handle -> the groups of that handle

    def resolve(self, text: str, author: UUID | None = None) -> Mentions:
        """The staff `text`'s handles name, never `author`; handles that name nobody are left
        out (they stay plain text in the note)."""
        written = handles_in(text)
        if not written:
            return Mentions()
        with self._lock:
            self._catch_up()
            accounts: dict[UUID, None] = {}
            handles: list[str] = []
            for token in written:
                handle, named = self._named(token)
                named = [a for a in named if a != author]
                if handle and named:
                    handles.append(handle)
                    accounts.update(dict.fromkeys(named))
            return Mentions(tuple(accounts), tuple(dict.fromkeys(handles)))

    def _named(self, token: str) -> tuple[str, list[UUID]]:
        """The handle `token` spells (a sentence's full stop after it is not part of it) and
        the active staff it names."""
        candidates = [token]
        stripped = token.rstrip(".-@")
        if stripped and stripped != token:
            candidates.append(stripped)
        for handle in candidates:
            account = self._logins.get(handle)
            if account is not None:  # a login wins over a group of the same handle
                person = self._people[account]
                return (handle, [account]) if person.mentionable else ("", [])
            groups = self._groups.get(handle)
            if groups:
                members = sorted(
                    (i for i, p in self._people.items() if p.mentionable and p.groups & groups),
                    key=lambda i: self._people[i].login,
                )
                return handle, members
        return "", []

    def _catch_up(self) -> None:
        recorder = self._app.recorder
        head = int(recorder.max_notification_id() or 0)
        while self._read_up_to < head:
            batch = recorder.select_notifications(
                start=self._read_up_to, limit=BATCH, stop=head, topics=TOPICS,
                inclusive_of_start=False,
            )  # fmt: skip
            for notification in batch:
                self._apply(self._app.mapper.to_domain_event(notification))
            self._read_up_to = batch[-1].id if len(batch) == BATCH else head

    def _apply(self, e: Any) -> None:
        who = e.originator_id
        if isinstance(e, Account.Registered):
            self._people[who] = _Person(e.login, bool(STAFF.intersection(e.roles)))
            self._logins[e.login.lower()] = who
        elif isinstance(e, Group.Formed):
            self._groups.setdefault(group_handle(e.name), set()).add(who)
        elif who in self._people:
            person = self._people[who]
            if isinstance(e, Account.JoinedGroup):
                person.groups.add(e.group_id)
            elif isinstance(e, Account.LeftGroup):
                person.groups.discard(e.group_id)
            elif isinstance(e, Account.RolesChanged):
                person.staff = bool(STAFF.intersection(e.roles))
            else:
                person.disabled = isinstance(e, Account.Disabled)


_DIRECTORIES: weakref.WeakKeyDictionary[Any, Directory] = weakref.WeakKeyDictionary()
_MADE = threading.Lock()


def directory(app: Any) -> Directory:
    """The desk's directory, made on its first use."""
    with _MADE:
        found = _DIRECTORIES.get(app)
        if found is None:
            found = _DIRECTORIES[app] = Directory(app)
        return found
