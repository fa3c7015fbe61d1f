"""Set-up documents: the desk's routing rules, SLA set-up, trigger rules and quality checklist.

Each is one aggregate under a fixed id, read whole and replaced whole against the version its
editor saw (web/setup_document.py serves them all as GET with an ETag and PUT with If-Match).
The base holds what they share: starting under the fixed id, loading (or starting, never saved,
when no one set it up yet) and refusing a replacement decided on another version. Each keeps its
own events: their topics are stored, so they stay where they were defined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

from domain.chain import ChainedAggregate, check_seen, load_or_start


class SetupDocument(ChainedAggregate):
    """A set-up aggregate kept under `FIXED_ID`, created by its own `Started` event."""

    FIXED_ID: ClassVar[UUID]
    if TYPE_CHECKING:
        Started: ClassVar[type[ChainedAggregate.Created]]

    @classmethod
    def start(cls) -> Self:
        return cls._start(cls.Started, id=cls.FIXED_ID)

    @classmethod
    def load(cls, repository: Any) -> Self:
        """The stored document, or a fresh one (version 0 until its first change is saved)."""
        return load_or_start(repository, cls.FIXED_ID, cls.start)

    def check_seen(self, expected_version: int | None) -> None:
        """Refuses a replacement decided on another version than the stored one (None: any)."""
        check_seen(self, expected_version)
