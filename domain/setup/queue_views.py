"""Saved views of the desk's list (issue 18): a filter and a sort kept under a name, personal
or shared with the whole desk. A view is an aggregate (its history is its events); the desk's
sidebar reads them from the view projections/queue_views.py.

Who may: any member of staff saves his own views; a personal view is its owner's alone (nobody
else learns it exists); a shared one is changed or deleted by its owner or an administrator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from domain.access import Actor, Setup
from domain.chain import ChainedAggregate, check_seen
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.people import Role
from domain.queue_filter import from_query
from domain.results import Written
from domain.setup.base import Ports, SetupCommand, handles

MAX_NAME = 80


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InvalidInput("Give the view a name.", ["name"])
    if len(name) > MAX_NAME:
        raise InvalidInput("A view's name is at most 80 characters.", ["name"])
    return name


def _query(text: str) -> str:
    return from_query(text).query()  # checked, and always spelled the one way


class QueueView(ChainedAggregate):
    """A saved filter of the desk's list."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        owner_id: UUID
        name: str
        query: str
        shared: bool
        deleted: bool

    class Saved(ChainedAggregate.Created):
        owner_id: UUID
        name: str
        query: str
        shared: bool

        def apply(self, aggregate: Any) -> None:
            v = cast(QueueView, aggregate)
            v.owner_id, v.name, v.query = self.owner_id, self.name, self.query
            v.shared = self.shared
            v.deleted = False

    @classmethod
    def save_new(cls, owner_id: UUID, name: str, query: str, shared: bool) -> QueueView:
        return cls._start(cls.Saved, owner_id=owner_id, name=_name(name), query=_query(query),
                          shared=shared)  # fmt: skip

    class Changed(ChainedAggregate.Event):
        name: str
        query: str
        shared: bool

        def apply(self, aggregate: Any) -> None:
            v = cast(QueueView, aggregate)
            v.name, v.query, v.shared = self.name, self.query, self.shared

    def change(self, name: str, query: str, shared: bool) -> None:
        self.check_alive()
        name, query = _name(name), _query(query)
        if (name, query, shared) != (self.name, self.query, self.shared):
            self.trigger_event(self.Changed, name=name, query=query, shared=shared)

    class Deleted(ChainedAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            cast(QueueView, aggregate).deleted = True

    def delete(self) -> None:
        self.check_alive()
        self.trigger_event(self.Deleted)

    def check_alive(self) -> None:
        if self.deleted:
            raise NotFound("No such view.")


_NOT_YOURS = Forbidden("Only its owner or an administrator may change a shared view.")


def _own(desk: Ports, actor: Actor, view_id: UUID) -> QueueView:
    """The view, if the actor may change it: its owner, or an administrator for a shared one
    (a personal view of someone else does not exist for him)."""
    view = desk._get(QueueView, view_id, "view")
    if view.owner_id == actor.id:
        return view
    if not view.shared or view.deleted:
        raise NotFound("No such view.")
    if not actor.has(Role.ADMIN):
        raise _NOT_YOURS
    return view


@dataclass(frozen=True)
class SaveQueueView(SetupCommand):
    """Saves a new view (`view_id` None) or changes one against the version its form showed."""

    name: str
    query: str  # the filter and sort, as the list's query string
    shared: bool = False
    view_id: UUID | None = None
    expected_version: int | None = None

    policy = Setup.QUEUE_VIEWS


@handles(SaveQueueView)
def save_queue_view(desk: Ports, actor: Actor, c: SaveQueueView) -> Written:
    if c.view_id is None:
        assert actor.id is not None  # the policy line: an account's own act
        return desk._written(QueueView.save_new(actor.id, c.name, c.query, c.shared))
    view = _own(desk, actor, c.view_id)
    check_seen(view, c.expected_version)
    view.change(c.name, c.query, c.shared)
    return desk._written(view)


@dataclass(frozen=True)
class DeleteQueueView(SetupCommand):
    view_id: UUID

    policy = Setup.QUEUE_VIEWS


@handles(DeleteQueueView)
def delete_queue_view(desk: Ports, actor: Actor, c: DeleteQueueView) -> Written:
    view = _own(desk, actor, c.view_id)
    view.delete()
    return desk._written(view)
