"""`suz backup FILE` and `suz restore FILE`: one zip archive of a desk, written and read as a
stream (JSON Lines members, the manifest with counts and sha256 last), restorable into an empty
store of either backend (docs/deployment.md, "Back up and restore").

What goes in: the events at their log positions and the snapshots (exact stored rows: seals hash
`position aggregate version topic sha256(state)`, so positions and state bytes are kept as they
were, gaps included); the attachments; the seals and the public signing key; the password hashes
and API token hashes (not sessions: they expire; not Idempotency-Key answers). Views are left
out: they rebuild from the log. The chain key and the signing key only with
`--include-private-key`; without it, the target must be given the source's chain key
(SUZ_CHAIN_KEY), or its events would not verify.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.postgres import PostgresDatastore
from tqdm import tqdm

from domain.desk import Desk
from domain.keys import read_chain_key
from domain.seals import Seal, check_seals
from domain.settings import Settings

if TYPE_CHECKING:
    from web.attachments import BlobStore

FORMAT = "suz-backup/1"
BATCH = 1000
LINES = ("snapshots", "credentials", "api_tokens", "seals", "events")
CHAIN_KEY, SIGNING_KEY, PUBLIC_KEY = "keys/chain_key", "keys/signing_key.pem", "public_key.pem"
_SEAL_COLUMNS = "number, after_position, position, events, digest, previous, sealed_at, signature"


class ArchiveProblem(Exception):
    """Raised when an archive is incomplete, altered or not a suz backup, or cannot be restored
    here (a chain key that differs from the target's); nothing has been written."""


class StoreNotEmpty(Exception):
    """Raised when restoring into a store that already holds events."""


def add_parsers(sub: Any) -> None:
    backup_cmd = sub.add_parser("backup", help="write one archive of the desk (views rebuild)")
    backup_cmd.add_argument("file", type=Path, help="the archive to write (a zip)")
    backup_cmd.add_argument(
        "--include-private-key",
        action="store_true",
        help="also store the chain key and the signing key (keep the archive like the keys)",
    )
    restore_cmd = sub.add_parser("restore", help="restore an archive into an empty store")
    restore_cmd.add_argument("file", type=Path, help="an archive written by `suz backup`")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.command == "backup":
            backup(settings, args.file, include_private_key=args.include_private_key)
        else:
            restore(settings, args.file)
    except (ArchiveProblem, StoreNotEmpty) as e:
        print(f"suz {args.command}: {e}", file=sys.stderr)
        return 1
    return 0


# -- backup --------------------------------------------------------------------------------------
class _Lines:
    """One JSON Lines member being written: counted and hashed as it streams out."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.name, self.count, self._hash = name, 0, hashlib.sha256()
        self._out = archive.open(f"{name}.jsonl", "w", force_zip64=True)

    def write(self, row: dict[str, Any]) -> None:
        line = orjson.dumps(row) + b"\n"
        self._hash.update(line)
        self._out.write(line)
        self.count += 1

    def close(self) -> dict[str, Any]:
        self._out.close()
        return {"sha256": self._hash.hexdigest(), "count": self.count}


def chain_key_fingerprint(key: bytes) -> str:
    """Names a chain key without revealing it."""
    return hmac.new(key, FORMAT.encode(), hashlib.sha256).hexdigest()


def backup(settings: Settings, path: Path, *, include_private_key: bool = False) -> dict[str, Any]:
    """Writes the archive (first to `path`.partial, renamed when whole); returns its manifest."""
    from audit.keys import pem, signing_key
    from audit.seals import all_seals
    from projections.db import ViewDB
    from web.blobs import open_blob_store
    from web.sessions import open_session_store

    desk, db, sessions = Desk(settings.store_env()), ViewDB(settings), open_session_store(settings)
    chain_key = read_chain_key(settings.chain_key_file, generate=False)
    key = signing_key(settings)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # password hashes inside
    members: dict[str, Any] = {}
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            # snapshots before the log's head is fixed: each is taken after its events are stored
            members["snapshots"] = _write(zf, "snapshots", _snapshot_rows(desk))
            head = desk.recorder.max_notification_id() or 0
            members["credentials"] = _write(zf, "credentials", _table_rows(sessions, "c"))
            members["api_tokens"] = _write(zf, "api_tokens", _table_rows(sessions, "t"))
            seals = (s.to_json() for s in all_seals(db) if s.position <= head)
            members["seals"] = _write(zf, "seals", seals)
            with tqdm(total=head, unit="event", desc="events", file=sys.stderr) as bar:
                members["events"] = _write(zf, "events", _event_rows(desk, head, bar))
            members["attachments"] = _write_attachments(zf, open_blob_store(settings, db))
            zf.writestr(PUBLIC_KEY, pem(key))
            if include_private_key:
                zf.writestr(CHAIN_KEY, chain_key.hex() + "\n")
                zf.writestr(SIGNING_KEY, settings.signing_key_file.read_bytes())
            manifest = {
                "format": FORMAT,
                "made_at": datetime.now(UTC).isoformat(),
                "source": "postgres" if settings.uses_postgres else "sqlite",
                "head": head,
                "members": members,
                "chain_key": chain_key_fingerprint(chain_key),
                "private_keys_included": include_private_key,
            }
            zf.writestr("manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
        sessions.close()
        db.close_all()
        desk.close()
    counts = ", ".join(f"{m['count']} {name}" for name, m in members.items())
    print(f"suz backup: {path}: {counts} (log head {head})", file=sys.stderr)
    if include_private_key:
        print("WARNING: this archive holds the CHAIN KEY and the PRIVATE SIGNING KEY: whoever "
              "reads it can forge events that verify and sign seals. Keep it as you keep the "
              "keys, apart from ordinary backups.", file=sys.stderr)  # fmt: skip
    return manifest


def _write(zf: zipfile.ZipFile, name: str, rows: Iterator[dict[str, Any]]) -> dict[str, Any]:
    member = _Lines(zf, name)
    try:
        for row in rows:
            member.write(row)
    finally:
        summary = member.close()
    return summary


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _event_rows(desk: Desk, head: int, bar: tqdm[Any]) -> Iterator[dict[str, Any]]:
    after = 0
    while after < head:
        batch = desk.recorder.select_notifications(after, BATCH, stop=head,
                                                   inclusive_of_start=False)  # fmt: skip
        if not batch:
            break
        for n in batch:
            yield {"position": n.id, "originator_id": str(n.originator_id),
                   "originator_version": n.originator_version, "topic": n.topic,
                   "state": _b64(n.state)}  # fmt: skip
        after = batch[-1].id
        bar.update(len(batch))


@dataclass(frozen=True)
class _Tables:
    """The event store's datastore, its events and snapshots tables, its placeholder."""

    datastore: Any
    events: str
    snapshots: str
    p: str

    @property
    def postgres(self) -> bool:
        return isinstance(self.datastore, PostgresDatastore)


def _store(desk: Desk) -> _Tables:
    recorder: Any = desk.recorder
    snapshot_recorder: Any = desk.snapshots.recorder if desk.snapshots else None
    snapshots = snapshot_recorder.events_table_name if snapshot_recorder else ""
    datastore = recorder.datastore
    if isinstance(datastore, PostgresDatastore):
        prefix = f'"{datastore.schema}".'
        return _Tables(datastore, prefix + recorder.events_table_name, prefix + snapshots, "%s")
    return _Tables(datastore, recorder.events_table_name, snapshots, "?")


def _snapshot_rows(desk: Desk) -> Iterator[dict[str, Any]]:
    store = _store(desk)
    datastore, p = store.datastore, store.p
    select = f"SELECT originator_id, originator_version, topic, state FROM {store.snapshots}"
    last: tuple[Any, int] | None = None
    while True:
        where = f" WHERE (originator_id, originator_version) > ({p}, {p})" if last else ""
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(f"{select}{where} ORDER BY originator_id, originator_version"
                           f" LIMIT {BATCH}", last or ())  # fmt: skip
            rows = cursor.fetchall()
        for row in rows:
            yield {"originator_id": str(UUID(str(row["originator_id"]))),
                   "originator_version": row["originator_version"], "topic": row["topic"],
                   "state": _b64(bytes(row["state"]))}  # fmt: skip
        if len(rows) < BATCH:
            return
        last = (rows[-1]["originator_id"], rows[-1]["originator_version"])


_TABLES = {
    "c": ("account_id", "password_hash", "changed"),
    "t": ("id", "token_hash", "account_id", "name", "created", "last_used"),
}


def _table_rows(sessions: Any, table: str) -> Iterator[dict[str, Any]]:
    """The credentials (`c`) or API tokens (`t`) of the session store; one row per account or
    token, so read whole (the session store has no streaming reads)."""
    columns = _TABLES[table]
    rows, _ = sessions._run(f"SELECT {', '.join(columns)} FROM {{{table}}} ORDER BY {columns[0]}")
    for row in rows:
        yield dict(zip(columns, row, strict=True))


def _write_attachments(zf: zipfile.ZipFile, store: BlobStore) -> dict[str, Any]:
    """Every blob, read through the store in chunks (disk or PostgreSQL), as `attachments/SHA`."""
    digests = list(store.digests())
    size = 0
    with tqdm(total=len(digests), unit="file", desc="attachments", file=sys.stderr) as bar:
        for sha256 in digests:
            with zf.open(f"attachments/{sha256}", "w", force_zip64=True) as out:
                for chunk in store.chunks(sha256):
                    out.write(chunk)
                    size += len(chunk)
            bar.update(1)
    return {"count": len(digests), "bytes": size}


# -- restore -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Archive:
    """An archive whose every member matched its manifest."""

    zf: zipfile.ZipFile
    manifest: dict[str, Any]

    def rows(self, name: str) -> Iterator[dict[str, Any]]:
        with self.zf.open(f"{name}.jsonl") as f:
            for line in f:
                yield orjson.loads(line)

    @property
    def attachments(self) -> list[str]:
        return [n for n in self.zf.namelist() if n.startswith("attachments/")]

    def public_key(self) -> Ed25519PublicKey:
        key = serialization.load_pem_public_key(self.zf.read(PUBLIC_KEY))
        if not isinstance(key, Ed25519PublicKey):
            raise ArchiveProblem(f"{PUBLIC_KEY} is not an Ed25519 public key")
        return key


def open_archive(path: Path) -> Archive:
    """Opens and checks the whole archive (every member's sha256 and count) before anything is
    written; refuses a truncated, altered or foreign one."""
    try:
        zf = zipfile.ZipFile(path)
        manifest = orjson.loads(zf.read("manifest.json"))
    except (OSError, zipfile.BadZipFile, KeyError, orjson.JSONDecodeError) as e:
        raise ArchiveProblem(f"{path} is not a whole suz backup (truncated?): {e}") from None
    if manifest.get("format") != FORMAT:
        raise ArchiveProblem(f"{path} is not a {FORMAT} archive")
    archive = Archive(zf, manifest)
    try:
        for name in LINES:
            _check_lines(zf, name, manifest["members"][name])
        attachments = archive.attachments
        if len(attachments) != manifest["members"]["attachments"]["count"]:
            raise ArchiveProblem("attachments are missing from the archive")
        for name in attachments:
            _check_attachment(zf, name)
        archive.public_key()
    except (zipfile.BadZipFile, zlib.error, KeyError, EOFError, ValueError) as e:  # CRC, lost
        raise ArchiveProblem(f"{path} is damaged: {e!r}") from None
    return archive


def _check_lines(zf: zipfile.ZipFile, name: str, expected: dict[str, Any]) -> None:
    digest, count = hashlib.sha256(), 0
    with zf.open(f"{name}.jsonl") as f:
        for line in f:
            digest.update(line)
            count += 1
    if digest.hexdigest() != expected["sha256"] or count != expected["count"]:
        raise ArchiveProblem(
            f"{name}.jsonl does not match the manifest (sha256 {digest.hexdigest()}, {count} "
            f"lines; expected sha256 {expected['sha256']}, {expected['count']} lines): the "
            "archive was altered or damaged"
        )


def _check_attachment(zf: zipfile.ZipFile, name: str) -> None:
    from web.attachments import is_sha256

    expected = name.removeprefix("attachments/")
    if not is_sha256(expected):
        raise ArchiveProblem(f"{name} is not an attachment's name")
    digest = hashlib.sha256()
    with zf.open(name) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
        if digest.hexdigest() != expected:
            raise ArchiveProblem(f"{name} does not match its sha256: the archive was altered")


def restore(settings: Settings, path: Path) -> None:
    """Restores `path` into the empty store of `settings`: the archive and the keys are checked
    first, then the store is checked empty; events and snapshots go in last, in one transaction
    (a failed restore can be run again)."""
    from web.migrations import migrate

    archive = open_archive(path)
    probe_env = settings.store_env(create_tables=True)
    del probe_env["SUZ_CHAIN_KEY"]  # looked at before any key is placed or generated
    probe = Desk(probe_env)
    try:
        if probe.recorder.max_notification_id():
            raise StoreNotEmpty(_NOT_EMPTY)
    finally:
        probe.close()
    _place_keys(settings, archive)
    migrate(settings)
    desk = Desk(settings.store_env())
    try:
        _restore_beside_the_log(settings, archive)
        _restore_log(desk, archive)
        seals = [Seal.from_json(row) for row in archive.rows("seals")]
        report = check_seals(desk, seals, archive.public_key())
    finally:
        desk.close()
    m = archive.manifest["members"]
    print(f"suz restore: {m['events']['count']} events, {m['snapshots']['count']} snapshots, "
          f"{m['attachments']['count']} attachments, {m['credentials']['count']} passwords, "
          f"{m['api_tokens']['count']} API tokens; {report.seals} seal(s) "
          f"{'check OK' if report.ok else 'FAILED'} against the archive's public key.\n"
          "Next: `suz verify`; the views catch up when suz starts (or `suz rebuild`).",
          file=sys.stderr)  # fmt: skip


_NOT_EMPTY = "the store already holds events: restore only into an empty store (nothing written)"


def _place_keys(settings: Settings, archive: Archive) -> None:
    """The target must hold the source's chain key, or the restored events would not verify."""
    names = archive.zf.namelist()
    target = settings.chain_key_file
    if target.exists():
        key = read_chain_key(target, generate=False)
        if chain_key_fingerprint(key) != archive.manifest["chain_key"]:
            raise ArchiveProblem(
                f"the chain key {target} is not the one the archive's events were stored with: "
                "give SUZ_CHAIN_KEY the source's key file (nothing written)"
            )
    elif CHAIN_KEY in names:
        _write_secret(target, archive.zf.read(CHAIN_KEY))
    else:
        raise ArchiveProblem(
            f"the archive holds no chain key (made without --include-private-key) and {target} "
            "does not exist: copy the source's chain key there (SUZ_CHAIN_KEY)"
        )
    signing = settings.signing_key_file
    if SIGNING_KEY in names and not signing.exists():
        _write_secret(signing, archive.zf.read(SIGNING_KEY))


def _write_secret(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)


def _restore_beside_the_log(settings: Settings, archive: Archive) -> None:
    """Attachments, password and token hashes, seals: each insert is skipped when present."""
    from projections.db import ViewDB
    from web.blobs import open_blob_store
    from web.sessions import open_session_store

    db = ViewDB(settings)
    try:
        blobs = open_blob_store(settings, db)
        for name in archive.attachments:
            with archive.zf.open(name) as f:
                blobs.put(f, max_bytes=sys.maxsize)
    finally:
        db.close_all()
    sessions = open_session_store(settings)
    try:
        for table, member in (("c", "credentials"), ("t", "api_tokens")):
            columns = _TABLES[table]
            insert = (f"INSERT INTO {{{table}}} ({', '.join(columns)}) VALUES "
                      f"({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING")  # fmt: skip
            for row in archive.rows(member):
                sessions._run(insert, *(row[c] for c in columns))
    finally:
        sessions.close()
    db = ViewDB(settings)
    try:
        with db.tx() as tx:
            for row in archive.rows("seals"):
                s = Seal.from_json(row)
                tx.execute(f"INSERT INTO audit_seals ({_SEAL_COLUMNS}) VALUES (%s, %s, %s, %s,"
                           " %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                           (s.number, s.after, s.position, s.events, s.digest, s.previous,
                            s.sealed_at, s.signature))  # fmt: skip
    finally:
        db.close_all()


