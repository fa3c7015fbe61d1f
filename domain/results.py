"""What commands answer: the ids, log positions and versions they wrote."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Written:
    """What a command wrote: the log position of its last event and the aggregate's version."""

    id: UUID
    position: int
    version: int


@dataclass(frozen=True)
class FiledTicket(Written):
    number: int
    visitor_key: str | None = None  # the private link's key of an anonymous request; shown once
