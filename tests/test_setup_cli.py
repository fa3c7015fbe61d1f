"""`suz setup`: an operator sets a fresh store up from the command line with the same set-up
commands the web edges build, through the same dispatcher and policy."""

from __future__ import annotations

import io
import json
from pathlib import Path
from uuid import UUID

import pytest

from domain.desk import Desk
from domain.people import GroupKind, Role
from domain.settings import Settings
from domain.setup.people import FormGroup, RegisterAccount
from suz import cli
from suz.setup_command import SETUP_COMMANDS, setup_command
from web.credentials import check_password
from web.passwords import Passwords
from web.sessions import open_session_store

ORG = "5d0c2a53-5bd1-4c39-9a57-6b2f1d8f2a11"


def test_words_parse_into_the_command_types() -> None:
    assert SETUP_COMMANDS["register-account"] is RegisterAccount
    command = setup_command(
        RegisterAccount,
        [
            "login=ivanova",
            "display_name=Иванова",
            "roles=requester, agent",
            f"organisation_id={ORG}",
        ],
    )
    assert command == RegisterAccount("ivanova", "Иванова", (Role.REQUESTER, Role.AGENT),
                                      UUID(ORG))  # fmt: skip
    assert setup_command(FormGroup, ["name=Линия 1", "kind=line1"]) == FormGroup(
        "Линия 1", GroupKind.LINE_1
    )
    with pytest.raises(ValueError, match=r"Invalid enum value 'wizard' - at `\$.roles\[0\]`"):
        setup_command(RegisterAccount, ["login=x", "display_name=X", "roles=wizard"])
    with pytest.raises(ValueError, match="give field=value"):
        setup_command(FormGroup, ["colour=red"])


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_an_operator_sets_a_fresh_store_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    monkeypatch.setenv("SUZ_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("SUZ_DATABASE_URL", raising=False)
    assert _run(["migrate"], capsys)[0] == 0

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-secret\n"))
    code, out, _ = _run(["setup", "register-account", "login=boss", "display_name=Начальник",
                         "roles=admin", "--password-stdin"], capsys)  # fmt: skip
    assert code == 0
    boss = json.loads(out)["id"]
    code, out, _ = _run(["setup", "form-group", "name=Линия 1", "kind=line1", "--as", "boss"],
                        capsys)  # fmt: skip
    assert code == 0
    group = json.loads(out)["id"]
    code, out, _ = _run(["setup", "register-account", "login=agent1", "display_name=Агент",
                         "roles=agent"], capsys)  # fmt: skip
    agent = json.loads(out)["id"]
    assert _run(["setup", "join-group", f"account_id={agent}", f"group_id={group}"],
                capsys)[0] == 0  # fmt: skip

    desk = Desk(settings.store_env())
    sessions = open_session_store(settings)
    try:
        head = desk.recorder.max_notification_id()
        # an agent may not set the desk up: the policy's own refusal, nothing written
        code, _, err = _run(["setup", "form-group", "name=Своя", "kind=line2", "--as", "agent1"],
                            capsys)  # fmt: skip
        assert (code, err.strip()) == (
            1,
            "suz setup form-group: refused: Only an administrator may change the desk's set-up.",
        )
        code, _, err = _run(["setup", "form-group", "name=X", "kind=line9"], capsys)
        assert code == 2 and "Invalid enum value 'line9'" in err
        assert desk.recorder.max_notification_id() == head
        agent_account, boss_account = desk.account_by_login("agent1"), desk.account_by_login("boss")
        assert agent_account is not None and boss_account is not None
        assert agent_account.group_ids == (UUID(group),)
        assert str(boss_account.id) == boss
        assert check_password(sessions, Passwords(), boss_account, "a-long-enough-secret")
    finally:
        sessions.close()
        desk.close()
