"""Sessions, accounts, API tokens, and the desk's set-up of people and categories (web/api.py's
session routes, web/admin.py)."""

from __future__ import annotations

import typing
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.category import FieldType
from domain.people import GroupKind, Role
from web.api_schema.common import (
    AFTER,
    Answer,
    Moment,
    Operation,
    Position,
    Sent,
    Version,
    Written,
    in_path,
)

SECRET = Meta(description="Never logged nor stored in clear.")


class SignIn(Sent, kw_only=True):
    login: str
    password: Annotated[str, SECRET]


class SignedIn(Answer, kw_only=True):
    """The session cookie is set; send this token as X-CSRF-Token on every state change."""

    account: UUID
    csrf_token: str


class Me(Answer, kw_only=True):
    id: UUID
    roles: list[Role]
    organisation: UUID | None
    groups: list[UUID]


class ChangePassword(Sent, kw_only=True):
    """My password: wrong current passwords are throttled like sign-ins; on success my API
    tokens and other sessions end, this one stays."""

    current: Annotated[str, SECRET]
    new: Annotated[str, SECRET]


class ResetPassword(Sent, kw_only=True):
    password: Annotated[str, SECRET]


class PasswordReset(Answer, kw_only=True):
    """A password set: the account's command answer and how many sessions and tokens ended."""

    id: UUID
    position: Position
    version: int
    ended: int


class PasswordChanged(PasswordReset, kw_only=True):
    message: str


class IssueToken(Sent, kw_only=True):
    name: str


class ApiToken(Answer, kw_only=True):
    id: UUID
    name: str
    created: Moment
    last_used: Moment | None


class IssuedToken(Answer, kw_only=True):
    """A new API token; `secret` is shown this once (send it as `Authorization: Bearer`)."""

    id: UUID
    name: str
    secret: str


class RegisterAccount(Sent, kw_only=True):
    login: str
    display_name: str
    roles: list[Role]
    password: Annotated[str, SECRET]
    organisation: UUID | None = None
    email: str = ""
    phone: Annotated[str, Meta(description="A requester's phone: line 1 finds him by it.")] = ""


class ChangeRoles(Sent, kw_only=True):
    roles: list[Role]


class RegisterOrganisation(Sent, kw_only=True):
    name: str
    inn: Annotated[str, Meta(description="The taxpayer number (10 or 12 digits, checked).")]
    kpp: Annotated[
        str,
        Meta(
            description="The tax registration reason code (9 characters: 4 "
            "digits, 2 digits or capital Latin letters, 3 digits), if any."
        ),
    ] = ""
    legal_address: str = ""
    postal_address: str = ""


class EditOrganisation(Sent, kw_only=True):
    """An organisation's name, KPP and addresses as a whole (a field left out is emptied); the
    INN is its key and stays. Send the version you saw (If-Match or `version`): another change
    stored meanwhile answers 409 with the current version."""

    name: str
    kpp: Annotated[str, Meta(description="As when registering: 9 characters, or empty.")] = ""
    legal_address: str = ""
    postal_address: str = ""
    version: Version | UnsetType = UNSET


class FormGroup(Sent, kw_only=True):
    name: str
    kind: GroupKind


class AppointLead(Sent, kw_only=True):
    """An active agent of the group, or null: no lead. Low ratings' follow-ups go to the lead."""

    lead_id: UUID | None


