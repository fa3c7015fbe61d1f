"""Organisations, accounts and groups: who files requests and who works them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from domain import eis_fields
from domain.chain import ChainedAggregate
from domain.eis_fields import is_valid_inn as is_valid_inn  # the one definition, used here too
from domain.errors import InvalidInput, InvalidTransition
from domain.i18n import lazy
from domain.notifications import check_choices
from domain.phones import checked_phone


class Role(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    METHODOLOGIST = "methodologist"
    ANALYST = "analyst"
    DEVELOPER = "developer"
    OPERATIONS = "operations"
    QUALITY = "quality"
    CURATOR = "curator"
    AUDITOR = "auditor"
    ADMIN = "admin"


class GroupKind(StrEnum):
    LINE_1 = "line1"
    LINE_2 = "line2"
    LINE_3 = "line3"
    METHODOLOGY = "methodology"
    ANALYTICS = "analytics"
    DEVELOPMENT = "development"
    OPERATIONS = "operations"
    QUALITY = "quality"

    @property
    def line(self) -> int | None:
        """The support line (1-3) a group of this kind works, if it is a line."""
        return {"line1": 1, "line2": 2, "line3": 3}.get(self.value)


def clean_text(value: str, field: str, *, max_length: int = 200) -> str:
    """Strips `value` and refuses it when empty or too long, naming the field."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty.", [field])
    if len(text) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters.", [field])
    return text


