"""Seals shipped off the host as they are made: an insider holding everything on the host (the
database, the chain key and the signing key of a demo set-up in the data folder) rewrites
history so that `suz verify` and the desk's own seals agree, and the shipped copy still tells."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Mapper

from audit import keys
from audit.keys import public_pem
from domain.chain import KeyedMapper, event_link, mac
from domain.settings import Settings
from scripts import verify_export
from suz import cli
from tests.domain.test_integrity import Rows
from tests.world import World


def _use(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUZ_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("SUZ_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("SUZ_DATABASE_URL", raising=False)


def _rewrite_with_the_key(world: World, rows: Rows, ticket: UUID, version: int, body: str) -> None:
    """The note at `version` says `body`; chains and MACs recomputed with the stolen key."""
    desk = world.desk
    assert isinstance(desk.mapper, KeyedMapper) and desk.mapper.key is not None
    key, plain = desk.mapper.key, Mapper[UUID](transcoder=desk.mapper.transcoder)
    previous = ""
    for stored in desk.recorder.select_events(ticket):
        event, _ = desk.mapper.read(stored)
        if stored.originator_version < version:
            previous = event.chain
            continue
        if stored.originator_version == version:
            vars(event)["body"] = body
        vars(event)["chain"] = previous = event_link(previous, event)
        vars(event)["mac"] = mac(key, previous)
        rows.set_state(ticket, stored.originator_version, plain.to_stored_event(event).state)


def test_a_rewrite_resealed_with_the_insiders_own_key_is_caught_by_the_shipped_seals(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    _use(settings, monkeypatch)
    assert cli.main(["migrate"]) == 0
    desk, ticket = world.desk, world.file().id
    desk.note(world.engineer, ticket, "Таймаут сервиса подписи")  # version 3
    offsite = tmp_path / "offsite" / "seals.jsonl"
    assert cli.main(["seal", "--to", str(offsite)]) == 0
    desk.reply(world.agent, ticket, "Проверяем")
    assert cli.main(["seal", "--to", str(offsite)]) == 0
    assert cli.main(["seal", "--to", str(offsite)]) == 0  # nothing new: nothing appended
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if "shipped" in line] == [
        f"suz seal: shipped {n} seal(s) to {offsite}" for n in (1, 1, 0)
    ]
    assert [json.loads(line)["number"] for line in offsite.read_text().splitlines()] == [1, 2]
    published = tmp_path / "published.pem"
    published.write_bytes(public_pem(settings))

    # the insider: rewrites the note with the chain key, then the seals with a key of his own
    schema = request.getfixturevalue("pg_schema") if settings.uses_postgres else None
    rows = Rows(settings, schema)
    _rewrite_with_the_key(world, rows, ticket, 3, "Всё работало")
    if schema is not None:
        rows.run(f"DELETE FROM {schema}.audit_seals")
    else:
        with sqlite3.connect(settings.data_dir / "views.sqlite") as views:
            views.execute("DELETE FROM audit_seals")
    own = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())  # fmt: skip
    (settings.data_dir / "signing_key.pem").write_bytes(own)
    monkeypatch.setattr(keys, "_keys", {})  # as a restarted server would read it
    assert cli.main(["seal"]) == 0
    assert cli.main(["verify"]) == 0  # every chain and MAC is valid: he held the key
    assert cli.main(["seal", "--check"]) == 0  # and the desk's own seals agree
    capsys.readouterr()

    # the copy shipped off the host does not
    assert cli.main(["seal", "--check", "--seals", str(offsite)]) == 1
    told = capsys.readouterr().out
    assert "TAMPERED changed: seal 1 (log positions 1.." in told
    assert "TAMPERED signature: seal 1" in told  # signed by the published key, not the new one
    assert verify_export.main(["--seals", str(offsite), "--public-key", str(published)]) == 0
    (rows.pg if rows.postgres else rows.lite).close()
