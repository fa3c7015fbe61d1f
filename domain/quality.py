"""The quality checklist: what reviewers score a resolved request on, and how much each counts.

One `QualityChecklist` aggregate (a fixed id, like the SLA set-up) holds the items; the quality
group edits it. A review (`Ticket.QualityReviewed`) scores every item 0 (no), 1 (partly) or
2 (yes); a review's score is its weighted points over the weighted maximum, and roll-ups divide
the summed points by the summed maxima, so every figure is an exact ratio of integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid5

from domain.chain import ChainedAggregate
from domain.errors import InvalidInput
from domain.setup_document import SetupDocument

QUALITY_CHECKLIST_ID = uuid5(UUID("5d0c2a53-5bd1-4c39-9a57-6b2f1d8f2a11"), "suz:quality")
MAX_ITEM_SCORE = 2  # 0 no, 1 partly, 2 yes
LOW_RATING = 2  # ratings of 1 or 2 raise a follow-up
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    name: str
    weight: int = 1


DEFAULT_ITEMS = (
    ChecklistItem("correct", "Correct answer", 3),
    ChecklistItem("complete", "Complete", 2),
    ChecklistItem("polite", "Polite", 1),
    ChecklistItem("template", "Template used properly", 1),
    ChecklistItem("sla", "Within SLA", 1),
)


class QualityChecklist(SetupDocument):
    FIXED_ID = QUALITY_CHECKLIST_ID

    if TYPE_CHECKING:
        items: tuple[ChecklistItem, ...]

    class Started(ChainedAggregate.Created):
        def apply(self, aggregate: Any) -> None:
            cast(QualityChecklist, aggregate).items = DEFAULT_ITEMS

    class Changed(ChainedAggregate.Event):
        by: UUID | None
        items: tuple[ChecklistItem, ...]

        def apply(self, aggregate: Any) -> None:
            cast(QualityChecklist, aggregate).items = self.items

    def change(self, by: UUID | None, items: tuple[ChecklistItem, ...]) -> None:
        if not items:
            raise InvalidInput("The checklist needs at least one item.", ["items"])
        keys = [i.key for i in items]
        if len(set(keys)) != len(keys) or not all(_KEY.fullmatch(k) for k in keys):
            raise InvalidInput("Item keys are unique, lower-case latin.", ["key"])
        if any(not i.name.strip() or len(i.name) > 200 for i in items):
            raise InvalidInput("Every item needs a name (up to 200 characters).", ["name"])
        if any(not 1 <= i.weight <= 10 for i in items):
            raise InvalidInput("A weight is a whole number from 1 to 10.", ["weight"])
        cleaned = tuple(ChecklistItem(i.key, i.name.strip(), i.weight) for i in items)
        self.trigger_event(self.Changed, by=by, items=cleaned)

    def score(self, scores: dict[str, int]) -> tuple[tuple[tuple[str, int], ...], int, int]:
        """The scores in checklist order, the weighted points and the weighted maximum."""
        if set(scores) != {i.key for i in self.items}:
            raise InvalidInput("Score every item of the checklist.", ["scores"])
        if any(
            not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_ITEM_SCORE
            for v in scores.values()
        ):
            raise InvalidInput("Each item scores 0, 1 or 2.", ["scores"])
        ordered = tuple((i.key, scores[i.key]) for i in self.items)
        points = sum(scores[i.key] * i.weight for i in self.items)
        return ordered, points, sum(MAX_ITEM_SCORE * i.weight for i in self.items)
