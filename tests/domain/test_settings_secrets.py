"""Every secret may come from the environment (SUZ_X) or from a file the environment names
(SUZ_X_FILE, as docker and Kubernetes mount secrets); never both, and never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.settings import SECRETS, Settings

# a valid value of each secret, and the field of Settings it becomes
VALUES = {
    "SUZ_DATABASE_URL": ("postgresql://suz:p%40ss@db.internal:5432/suz", "database_url"),
    "SUZ_METRICS_TOKEN": ("metrics-token-9f8e7d", "metrics_token"),
    "SUZ_ADMIN_PASSWORD": ("  the first administrator's password  ", "admin_password"),
    "SUZ_SMTP_URL": ("smtps://desk%40mail.ru:smtp-secret@smtp.mail.ru", "smtp_url"),
    "SUZ_IMAP_URL": ("imaps://desk%40mail.ru:imap-secret@imap.mail.ru/INBOX", "imap_url"),
    "SUZ_SEAL_TO": ("https://seals:ship-secret@archive.internal/seals", "seal_to"),
}


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    for name in ("SUZ_CHAIN_KEY", "SUZ_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_every_secret_is_listed() -> None:
    assert set(VALUES) == set(SECRETS)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_a_secret_from_a_file_equals_the_same_from_the_environment(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    value, field = VALUES[name]
    monkeypatch.setenv(name, value)
    from_env = getattr(Settings.from_env(), field)
    monkeypatch.delenv(name)
    secret = tmp_path / "secret"
    secret.write_text(value + "\n")  # as `echo value > file` writes it
    monkeypatch.setenv(f"{name}_FILE", str(secret))
    settings = Settings.from_env()
    assert getattr(settings, field) == from_env
    assert from_env is not None and from_env.strip() == value.strip()
    assert value.strip() not in repr(settings)  # the repr (logs, tracebacks) never shows it


def test_only_the_line_end_at_the_end_of_the_file_is_dropped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "admin_password"
    secret.write_bytes(b" two lines\npass \r\n")
    monkeypatch.setenv("SUZ_ADMIN_PASSWORD_FILE", str(secret))
    assert Settings.from_env().admin_password == " two lines\npass "


def test_both_the_value_and_its_file_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-the-file")
    monkeypatch.setenv("SUZ_METRICS_TOKEN", "from-the-environment")
    monkeypatch.setenv("SUZ_METRICS_TOKEN_FILE", str(secret))
    with pytest.raises(ValueError, match="SUZ_METRICS_TOKEN and SUZ_METRICS_TOKEN_FILE") as e:
        Settings.from_env()
    assert "from-the" not in str(e.value)


@pytest.mark.parametrize("problem", ["missing", "empty", "a folder"])
def test_an_unreadable_or_empty_file_stops_the_start_naming_it(
    problem: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "smtp_url"
    if problem == "empty":
        secret.write_text("\n")
    elif problem == "a folder":
        secret.mkdir()
    monkeypatch.setenv("SUZ_SMTP_URL_FILE", str(secret))
    with pytest.raises(ValueError, match=f"SUZ_SMTP_URL_FILE: .*{secret}"):
        Settings.from_env()


def test_a_secret_from_a_file_is_checked_like_one_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "smtp_url"
    secret.write_text("smtp://desk:clear-secret@smtp.mail.ru\n")  # a password in clear text
    monkeypatch.setenv("SUZ_SMTP_URL_FILE", str(secret))
    with pytest.raises(ValueError, match="SUZ_SMTP_URL: a password over smtp://") as e:
        Settings.from_env()
    assert "clear-secret" not in str(e.value)


@pytest.mark.parametrize(("name", "field"), [("SUZ_CHAIN_KEY", "chain_key"),
                                             ("SUZ_SIGNING_KEY", "signing_key")])  # fmt: skip
def test_the_keys_files_may_be_named_by_either_variable(
    name: str, field: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "key"
    monkeypatch.setenv(f"{name}_FILE", str(key))
    assert getattr(Settings.from_env(), field) == key
    monkeypatch.setenv(name, str(key))
    with pytest.raises(ValueError, match=f"{name} and {name}_FILE are both set"):
        Settings.from_env()
