"""Quality review and CSI follow-ups: a reviewer's scores on a request, and a low rating's
follow-up (raised once by the follow-up process, finished by the group's lead).

A follow-up is for the lead of the request's group (`Group.lead`, appointed by an administrator);
a group without a lead leaves it to any of its agents; a quality reviewer may always follow up
(domain/access.py `may_follow_up`). Curators and auditors read, never write.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.access import FOLLOW_UP, Actor, Setup, may_follow_up
from domain.errors import Conflict, DeskError, Forbidden, InvalidTransition
from domain.i18n import lazy
from domain.people import Group
from domain.results import Written
from domain.setup.base import Ports, SetupCommand, handles
from domain.ticket import Ticket
from domain.tickets.commands import Unchanged, who

ATTEMPTS = 5


@dataclass(frozen=True)
class ReviewQuality(SetupCommand):
    """A reviewer's scores per checklist item (the checklist weighs them) and a comment."""

    ticket_id: UUID
    scores: dict[str, int]
    comment: str = ""

    policy = Setup.REVIEW_QUALITY


@handles(ReviewQuality)
def review_quality(desk: Ports, actor: Actor, c: ReviewQuality) -> Written:
    ordered, points, most = desk.quality_checklist().score(c.scores)
    for _attempt in range(ATTEMPTS):
        ticket = desk._get(Ticket, c.ticket_id, "request")
        ticket.review_quality(who(actor), ordered, points, most, c.comment)
        try:
            return desk._written(ticket)
        except Conflict:
            continue
    raise DeskError(lazy("The request keeps changing; try again."))


@dataclass(frozen=True)
class FinishFollowUp(SetupCommand):
    """The lead has spoken to the requester about the rating given at `rated_version`."""

    ticket_id: UUID
    rated_version: int
    note: str

    policy = Setup.FINISH_FOLLOW_UP


@handles(FinishFollowUp)
def finish_follow_up(desk: Ports, actor: Actor, c: FinishFollowUp) -> Written:
    ticket = desk._get(Ticket, c.ticket_id, "request")
    if c.rated_version not in ticket.follow_ups:
        raise InvalidTransition("There is no such follow-up on this request.")
    lead = desk._get(Group, ticket.group_id, "group").lead if ticket.group_id else None
    if not may_follow_up(actor, ticket.group_id, lead):
        raise Forbidden(FOLLOW_UP.message)
    ticket.finish_follow_up(who(actor), c.rated_version, c.note)
    return desk._written(ticket)


@dataclass(frozen=True)
class RaiseFollowUp(SetupCommand):
    """The follow-up process's: a low rating asks for a follow-up, once per rating (Unchanged
    when it exists already)."""

    ticket_id: UUID
    rated_version: int
    score: int

    policy = Setup.RAISE_FOLLOW_UP


@handles(RaiseFollowUp)
def raise_follow_up(desk: Ports, actor: Actor, c: RaiseFollowUp) -> Written:
    for _attempt in range(ATTEMPTS):
        ticket = desk._get(Ticket, c.ticket_id, "request")
        if not ticket.raise_follow_up(c.rated_version, c.score):
            raise Unchanged
        try:
            return desk._written(ticket)
        except Conflict:
            continue
    raise Unchanged
