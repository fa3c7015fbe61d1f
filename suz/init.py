"""`suz init` and `suz create-admin`: a fresh store made ready for real use, without demo data.

`suz init` makes the desk's basic structure by set-up commands through `Desk.handle`: the three
support lines as groups (named as the demo names them) and one general category routed to line 1,
since a desk accepts no request without a category. It writes only what is missing, so running it
again changes nothing (and says so).

`suz create-admin` makes an administrator: from flags (`--login`, `--name`, `--email`) and a
password from `--password-stdin` or SUZ_ADMIN_PASSWORD for automation, or by asking in a
terminal (the password twice, unseen). The password must pass the web's policy
(web/passwords.py) and its hash goes to the credentials table, as every password's does; the
account is registered by `suz setup register-account`'s own path (suz/setup_command.py)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.category import Category
from domain.desk import SYSTEM, Desk
from domain.errors import DeskError
from domain.keys import require_keys
from domain.people import Group, GroupKind, Role
from domain.settings import Settings
from domain.setup.categories import DefineCategory
from domain.setup.people import FormGroup, RegisterAccount
from suz.migrate import migrate
from suz.setup_command import send_setup

LINES = (
    (GroupKind.LINE_1, "1 линия"),
    (GroupKind.LINE_2, "2 линия"),
    (GroupKind.LINE_3, "3 линия"),
)
GENERAL_CATEGORY = ("Общие вопросы", "General questions")  # routed to line 1
_BATCH = 500


def existing_structure(desk: Desk) -> tuple[dict[GroupKind, UUID], int]:
    """The groups already formed, by kind (the first of each), and how many categories were
    defined: read from their creation events only."""
    topics = [get_topic(Group.Formed), get_topic(Category.Defined)]
    groups: dict[GroupKind, UUID] = {}
    categories = 0
    start = 1
    while True:
        batch = desk.recorder.select_notifications(start=start, limit=_BATCH, topics=topics)
        for notification in batch:
            event = desk.mapper.to_domain_event(notification)
            if isinstance(event, Group.Formed):
                groups.setdefault(event.kind, event.originator_id)
            else:
                categories += 1
        if len(batch) < _BATCH:
            return groups, categories
        start = batch[-1].id + 1


def run_init(settings: Settings) -> int:
    """Makes what is missing of the lines and the general category; 0 either way."""
    require_keys(settings)
    migrate(settings)
    desk = Desk(settings.store_env())
    made: list[str] = []
    try:
        groups, categories = existing_structure(desk)
        for kind, name in LINES:
            if kind not in groups:
                groups[kind] = desk.handle(SYSTEM, FormGroup(name, kind)).id
                made.append(f"group «{name}»")
        if not categories:
            ru, en = GENERAL_CATEGORY
            desk.handle(SYSTEM, DefineCategory(ru, en, (), groups[GroupKind.LINE_1]))
            made.append(f"category «{ru}»")
    except DeskError as e:
        print(f"suz init: refused: {e.message}", file=sys.stderr)
        return 1
    finally:
        desk.close()
    if made:
        print(f"suz init: made {', '.join(made)}")
    else:
        print("suz init: the desk is already set up; nothing changed")
    print("suz init: next, `suz create-admin` makes the first administrator")
    return 0


def run_create_admin(
    settings: Settings,
    login: str | None,
    name: str | None,
    email: str | None,
    password_stdin: bool,
    *,
    ask: Callable[[str], str] = input,
    ask_secret: Callable[[str], str] = getpass.getpass,
    interactive: bool | None = None,
) -> int:
    """Registers an administrator with a password; 2 when something is missing or the password
    is refused (nothing written), 1 when the desk refuses (e.g. the login is taken)."""
    if interactive is None:
        interactive = sys.stdin.isatty()
    if (login is None or name is None) and not interactive:
        print("suz create-admin: give --login and --name (or run it in a terminal to be asked)",
              file=sys.stderr)  # fmt: skip
        return 2
    login = login if login is not None else ask("Login: ").strip()
    name = name if name is not None else ask("Name: ").strip()
    if email is None:
        email = ask("E-mail: ").strip() if interactive else ""
    password = _password(settings, password_stdin, interactive, ask_secret)
    if password is None:
        return 2
    from web.passwords import check_new_password

    try:
        check_new_password(password, login=login)  # before anything is opened or written
    except DeskError as e:
        print(f"suz create-admin: refused: {e.message}", file=sys.stderr)
        return 2
    command = RegisterAccount(login, name, (Role.ADMIN,), None, email)
    written = send_setup(settings, command, None, password, prefix="suz create-admin")
    if written is None:
        return 1
    print(f"suz create-admin: administrator {login} ({written.id}) can sign in now")
    return 0


def _password(settings: Settings, stdin: bool, interactive: bool,
              ask_secret: Callable[[str], str]) -> str | None:  # fmt: skip
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    if settings.admin_password is not None:
        return settings.admin_password
    if not interactive:
        print("suz create-admin: give the password with --password-stdin or SUZ_ADMIN_PASSWORD "
              "(or run it in a terminal to be asked)", file=sys.stderr)  # fmt: skip
        return None
    first = ask_secret("Password: ")
    if ask_secret("Password again: ") != first:
        print("suz create-admin: the two passwords differ; nothing written", file=sys.stderr)
        return None
    return first
