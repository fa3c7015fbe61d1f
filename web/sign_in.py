"""One sign-in attempt, for the API (POST /api/v1/session) and the page (POST /login): the
throttle's verdict, the password check, the throttle's record of the outcome and the new
session, in one call made on the thread pool. On PostgreSQL the throttle's counters are shared
rows (web/shared_throttle.py): each of its calls is a round trip, which must not hold the event
loop (and every other request of the process) while it waits."""

from __future__ import annotations

from dataclasses import dataclass

from domain.people import Account
from web.credentials import check_password
from web.services import Services


@dataclass(frozen=True)
class Attempt:
    wait: float = 0.0  # > 0: throttled, nothing checked; try again after this many seconds
    account: Account | None = None  # None (and wait 0): wrong login or password
    token: str = ""  # the new session's cookie value
    csrf_token: str = ""


def attempt(svc: Services, login: str, password: str, address: str) -> Attempt:
    """Checks `login`/`password` from `address` and, when right, opens a session."""
    wait = svc.throttle.retry_after(login, address)
    if wait > 0:
        return Attempt(wait=wait)
    account = svc.desk.account_by_login(login)
    ok = check_password(svc.sessions, svc.passwords, account, password)  # a dummy check if None
    if not ok or account is None:
        svc.throttle.failed(login, address)
        return Attempt()
    svc.throttle.succeeded(login, address)
    token = svc.sessions.create(account.id)
    session = svc.sessions.lookup(token)
    assert session is not None
    return Attempt(account=account, token=token, csrf_token=session.csrf_token)