class Organisation(ChainedAggregate):
    """An organisation whose employees file requests: its name, INN (claimed: unique), KPP and
    legal and postal addresses (the last three added by issue 18: an organisation registered
    before has them empty until an administrator edits it)."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        name: str
        inn: str
    kpp = ""  # class defaults: an organisation whose events predate them reads them empty
    legal_address = ""
    postal_address = ""

    class Registered(ChainedAggregate.Created):
        name: str
        inn: str
        kpp: str = ""  # added later with a default: older events decode and hash as stored
        legal_address: str = ""
        postal_address: str = ""

        def apply(self, aggregate: Any) -> None:
            org = cast(Organisation, aggregate)
            org.name, org.inn = self.name, self.inn
            org.kpp, org.legal_address, org.postal_address = (
                self.kpp, self.legal_address, self.postal_address)  # fmt: skip

    @classmethod
    def register(cls, name: str, inn: str, kpp: str = "", legal_address: str = "",
                 postal_address: str = "") -> Organisation:  # fmt: skip
        name = clean_text(name, "name")
        inn = inn.strip()
        if not is_valid_inn(inn):
            raise InvalidInput(
                f"INN {inn!r} is not valid: it must be 10 or 12 digits with correct check digits.",
                ["inn"],
            )
        details = checked_details(kpp, legal_address, postal_address)
        return cls._start(cls.Registered, name=name, inn=inn, kpp=details[0],
                          legal_address=details[1], postal_address=details[2])  # fmt: skip

    class Renamed(ChainedAggregate.Event):
        name: str

        def apply(self, aggregate: Any) -> None:
            cast(Organisation, aggregate).name = self.name

    def rename(self, name: str) -> None:
        self.trigger_event(self.Renamed, name=clean_text(name, "name"))

    class DetailsChanged(ChainedAggregate.Event):
        by: UUID | None
        kpp: str
        legal_address: str
        postal_address: str

        def apply(self, aggregate: Any) -> None:
            org = cast(Organisation, aggregate)
            org.kpp, org.legal_address, org.postal_address = (
                self.kpp, self.legal_address, self.postal_address)  # fmt: skip

    def change_details(self, by: UUID | None, kpp: str, legal_address: str,
                       postal_address: str) -> None:  # fmt: skip
        """Records the KPP and addresses, when they differ from what the organisation holds."""
        details = checked_details(kpp, legal_address, postal_address)
        if details != (self.kpp, self.legal_address, self.postal_address):
            self.trigger_event(self.DetailsChanged, by=by, kpp=details[0],
                               legal_address=details[1], postal_address=details[2])  # fmt: skip


KPP_REFUSED = lazy(
    "KPP must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits."
)
ADDRESS_TOO_LONG = lazy("An address is at most 500 characters.")


def checked_details(kpp: str, legal_address: str, postal_address: str) -> tuple[str, str, str]:
    """An organisation's KPP (empty, or checked as domain/eis_fields.py checks a KPP field) and
    addresses (trimmed, at most 500 characters each), or InvalidInput naming the field."""
    code = ""
    if kpp.strip():
        try:
            code = eis_fields.kpp(kpp)
        except eis_fields.Refused:
            raise InvalidInput(KPP_REFUSED, ["kpp"]) from None
    addresses = []
    for name, value in (("legal_address", legal_address), ("postal_address", postal_address)):
        text = " ".join(value.split())
        if len(text) > 500:
            raise InvalidInput(ADDRESS_TOO_LONG, [name])
        addresses.append(text)
    return code, addresses[0], addresses[1]


class Account(ChainedAggregate):
    """A person who signs in: a requester or a member of the support staff."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        login: str
        display_name: str
        email: str
        roles: tuple[Role, ...]
        organisation_id: UUID | None
        group_ids: tuple[UUID, ...]
        disabled: bool
        legacy_password_hash: str  # from an old `PasswordSet`; "" once changed the new way
        away: bool  # set by AvailabilityChanged

    class_version = 2  # 2: `away` from registration on (a version 1 snapshot lacks it)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("away", False)

    class Registered(ChainedAggregate.Created):
        login: str
        display_name: str
        email: str
        roles: tuple[Role, ...]
        organisation_id: UUID | None
        phone: str = ""  # where line 1 finds a caller (issue 16); the aggregate keeps nothing

        def apply(self, aggregate: Any) -> None:
            a = cast(Account, aggregate)
            a.login, a.display_name, a.email = self.login, self.display_name, self.email
            a.roles, a.organisation_id = self.roles, self.organisation_id
            a.group_ids, a.disabled, a.legacy_password_hash = (), False, ""
            a.away = False

    @classmethod
    def register(
        cls,
        login: str,
        display_name: str,
        roles: tuple[Role, ...],
        organisation_id: UUID | None = None,
        email: str = "",
        phone: str = "",
    ) -> Account:
        login = clean_text(login, "login", max_length=64).lower()
        if not all(c.isalnum() or c in "._-@" for c in login):
            raise InvalidInput("login may hold only letters, digits and . _ - @", ["login"])
        if not roles:
            raise InvalidInput("An account needs at least one role.", ["roles"])
        if Role.REQUESTER in roles and organisation_id is None:
            raise InvalidInput("A requester must belong to an organisation.", ["organisation"])
        return cls._start(
            cls.Registered,
            login=login,
            display_name=clean_text(display_name, "display_name"),
            email=email.strip(),
            roles=tuple(dict.fromkeys(roles)),
            organisation_id=organisation_id,
            phone=checked_phone(phone),  # always given: the chain link covers every field
        )

    class JoinedGroup(ChainedAggregate.Event):
        group_id: UUID

        def apply(self, aggregate: Any) -> None:
            a = cast(Account, aggregate)
            a.group_ids = (*a.group_ids, self.group_id)

    def join(self, group_id: UUID) -> None:
        if group_id not in self.group_ids:
            self.trigger_event(self.JoinedGroup, group_id=group_id)

    class LeftGroup(ChainedAggregate.Event):
        group_id: UUID

        def apply(self, aggregate: Any) -> None:
            a = cast(Account, aggregate)
            a.group_ids = tuple(g for g in a.group_ids if g != self.group_id)

    def leave(self, group_id: UUID) -> None:
        if group_id in self.group_ids:
            self.trigger_event(self.LeftGroup, group_id=group_id)

    class RolesChanged(ChainedAggregate.Event):
        roles: tuple[Role, ...]

        def apply(self, aggregate: Any) -> None:
            cast(Account, aggregate).roles = self.roles

    def change_roles(self, roles: tuple[Role, ...]) -> None:
        if not roles:
            raise InvalidInput("An account needs at least one role.", ["roles"])
        self.trigger_event(self.RolesChanged, roles=tuple(dict.fromkeys(roles)))

    class Disabled(ChainedAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            cast(Account, aggregate).disabled = True

    def disable(self) -> None:
        if not self.disabled:
            self.trigger_event(self.Disabled)

    class Enabled(ChainedAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            cast(Account, aggregate).disabled = False

    def enable(self) -> None:
        if self.disabled:
            self.trigger_event(self.Enabled)

    class AvailabilityChanged(ChainedAggregate.Event):
        """The agent is away (leave, lunch, a course) or back: automatic assignment skips him."""

        away: bool

        def apply(self, aggregate: Any) -> None:
            cast(Account, aggregate).away = self.away

    def set_away(self, away: bool) -> None:
        if self.away != away:
            self.trigger_event(self.AvailabilityChanged, away=away)

    class NotificationPreferencesSet(ChainedAggregate.Event):
        """How the person wants each kind of notification (domain/notifications.py): kind ->
        app, email, both or off (kinds left out keep their default), and his letters' language.
        The notifications view keeps them; the aggregate keeps nothing."""

        choices: dict[str, str]
        language: str

    def set_notification_preferences(self, choices: dict[str, str], language: str) -> None:
        self.trigger_event(self.NotificationPreferencesSet,
                           choices=check_choices(choices, language), language=language)  # fmt: skip

    class NotificationsRead(ChainedAggregate.Event):
        """The person read his notifications up to this log position (a watermark)."""

        up_to: int

    def mark_notifications_read(self, up_to: int) -> None:
        if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to < 0:
            raise InvalidInput("up_to_position must be a position (0 or more).", ["up_to_position"])
        self.trigger_event(self.NotificationsRead, up_to=up_to)

    class PasswordSet(ChainedAggregate.Event):
        """Old stores only, never written any more: it carried the argon2id hash itself. The
        event stays readable (the chain covers it); sign-in copies its hash into the
        credentials table (web/credentials.py) and exports redact it (web/audit_export.py)."""

        password_hash: str

        def apply(self, aggregate: Any) -> None:
            cast(Account, aggregate).legacy_password_hash = self.password_hash

    class PasswordChanged(ChainedAggregate.Event):
        """The password was changed, by the account itself or by an administrator (`by`).

        Credentials are secrets, not history: the hash lives in the credentials table beside
        the sessions, never in an event."""

        by: UUID | None  # None: the system (demo data, set-up scripts)

        def apply(self, aggregate: Any) -> None:
            cast(Account, aggregate).legacy_password_hash = ""

    def record_password_change(self, by: UUID | None) -> None:
        self.trigger_event(self.PasswordChanged, by=by)


class Group(ChainedAggregate):
    """A team that works a queue: a support line or a specialist group, with at most one lead
    (an agent of the group: low ratings' follow-ups go to the lead)."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        name: str
        kind: GroupKind
        lead_id: UUID | None

    class_version = 2  # 2: `lead_id` from formation on (a version 1 snapshot lacks it)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("lead_id", None)

    class Formed(ChainedAggregate.Created):
        name: str
        kind: GroupKind

        def apply(self, aggregate: Any) -> None:
            g = cast(Group, aggregate)
            g.name, g.kind, g.lead_id = self.name, self.kind, None

    @classmethod
    def form(cls, name: str, kind: GroupKind) -> Group:
        return cls._start(cls.Formed, name=clean_text(name, "name"), kind=GroupKind(kind))

    class LeadAppointed(ChainedAggregate.Event):
        lead_id: UUID | None  # None: the group has no lead any more

        def apply(self, aggregate: Any) -> None:
            cast(Group, aggregate).lead_id = self.lead_id

    @property
    def lead(self) -> UUID | None:
        return self.lead_id

    def appoint_lead(self, lead_id: UUID | None) -> None:
        if lead_id == self.lead:
            raise InvalidTransition("That is already the group's lead.")
        self.trigger_event(self.LeadAppointed, lead_id=lead_id)