def _restore_log(desk: Desk, archive: Archive) -> None:
    """Events at their own positions, and snapshots, in one transaction of the event store."""
    store = _store(desk)
    datastore, p, postgres = store.datastore, store.p, store.postgres
    total = archive.manifest["members"]["events"]["count"]
    with datastore.transaction(commit=True) as cursor:
        if postgres:  # as the recorder does: no writer slips in between the check and the rows
            cursor.execute(f"LOCK TABLE {store.events} IN EXCLUSIVE MODE")
        cursor.execute(f"SELECT 1 FROM {store.events} LIMIT 1")
        if cursor.fetchone():
            raise StoreNotEmpty(_NOT_EMPTY)
        position = "notification_id" if postgres else "rowid"
        events = (f"INSERT INTO {store.events} (originator_id, originator_version, topic,"
                  f" state, {position}) VALUES ({p}, {p}, {p}, {p}, {p})")  # fmt: skip
        snapshots = (f"INSERT INTO {store.snapshots} (originator_id, originator_version,"
                     f" topic, state) VALUES ({p}, {p}, {p}, {p})")  # fmt: skip

        def stored(row: dict[str, Any]) -> tuple[Any, ...]:
            uuid = UUID(row["originator_id"])
            return (uuid if postgres else uuid.hex, row["originator_version"], row["topic"],
                    base64.b64decode(row["state"]))  # fmt: skip

        with tqdm(total=total, unit="event", desc="events", file=sys.stderr) as bar:
            for batch in _batches(archive.rows("events")):
                cursor.executemany(events, [(*stored(r), r["position"]) for r in batch])
                bar.update(len(batch))
        for batch in _batches(archive.rows("snapshots")):
            cursor.executemany(snapshots, [stored(r) for r in batch])
        head = archive.manifest["head"]
        if postgres and head:  # new events continue after the restored head
            cursor.execute(f"SELECT setval(pg_get_serial_sequence({p}, 'notification_id'), {p})",
                           (f"{store.events}", head))  # fmt: skip


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