class FormField(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One field of a category's form (`choices` for a choice field)."""

    key: str
    label_ru: str
    label_en: str
    type: FieldType
    required: bool = False
    choices: list[str] = []


class DefineCategory(Sent, kw_only=True):
    name_ru: str
    name_en: str
    form: list[FormField] = []
    default_group: UUID | None = None
    parent: UUID | None = None


class FieldHelpText(Answer, kw_only=True):
    text_ru: str
    text_en: str


class ChangeForm(Sent, kw_only=True):
    form: list[FormField]
    help: Annotated[
        dict[str, FieldHelpText] | None,
        Meta(
            description="The help text under each field, by the field's key (a field without "
            "one has none); left out or null: kept as they are, a field taken out taking its "
            "text along."
        ),
    ] = None


class Category(Answer, kw_only=True):
    id: UUID
    name_ru: str
    name_en: str
    parent_id: UUID | None
    form: list[FormField]
    default_group_id: UUID | None
    help: Annotated[
        dict[str, FieldHelpText],
        Meta(description="The help text shown under a field of the form, by the field's key."),
    ]


class GroupRow(Answer, kw_only=True):
    id: UUID
    name: str
    kind: GroupKind
    lead_id: UUID | None


class StaffMember(Answer, kw_only=True):
    id: UUID
    login: str
    display_name: str
    roles: list[Role]
    groups: list[UUID]


class Directory(Answer, kw_only=True):
    """Groups and active staff, for assigning and transferring."""

    groups: list[GroupRow]
    staff: list[StaffMember]


ACCOUNT = in_path("account_id")
BODY_REFUSED = (400, 401, 403, 404, 413, 415, 422)
OPERATIONS = [
    Operation("post", "/api/v1/session",
              "Sign in; sets the session cookie, returns the CSRF token", SignedIn, SignIn,
              refusals=(400, 401, 413, 415, 422, 429)),
    Operation("delete", "/api/v1/session", "Sign out", None, bodiless=True, refusals=(403,)),
    Operation("get", "/api/v1/me", "Who am I", Me, refusals=(401,)),
    Operation("post", "/api/v1/me/password",
              "Change my password (ends my API tokens and other sessions; this one stays)",
              PasswordChanged, ChangePassword, refusals=(400, 401, 403, 404, 413, 415, 422, 429)),
    Operation("get", "/api/v1/me/tokens", "My API tokens", list[ApiToken], refusals=(401,)),
    Operation("post", "/api/v1/me/tokens", "Issue an API token (its secret is shown once)",
              IssuedToken, IssueToken, status=201, refusals=BODY_REFUSED),
    Operation("delete", "/api/v1/me/tokens/{token_id}", "Revoke an API token", None,
              params=(in_path("token_id"),), bodiless=True, refusals=(401, 403, 404)),
    Operation("post", "/api/v1/accounts", "Register an account (administrators)", Written,
              RegisterAccount, status=201, refusals=BODY_REFUSED),
    Operation("post", "/api/v1/accounts/{account_id}/{action}",
              "Disable or enable an account (administrators; a disabled one's sessions end)",
              Written, params=(ACCOUNT, in_path("action", typing.Literal["disable", "enable"])),
              bodiless=True),
    Operation("put", "/api/v1/accounts/{account_id}/password",
              "Reset an account's password (administrators; its sessions and tokens end)",
              PasswordReset, ResetPassword, params=(ACCOUNT,), refusals=BODY_REFUSED),
    Operation("put", "/api/v1/accounts/{account_id}/roles",
              "Change an account's roles (administrators; its sessions end)", Written,
              ChangeRoles, params=(ACCOUNT,), refusals=BODY_REFUSED),
    Operation("post", "/api/v1/accounts/{account_id}/groups/{group_id}",
              "Add an account to a group", Written, params=(ACCOUNT, in_path("group_id")),
              bodiless=True),
    Operation("delete", "/api/v1/accounts/{account_id}/groups/{group_id}",
              "Take an account out of a group", Written, params=(ACCOUNT, in_path("group_id")),
              bodiless=True),
    Operation("post", "/api/v1/organisations", "Register an organisation", Written,
              RegisterOrganisation, status=201, refusals=BODY_REFUSED),
    Operation("put", "/api/v1/organisations/{organisation_id}",
              "Edit an organisation's name, KPP and addresses (administrators; send the version "
              "you saw)", Written, EditOrganisation, params=(in_path("organisation_id"),),
              refusals=(*BODY_REFUSED, 409)),
    Operation("post", "/api/v1/groups", "Form a group", Written, FormGroup, status=201,
              refusals=BODY_REFUSED),
    Operation("put", "/api/v1/groups/{group_id}/lead", "Appoint a group's lead", Written,
              AppointLead, params=(in_path("group_id"),), refusals=BODY_REFUSED),
    Operation("get", "/api/v1/categories", "Categories and their forms (public)", list[Category],
              params=(AFTER,), refusals=()),
    Operation("post", "/api/v1/categories", "Define a category (administrators)", Written,
              DefineCategory, status=201, refusals=BODY_REFUSED),
    Operation("put", "/api/v1/categories/{category_id}/form", "Change a category's form",
              Written, ChangeForm, params=(in_path("category_id"),), refusals=BODY_REFUSED),
    Operation("get", "/api/v1/directory", "Groups and active staff (staff)", Directory,
              refusals=(401, 403)),
]  # fmt: skip
