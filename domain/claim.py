"""Claims: unique keys (a ticket number, a login) taken atomically with the aggregate they name.

A claim's id is derived from its key, so two writers claiming the same key collide on the
event store's (id, version) constraint and exactly one wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.chain import ChainedAggregate


def claim_id(key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"suz:claim:{key}")


class Claim(ChainedAggregate):
    """Records that `key` belongs to `owner_id`."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        key: str
        owner_id: UUID

    class Taken(ChainedAggregate.Created):
        key: str
        owner_id: UUID

        def apply(self, aggregate: Any) -> None:
            c = cast(Claim, aggregate)
            c.key, c.owner_id = self.key, self.owner_id

    @classmethod
    def take(cls, key: str, owner_id: UUID) -> Claim:
        return cls._start(cls.Taken, id=claim_id(key), key=key, owner_id=owner_id)
