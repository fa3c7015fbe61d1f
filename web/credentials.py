"""Password hashes: secrets kept beside the sessions, never in the event log.

The log says *that* a password was changed, by whom and when (`Account.PasswordChanged`); the
argon2id hash lives in the credentials table of the session store (`web_credentials`, made by
its `migrate`). Stores from before kept the hash in `Account.PasswordSet` events, which cannot be
removed (the chain covers them): `adopt_legacy_hashes` copies the last such hash of each account
into the table at `suz migrate`, and `stored_hash` does the same on a sign-in for an account the
table does not know yet, so an old store keeps signing in. A hash in the table always wins over
one in the log. Exports redact the old events' hashes (web/audit_export.py).

A change records the event first and stores the hash second: the two live in different
databases, and a record of a change that did not happen (the hash write failed; the user tries
again) is harmless, while a change without a record would be a hole in the audit trail.
"""

from __future__ import annotations

from uuid import UUID

from domain.access import Actor
from domain.desk import Desk
from domain.people import Account
from domain.results import Written
from web.passwords import Passwords
from web.sessions import SessionStore

LEGACY_TOPIC = "domain.people:Account.PasswordSet"
_BATCH = 1000


def stored_hash(sessions: SessionStore, account: Account | None) -> str | None:
    """The hash a sign-in checks against: None for an unknown or disabled account (and one
    without a password); an old store's hash from the log is copied into the table first."""
    if account is None or account.disabled:
        return None
    found = sessions.password_hash(account.id)
    if found is not None:
        return found
    legacy = getattr(account, "legacy_password_hash", "")
    if not legacy:
        return None
    sessions.store_password_hash(account.id, legacy, only_if_absent=True)
    return sessions.password_hash(account.id)


def check_password(
    sessions: SessionStore, passwords: Passwords, account: Account | None, password: str
) -> bool:
    """Whether `password` signs `account` in (a dummy verification when it cannot)."""
    return passwords.check(stored_hash(sessions, account), password)


def set_password_hash(
    desk: Desk, sessions: SessionStore, actor: Actor, account_id: UUID, password_hash: str
) -> Written:
    """Records the change (the desk checks who may) and stores the hash."""
    written = desk.record_password_change(actor, account_id)
    sessions.store_password_hash(account_id, password_hash)
    return written


def set_password(
    desk: Desk,
    sessions: SessionStore,
    passwords: Passwords,
    actor: Actor,
    account_id: UUID,
    password: str,
) -> Written:
    """Hashes `password` (already checked by `check_new_password`) and sets it."""
    return set_password_hash(desk, sessions, actor, account_id, passwords.hash(password))


def adopt_legacy_hashes(desk: Desk, sessions: SessionStore) -> int:
    """Copies each account's last hash from old `PasswordSet` events into the credentials
    table, unless the table has one for it; how many were copied. Reads only those events."""
    accounts: dict[UUID, None] = {}
    start = 1
    while True:
        batch = desk.recorder.select_notifications(start=start, limit=_BATCH, topics=[LEGACY_TOPIC])
        accounts.update((UUID(str(n.originator_id)), None) for n in batch)
        if len(batch) < _BATCH:
            break
        start = batch[-1].id + 1
    copied = 0
    for account_id in accounts:
        # the account's state, not the event: a later PasswordChanged voids the old hash
        legacy = getattr(desk.account_by_id(account_id), "legacy_password_hash", "")
        if legacy and sessions.store_password_hash(account_id, legacy, only_if_absent=True):
            copied += 1
    return copied
