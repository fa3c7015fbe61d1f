"""`suz setup COMMAND field=value...`: a set-up command from the command line, of the same types
the web edges build (domain/setup/), handed to `Desk.handle`, so the one policy decides.

The command acts as the system (the operator holds the store itself) or, with `--as LOGIN`, as
that account with its roles. `register-account --password-stdin` gives the new account its
password (the first administrator of a fresh store)."""

from __future__ import annotations

import json
import re
import sys
import typing
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any
from uuid import UUID

import msgspec

from domain.access import Actor
from domain.desk import SYSTEM, Desk
from domain.errors import DeskError
from domain.results import Written
from domain.settings import Settings
from domain.setup.base import SetupCommand
from domain.setup.dispatch import COMMANDS
from domain.setup.people import RegisterAccount


def setup_name(kind: type[SetupCommand]) -> str:
    """A command's name on the command line: RegisterAccount -> register-account."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", kind.__name__).lower()


SETUP_COMMANDS = {setup_name(kind): kind for kind in COMMANDS}


def setup_command(kind: type[SetupCommand], assignments: Sequence[str]) -> SetupCommand:
    """The command from `field=value` words: a value starting with [ or { is JSON, a tuple field
    takes a comma-separated list, anything else is converted from its text by the field's type
    (ids, enums, numbers, true/false). ValueError names what is wrong."""
    hints = typing.get_type_hints(kind)
    known = {f.name for f in fields(kind)}
    values: dict[str, Any] = {}
    for word in assignments:
        name, sep, text = word.partition("=")
        if not sep or name not in known:
            raise ValueError(f"{word!r}: give field=value, a field of {', '.join(sorted(known))}")
        if text[:1] in ("[", "{"):
            values[name] = json.loads(text)
        elif typing.get_origin(hints[name]) is tuple:
            values[name] = [v.strip() for v in text.split(",") if v.strip()]
        else:
            values[name] = text
    try:
        return msgspec.convert(values, kind, strict=False)
    except msgspec.ValidationError as e:
        raise ValueError(str(e)) from None


def run_setup(settings: Settings, name: str, assignments: Sequence[str], login: str | None,
              password_stdin: bool) -> int:  # fmt: skip
    """Hands one set-up command to the desk as the system (or as the account `login`), prints
    what it wrote as JSON; `password_stdin` gives a new account its password."""
    kind = SETUP_COMMANDS[name]
    try:
        command = setup_command(kind, assignments)
    except ValueError as e:
        print(f"suz setup {name}: {e}", file=sys.stderr)
        return 2
    if password_stdin and kind is not RegisterAccount:
        print("suz setup: --password-stdin goes with register-account only", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    written = send_setup(settings, command, login, password, prefix=f"suz setup {name}")
    if written is None:
        return 1
    print(json.dumps({k: str(v) if isinstance(v, UUID) else v
                      for k, v in asdict(written).items()}))  # fmt: skip
    return 0


def send_setup(settings: Settings, command: SetupCommand, login: str | None,
               password: str | None, *, prefix: str) -> Written | None:  # fmt: skip
    """Hands `command` to the desk as the system (or as the account `login`); with `password`
    (a `RegisterAccount`), checks it by the web's policy first and gives the new account its
    hash in the credentials table. None when refused (said on stderr after `prefix`)."""
    desk = Desk(settings.store_env())
    try:
        actor = _actor(desk, login)
        if password is not None:
            from web.passwords import check_new_password

            assert isinstance(command, RegisterAccount)
            check_new_password(password, login=command.login)
        written = desk.handle(actor, command)
        if password is not None:
            _give_password(settings, desk, actor, written.id, password)
    except DeskError as e:
        print(f"{prefix}: refused: {e.message}", file=sys.stderr)
        return None
    finally:
        desk.close()
    return written


def _actor(desk: Desk, login: str | None) -> Actor:
    if login is None:
        return SYSTEM  # the operator holds the store itself
    account = desk.account_by_login(login)
    if account is None:
        raise DeskError(f"No account signs in as {login!r}.")
    return desk.actor_for(account.id)


def _give_password(settings: Settings, desk: Desk, actor: Actor, account: UUID,
                   password: str) -> None:  # fmt: skip
    from web.credentials import set_password
    from web.passwords import Passwords
    from web.sessions import open_session_store

    sessions = open_session_store(settings)
    try:
        set_password(desk, sessions, Passwords(), actor, account, password)
    finally:
        sessions.close()
