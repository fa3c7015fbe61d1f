"""What every set-up command is, what its handler may ask of the desk, and its registration.

A set-up command is a frozen dataclass (`RegisterAccount(login, display_name, roles, ...)`) whose
`policy` names its line in the access policy (domain/access.py `SETUP_POLICY`). The dispatcher
(domain/setup/dispatch.py) checks that line before anything is loaded; the one handler registered
with `@handles` for the command then loads what it needs, decides and saves, and answers
`Written`. Commands that one aggregate decides alone (`AccountChange`, `ArticleChange`) carry
their decision (`decide`) and share one handler that loads, lets them decide and saves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.access import Actor, Setup
from domain.article import Article, KnowledgeSetup
from domain.chain import ChainedAggregate
from domain.claim import Claim
from domain.incidents import Triggers
from domain.quality import QualityChecklist
from domain.results import Written
from domain.routing import Routing
from domain.sla_setup import SlaSetup

A = TypeVar("A", bound=ChainedAggregate)


@dataclass(frozen=True)
class SetupCommand:
    """What every set-up command declares (its fields are its own)."""

    policy: ClassVar[Setup]
    action: ClassVar[str | None] = None  # the path segment or button that sends it, if one does

    @property
    def about_account(self) -> UUID | None:
        """The account the command is about, for policy lines that let it act on itself."""
        return None


@dataclass(frozen=True)
class AccountCommand(SetupCommand):
    account_id: UUID

    @property
    def about_account(self) -> UUID | None:
        return self.account_id


class Ports(Protocol):
    """What handlers may ask of the desk."""

    def save(self, *aggregates: Any) -> Any: ...
    def _get(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...
    def _save(self, *aggregates: ChainedAggregate) -> int: ...
    def _written(self, aggregate: ChainedAggregate) -> Written: ...
    def _unique(self, aggregate: ChainedAggregate, claim: Claim, taken: str,
                field: str) -> Written: ...  # fmt: skip
    def _next_number(self) -> int: ...
    def _give_back_number(self, number: int) -> None: ...
    def article(self, actor: Actor, article_id: UUID) -> Article: ...
    def routing(self) -> Routing: ...
    def sla_setup(self) -> SlaSetup: ...
    def triggers(self) -> Triggers: ...
    def quality_checklist(self) -> QualityChecklist: ...
    def knowledge_setup(self) -> KnowledgeSetup: ...


C = TypeVar("C", bound=SetupCommand)
Handler = Callable[[Ports, Actor, Any], Written]
HANDLERS: dict[type[SetupCommand], Handler] = {}


def handles(kind: type[C]) -> Callable[[Callable[[Ports, Actor, C], Written]], Handler]:
    """Registers the one handler of a command type (a second registration is a bug)."""

    def register(handler: Callable[[Ports, Actor, C], Written]) -> Handler:
        assert HANDLERS.setdefault(kind, handler) is handler, f"{kind.__name__}: two handlers"
        return handler

    return register


def changed(desk: Ports, cls: type[A], aggregate_id: UUID, what: str,
            change: Callable[[A], object]) -> Written:  # fmt: skip
    """Loads one aggregate, lets `change` decide on it, and saves what it recorded."""
    aggregate = desk._get(cls, aggregate_id, what)
    change(aggregate)
    return desk._written(aggregate)


def saved(desk: Ports, *aggregates: ChainedAggregate) -> int | None:
    """Saves the aggregates atomically: the log position of the last event, or None when
    another writer got in first (the handler then decides again on fresh state)."""
    try:
        recordings = desk.save(*aggregates)
    except IntegrityError:
        return None
    return int(recordings[-1].notification.id)
