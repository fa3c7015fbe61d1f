"""Phone calls: line 1 registers a call on the caller's behalf and finds the caller."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from domain.ticket import Priority
from web.api_schema.common import AFTER, Answer, Sent, in_query
from web.api_schema.common import Operation as Op
from web.api_schema.tickets import Filed


class RegisterCall(Sent, kw_only=True):
    """A call line 1 took. The caller is an account (`caller`: a requester's, whose request it
    then is) or a contact (`contact_name`, and `contact_email` or `phone`, of `organisation` if
    known). The outcome: `resolution` (answered on the call: filed and resolved at once),
    `escalate_to` a line 2 group with a `reason`, or neither (left open where routing sends it)."""

    category: UUID
    subject: str
    description: str
    fields: Annotated[dict[str, Any], Meta(description="The category form's values, by key.")] = {}
    caller: UUID | UnsetType = UNSET
    contact_name: str | UnsetType = UNSET
    contact_email: str | UnsetType = UNSET
    phone: Annotated[str, Meta(description="The number the call came from.")] | UnsetType = UNSET
    organisation: UUID | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    resolution: str | UnsetType = UNSET
    escalate_to: UUID | UnsetType = UNSET
    reason: str | UnsetType = UNSET


class Caller(Answer, kw_only=True):
    """A requester's account (with his organisation) or an organisation."""

    id: UUID
    kind: Literal["account", "organisation"]
    name: str
    login: str
    email: str
    phone: str
    inn: str
    organisation_id: UUID | None
    organisation: Annotated[str, Meta(description="The organisation's name.")]


class Callers(Answer, kw_only=True):
    callers: list[Caller]


OPERATIONS = [
    Op("post", "/api/v1/calls", "Register a phone call on the caller's behalf (staff)", Filed,
       RegisterCall, status=201, refusals=(400, 401, 403, 409, 413, 415, 422)),
    Op("get", "/api/v1/callers", "Find a caller by name, INN, login, e-mail or phone (staff)",
       Callers, params=(in_query("q", str, "Words that must all match, or a phone number."),
                        in_query("organisation", UUID, "Instead: this organisation's people."),
                        AFTER), refusals=(401, 403)),
]  # fmt: skip
