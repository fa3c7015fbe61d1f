"""Organisations, accounts and groups: the administrators' commands, and the two an account may
send about itself (being away, a password change)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.access import Actor, Setup
from domain.chain import check_seen
from domain.claim import Claim
from domain.errors import InvalidInput, NotFound
from domain.people import Account, Group, GroupKind, Organisation, Role
from domain.results import Written
from domain.setup.base import AccountCommand, Ports, SetupCommand, changed, handles


@dataclass(frozen=True)
class RegisterOrganisation(SetupCommand):
    name: str
    inn: str
    kpp: str = ""
    legal_address: str = ""
    postal_address: str = ""

    policy = Setup.REGISTER_ORGANISATION


@handles(RegisterOrganisation)
def register_organisation(desk: Ports, actor: Actor, c: RegisterOrganisation) -> Written:
    org = Organisation.register(c.name, c.inn, c.kpp, c.legal_address, c.postal_address)
    claim = Claim.take(f"inn:{org.inn}", org.id)
    return desk._unique(org, claim, f"An organisation with INN {org.inn} exists.", "inn")


@dataclass(frozen=True)
class EditOrganisation(SetupCommand):
    """An organisation's name, KPP and addresses as the administrator's form showed them at
    `expected_version` (a stale form is a Conflict); the INN is its claimed key and stays."""

    organisation_id: UUID
    expected_version: int | None
    name: str
    kpp: str = ""
    legal_address: str = ""
    postal_address: str = ""

    policy = Setup.EDIT_ORGANISATION


@handles(EditOrganisation)
def edit_organisation(desk: Ports, actor: Actor, c: EditOrganisation) -> Written:
    org = desk._get(Organisation, c.organisation_id, "organisation")
    check_seen(org, c.expected_version)
    if c.name.strip() != org.name:
        org.rename(c.name)
    org.change_details(actor.id, c.kpp, c.legal_address, c.postal_address)
    return desk._written(org)


@dataclass(frozen=True)
class RegisterAccount(SetupCommand):
    login: str
    display_name: str
    roles: tuple[Role, ...]
    organisation_id: UUID | None = None
    email: str = ""
    phone: str = ""  # a requester's, for line 1 to find him when he calls

    policy = Setup.REGISTER_ACCOUNT


@handles(RegisterAccount)
def register_account(desk: Ports, actor: Actor, c: RegisterAccount) -> Written:
    if c.organisation_id is not None:
        desk._get(Organisation, c.organisation_id, "organisation")
    account = Account.register(c.login, c.display_name, c.roles, c.organisation_id, c.email,
                               c.phone)  # fmt: skip
    claim = Claim.take(f"login:{account.login}", account.id)
    return desk._unique(account, claim, f"Login {account.login!r} is taken.", "login")


@dataclass(frozen=True)
class AccountChange(AccountCommand):
    """A change the account alone decides (`decide` calls its method); one handler loads the
    account, lets the command decide and saves (`change_account`, registered for each below)."""

    def decide(self, account: Account, actor: Actor) -> None:
        raise NotImplementedError


def change_account(desk: Ports, actor: Actor, c: AccountChange) -> Written:
    return changed(desk, Account, c.account_id, "account", lambda a: c.decide(a, actor))


@dataclass(frozen=True)
class ChangeRoles(AccountChange):
    roles: tuple[Role, ...]

    policy = Setup.CHANGE_ROLES

    def decide(self, account: Account, actor: Actor) -> None:
        account.change_roles(self.roles)


@dataclass(frozen=True)
class JoinGroup(AccountChange):
    group_id: UUID

    policy = Setup.JOIN_GROUP

    def decide(self, account: Account, actor: Actor) -> None:
        account.join(self.group_id)


@handles(JoinGroup)
def join_group(desk: Ports, actor: Actor, c: JoinGroup) -> Written:
    desk._get(Group, c.group_id, "group")  # the group exists
    return change_account(desk, actor, c)


@dataclass(frozen=True)
class LeaveGroup(AccountChange):
    group_id: UUID

    policy = Setup.LEAVE_GROUP

    def decide(self, account: Account, actor: Actor) -> None:
        account.leave(self.group_id)


@dataclass(frozen=True)
class EditAccount(SetupCommand):
    """An administrator's account form: its roles and groups as a whole, decided on the version
    the form showed (another version: `Conflict`). Records `RolesChanged`, `JoinedGroup` and
    `LeftGroup` as the separate commands do, in one save; what is unchanged records nothing."""

    account_id: UUID
    roles: tuple[Role, ...]
    group_ids: tuple[UUID, ...]
    expected_version: int | None = None

    policy = Setup.EDIT_ACCOUNT

    @property
    def about_account(self) -> UUID | None:
        return self.account_id


@handles(EditAccount)
def edit_account(desk: Ports, actor: Actor, c: EditAccount) -> Written:
    account = desk._get(Account, c.account_id, "account")
    check_seen(account, c.expected_version)
    wanted = tuple(dict.fromkeys(c.group_ids))
    for group_id in wanted:
        if group_id not in account.group_ids:
            try:
                desk._get(Group, group_id, "group")
            except NotFound:
                raise InvalidInput("No such group.", ["groups"]) from None
    if set(c.roles) != set(account.roles) or not c.roles:
        account.change_roles(c.roles)
    for group_id in account.group_ids:
        if group_id not in wanted:
            account.leave(group_id)
    for group_id in wanted:
        account.join(group_id)
    return desk._written(account)


@dataclass(frozen=True)
class DisableAccount(AccountChange):
    """The account may do nothing more; its sessions and tokens end (the web edge ends them)."""

    policy, action = Setup.DISABLE_ACCOUNT, "disable"

    def decide(self, account: Account, actor: Actor) -> None:
        account.disable()


@dataclass(frozen=True)
class EnableAccount(AccountChange):
    policy, action = Setup.ENABLE_ACCOUNT, "enable"

    def decide(self, account: Account, actor: Actor) -> None:
        account.enable()


@dataclass(frozen=True)
class SetAway(AccountChange):
    """A staff member is away (automatic assignment skips him) or back: himself, or an
    administrator for anyone."""

    away: bool

    policy = Setup.SET_AWAY

    def decide(self, account: Account, actor: Actor) -> None:
        account.set_away(self.away)


@dataclass(frozen=True)
class RecordPasswordChange(AccountChange):
    """That the password was changed, by the account itself or an administrator; the hash goes
    to the credentials table (web/credentials.py), never to an event."""

    policy = Setup.RECORD_PASSWORD_CHANGE

    def decide(self, account: Account, actor: Actor) -> None:
        account.record_password_change(actor.id)


@dataclass(frozen=True)
class SetNotificationPreferences(AccountChange):
    """How the person wants each kind of notification told (domain/notifications.py: kind ->
    app, email, both or off) and in which language his letters are written: his own only."""

    choices: dict[str, str]
    language: str = "ru"

    policy = Setup.SET_NOTIFICATION_PREFERENCES

    def decide(self, account: Account, actor: Actor) -> None:
        account.set_notification_preferences(dict(self.choices), self.language)


@dataclass(frozen=True)
class MarkNotificationsRead(AccountChange):
    """The person read his notifications up to a log position: his own only."""

    up_to_position: int

    policy = Setup.MARK_NOTIFICATIONS_READ

    def decide(self, account: Account, actor: Actor) -> None:
        account.mark_notifications_read(self.up_to_position)


for _kind in (ChangeRoles, LeaveGroup, DisableAccount, EnableAccount, SetAway,
              RecordPasswordChange, SetNotificationPreferences, MarkNotificationsRead):  # fmt: skip
    handles(_kind)(change_account)


@dataclass(frozen=True)
class FormGroup(SetupCommand):
    name: str
    kind: GroupKind

    policy = Setup.FORM_GROUP


@handles(FormGroup)
def form_group(desk: Ports, actor: Actor, c: FormGroup) -> Written:
    return desk._written(Group.form(c.name, c.kind))


@dataclass(frozen=True)
class AppointGroupLead(SetupCommand):
    """Makes an active agent of the group its lead (None: no lead; its agents follow up)."""

    group_id: UUID
    lead_id: UUID | None
    expected_version: int | None = None  # the group's version the sender saw (None: any)

    policy = Setup.APPOINT_GROUP_LEAD


@handles(AppointGroupLead)
def appoint_group_lead(desk: Ports, actor: Actor, c: AppointGroupLead) -> Written:
    group = desk._get(Group, c.group_id, "group")
    check_seen(group, c.expected_version)
    if c.lead_id is not None:
        try:
            lead = desk._get(Account, c.lead_id, "account")
        except NotFound:
            raise InvalidInput("No such account.", ["lead_id"]) from None
        if lead.disabled or Role.AGENT not in lead.roles or c.group_id not in lead.group_ids:
            raise InvalidInput("The lead must be an active agent of the group.", ["lead_id"])
    group.appoint_lead(c.lead_id)
    return desk._written(group)
