"""The errors the desk raises when a command cannot be carried out; the web maps them to 4xx."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID


class DeskError(Exception):
    """Base of every refusal: `code` is stable for clients, the message says what to fix."""

    code = "desk_error"

    def __init__(self, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.fields = tuple(fields)


class NotFound(DeskError):
    """Raised when the thing named does not exist (or may not be seen by the actor)."""

    code = "not_found"


class Forbidden(DeskError):
    """Raised when the actor's roles do not allow the command."""

    code = "forbidden"


class InvalidInput(DeskError):
    """Raised when a value is malformed; `fields` names the fields at fault."""

    code = "invalid_input"


class MissingFields(InvalidInput):
    """Raised when a request lacks data its category requires; `fields` lists what is missing."""

    code = "missing_fields"


class InvalidTransition(DeskError):
    """Raised when a command makes no sense in the ticket's current status."""

    code = "invalid_transition"


class Conflict(DeskError):
    """Raised when a command was written against a stale version of an aggregate."""

    code = "conflict"

    def __init__(self, aggregate_id: UUID, expected: int | None, current: int) -> None:
        super().__init__(
            f"This was changed meanwhile: you saw version {expected}, it is now at {current}. "
            "Reload, read what changed, and try again."
        )
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.current = current


class AlreadyReceived(DeskError):
    """Raised when a letter (by its Message-ID) was taken in before: a re-delivery, not news."""

    code = "already_received"

    def __init__(self, ticket_id: UUID) -> None:
        super().__init__(f"This letter was taken in before, into request {ticket_id}.")
        self.ticket_id = ticket_id
