"""What the administrators' account, group and category pages share: who may open them (the
policy line of the command they send), reading a form's text, the version a form showed, and a
refusal turned into a message at the field it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request

from domain.access import Setup, may_set_up
from domain.chain import ChainedAggregate
from domain.errors import Conflict, DeskError, NotFound
from domain.results import Written
from web.auth import services
from web.ui import i18n
from web.ui.guard import NotAllowed, Viewer, need
from web.ui.i18n import lazy
from web.ui.refusals import translated

A = TypeVar("A", bound=ChainedAggregate)

# Refusals whose English names a value (an f-string, so never in the catalogue): what the page
# says instead, by the field the refusal names and how its message starts.
_NAMED = {
    ("login", "Login "): lazy("This login is taken."),
    ("inn", "An organisation with INN"): lazy("An organisation with this INN is registered."),
    ("inn", "INN "): lazy("The INN must be 10 or 12 digits with correct check digits."),
    ("password", "The password must be at least"): lazy("The password is too short."),
    ("password", "The password must be at most"): lazy("The password is too long."),
}


def allowed(viewer: Viewer, policy: Setup) -> None:
    """The page is for whoever the policy lets send its command (domain/access.py); anybody
    else is refused before the form is read."""
    need(viewer)
    if not may_set_up(viewer.actor, policy):
        raise NotAllowed


def text(form: FormData, name: str, limit: int = 2000) -> str:
    return str(form.get(name) or "").strip()[:limit]


def version(form: FormData) -> int:
    """The version the form showed (-1, never stored, when it lost it: a conflict)."""
    value = text(form, "version")
    return int(value) if value.isdigit() else -1


def uuid_or_none(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def problem(e: DeskError) -> tuple[int, dict[str, str], str]:
    """A refusal as the page shows it: its status (409 for a stale form, 404, else 422), the
    message by field (for the field it names) and the message for the top of the form."""
    message = translated(e.message)
    for (field, start), said in _NAMED.items():
        if field in e.fields and e.message.startswith(start):
            message = i18n.gettext(said)
    if isinstance(e, Conflict):
        return (
            409,
            {},
            i18n.gettext(
                "Someone changed this meanwhile; nothing was saved. Reload the page to see the "
                "current state, then make your change again."
            ),
        )
    if isinstance(e, NotFound):
        return 404, {}, message
    return 422, {f: message for f in e.fields}, message


async def caught_up(request: Request, written: Written) -> None:
    """Waits (a few seconds at most) until the catalogue view shows what was just written."""
    positions = services(request).projections.positions
    await positions.wait_async("catalog", written.position, 5.0)


async def load(request: Request, cls: type[A], aggregate_id: UUID | None, missing: str) -> A:
    """One aggregate of the desk by id, or NotFound saying `missing`."""

    def get() -> object:
        try:
            return services(request).desk.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    found = await run_in_threadpool(get) if aggregate_id is not None else None
    if not isinstance(found, cls):
        raise NotFound(missing)
    return found


HISTORY_EVENTS = 200  # the newest events of an aggregate its page lists


@dataclass(frozen=True)
class Step:
    """One event of an account, group or category, as its page lists it."""

    when: datetime
    what: str
    detail: str
    kind: str = ""  # the event's class name


def history(request: Request, aggregate_id: UUID, names: dict[str, str],
            detail: Callable[[str, Any], str]) -> list[Step]:  # fmt: skip
    """The aggregate's newest events that `names` names (event class -> what the page says),
    newest first, read from the log (called in a worker thread)."""
    steps = []
    e: Any
    for e in services(request).desk.repository.event_store.get(
        aggregate_id, desc=True, limit=HISTORY_EVENTS
    ):
        kind = type(e).__name__
        if kind in names:
            steps.append(Step(e.timestamp, i18n.gettext(names[kind]), detail(kind, e), kind))
    return steps
