"""CSI follow-ups and quality review of the Desk by method (a mixin, like SlaCommands).

The commands are data with their handlers in domain/setup/quality.py and
domain/setup/documents.py (`SetQualityChecklist`); who may send each is the access policy's
(domain/access.py). The methods here only build a command and hand it to the dispatcher.
`raise_follow_up` is the follow-up process's command and is idempotent (once per rating).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.access import Actor
from domain.quality import ChecklistItem, QualityChecklist
from domain.results import Written
from domain.setup.base import SetupCommand
from domain.setup.documents import SetQualityChecklist
from domain.setup.quality import FinishFollowUp, RaiseFollowUp, ReviewQuality


class QualityCommands:
    if TYPE_CHECKING:
        repository: Any

        def handle(self, actor: Actor, command: SetupCommand) -> Written: ...
        def send(self, command: SetupCommand) -> Written | None: ...

    def quality_checklist(self) -> QualityChecklist:
        return QualityChecklist.load(self.repository)

    def set_quality_checklist(self, actor: Actor, items: tuple[ChecklistItem, ...],
                              expected_version: int | None = None) -> Written:  # fmt: skip
        """Builds `SetQualityChecklist` and hands it to `handle`."""
        return self.handle(actor, SetQualityChecklist(items, expected_version))

    def raise_follow_up(self, ticket_id: UUID, rated_version: int, score: int) -> Written | None:
        """Sends `RaiseFollowUp` as the system: None when the follow-up exists already."""
        return self.send(RaiseFollowUp(ticket_id, rated_version, score))

    def finish_follow_up(self, actor: Actor, ticket_id: UUID, rated_version: int,
                         note: str) -> Written:  # fmt: skip
        """Builds `FinishFollowUp` and hands it to `handle`."""
        return self.handle(actor, FinishFollowUp(ticket_id, rated_version, note))

    def review_quality(self, actor: Actor, ticket_id: UUID, scores: dict[str, int],
                       comment: str = "") -> Written:  # fmt: skip
        """Builds `ReviewQuality` and hands it to `handle`."""
        return self.handle(actor, ReviewQuality(ticket_id, scores, comment))
