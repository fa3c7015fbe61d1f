"""CSI follow-ups and quality review: commands of the Desk (a mixin, like SlaCommands).

A low rating's follow-up is for the lead of the request's group (`Group.lead`, appointed by an
administrator); a group without a lead leaves it to any of its agents. A quality reviewer may
always follow up. Curators and auditors read, never write.
`raise_follow_up` is the follow-up process's command and is idempotent (once per rating).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from domain.access import Actor
from domain.chain import ChainedAggregate, check_seen
from domain.errors import Conflict, DeskError, Forbidden, InvalidTransition
from domain.people import Group, Role
from domain.quality import ChecklistItem, QualityChecklist
from domain.results import Written
from domain.ticket import Ticket

A = TypeVar("A", bound=ChainedAggregate)


def may_lead_follow_up(actor: Actor, group_id: UUID | None, lead_id: UUID | None) -> bool:
    if actor.has(Role.QUALITY):
        return True
    if lead_id is not None:
        return actor.id == lead_id
    return actor.has(Role.AGENT) and group_id is not None and group_id in actor.group_ids


class QualityCommands:
    if TYPE_CHECKING:
        repository: Any

        def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...

        def _written(self, aggregate: ChainedAggregate) -> Written: ...

    def quality_checklist(self) -> QualityChecklist:
        return QualityChecklist.load(self.repository)

    def set_quality_checklist(self, actor: Actor, items: tuple[ChecklistItem, ...],
                              expected_version: int | None = None) -> Written:  # fmt: skip
        if not actor.has(Role.QUALITY):
            raise Forbidden("Only a quality reviewer may change the checklist.")
        checklist = self.quality_checklist()
        check_seen(checklist, expected_version)
        checklist.change(actor.id, items)
        return self._written(checklist)

    def raise_follow_up(self, ticket_id: UUID, rated_version: int, score: int) -> Written | None:
        """Records the follow-up of a low rating once (None when it exists already)."""
        for _attempt in range(5):
            ticket = self._get(Ticket, ticket_id, "request")
            if not ticket.raise_follow_up(rated_version, score):
                return None
            try:
                return self._written(ticket)
            except Conflict:
                continue
        return None

    def finish_follow_up(self, actor: Actor, ticket_id: UUID, rated_version: int,
                         note: str) -> Written:  # fmt: skip
        ticket = self._get(Ticket, ticket_id, "request")
        if rated_version not in ticket.follow_ups:
            raise InvalidTransition("There is no such follow-up on this request.")
        lead = self._get(Group, ticket.group_id, "group").lead if ticket.group_id else None
        if actor.id is None or not may_lead_follow_up(actor, ticket.group_id, lead):
            raise Forbidden("Only the group's lead (or, without one, its agents) or a quality"
                            " reviewer may follow up.")  # fmt: skip
        ticket.finish_follow_up(actor.id, rated_version, note)
        return self._written(ticket)

    def review_quality(self, actor: Actor, ticket_id: UUID, scores: dict[str, int],
                       comment: str = "") -> Written:  # fmt: skip
        if actor.id is None or not actor.has(Role.QUALITY):
            raise Forbidden("Only a quality reviewer may review requests.")
        ordered, points, most = self.quality_checklist().score(scores)
        for _attempt in range(5):
            ticket = self._get(Ticket, ticket_id, "request")
            ticket.review_quality(actor.id, ordered, points, most, comment)
            try:
                return self._written(ticket)
            except Conflict:
                continue
        raise DeskError("The request keeps changing; try again.")
